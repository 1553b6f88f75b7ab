-- The socket object itself: creation, the read-only fields, tostring, and
-- its lifetime (close, <close>, __gc, detach) and what a closed one does.

local socket = require "lsock"
local helpers = require "spec.helpers"

local it6 = helpers.has_ipv6() and it or pending

describe("socket.socket", function()
  after_each(helpers.cleanup)

  it("defaults to AF_INET, SOCK_STREAM, proto 0", function()
    local s = helpers.track(socket.socket())
    assert.equal("userdata", type(s))
    assert.equal(socket.AF_INET, s.family)
    assert.equal(socket.SOCK_STREAM, s.type)
    assert.equal(0, s.proto)
    assert.is_true(math.type(s:fileno()) == "integer" and s:fileno() >= 0)
  end)

  it("takes family, type and proto", function()
    local u = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    assert.equal(socket.AF_INET, u.family)
    assert.equal(socket.SOCK_DGRAM, u.type)
    local t = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_STREAM,
                                          socket.IPPROTO_TCP))
    assert.equal(socket.IPPROTO_TCP, t.proto)
    local x = helpers.track(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    assert.equal(socket.AF_UNIX, x.family)
    assert.equal(socket.SOCK_DGRAM, x.type)
  end)

  it6("makes AF_INET6 sockets", function()
    local s = helpers.track(socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
    assert.equal(socket.AF_INET6, s.family)
    assert.equal(socket.SOCK_STREAM, s.type)
  end)

  it("gives each socket its own descriptor", function()
    local a = helpers.track(socket.socket())
    local b = helpers.track(socket.socket())
    assert.are_not.equal(a:fileno(), b:fileno())
    assert.is_true(helpers.fd_open(a:fileno()))
  end)

  it("rejects a family or type of the wrong Lua type", function()
    helpers.argerror("bad argument #1 to 'socket'",
                     function() socket.socket("inet") end)
    helpers.argerror("bad argument #2 to 'socket'",
                     function() socket.socket(socket.AF_INET, {}) end)
    helpers.argerror("bad argument #3 to 'socket'",
                     function()
                       socket.socket(socket.AF_INET, socket.SOCK_STREAM, "tcp")
                     end)
  end)

  -- Python reports the OS's refusal (EAFNOSUPPORT / EINVAL); lsock checks
  -- family and type itself and raises argument errors, like any other
  -- value it cannot use.
  it("refuses an unknown family with an argument error", function()
    helpers.argerror("bad argument #1 to 'socket'",
                     function() socket.socket(12345) end)
    helpers.argerror("bad argument #1 to 'socket'",
                     function() socket.socket(-1) end)
  end)

  it("refuses an unknown type with an argument error", function()
    helpers.argerror("bad argument #2 to 'socket'",
                     function() socket.socket(socket.AF_INET, 12345) end)
    helpers.argerror("bad argument #2 to 'socket'",
                     function() socket.socket(socket.AF_INET, 0) end)
  end)

  it("makes descriptors that child processes do not inherit", function()
    -- Python: "The newly created socket is non-inheritable."
    local c, conn, l = helpers.tcp_pair()
    local d = helpers.track(c:dup())
    -- The child's open sockets, by number (ls's own directory stream shows
    -- up too, as a directory).
    local child = assert(io.popen("ls -l /proc/self/fd/"))
    local sockets, seen = {}, 0
    for line in child:lines() do
      local fd, target = line:match("(%d+) %-> (.*)$")
      if fd then
        seen = seen + 1
        if target:find("^socket:") then sockets[tonumber(fd)] = true end
      end
    end
    child:close()
    assert.is_true(seen >= 3, "could not list the child's descriptors")
    for _, s in ipairs {c, conn, l, d} do
      assert.is_nil(sockets[s:fileno()], tostring(s) .. " was inherited")
    end
  end)

  it("makes a SOCK_RAW socket or refuses it with EPERM", function()
    local ok, s = pcall(socket.socket, socket.AF_INET, socket.SOCK_RAW,
                        socket.IPPROTO_ICMP)
    if ok then
      helpers.track(s)
      assert.equal(socket.SOCK_RAW, s.type)
      assert.equal(socket.IPPROTO_ICMP, s.proto)
    else
      assert.equal(socket.error, getmetatable(s))
      assert.equal("EPERM", s.name)
      assert.equal(socket.EPERM, s.errno)
    end
  end)
end)

describe("fields", function()
  after_each(helpers.cleanup)

  for _, field in ipairs {"family", "type", "proto"} do
    it("refuses assignment to " .. field, function()
      local s = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
      local before = s[field]
      assert.is_false(pcall(function() s[field] = 99 end))
      assert.equal(before, s[field])
    end)
  end

  it("are each socket's own, with any mix of kinds alive", function()
    -- Sockets of one kind share a metatable whose __index holds the
    -- kind's fields: sockets of other kinds, made before and after,
    -- must still read their own.
    local kinds = {
      {socket.AF_INET, socket.SOCK_STREAM, 0},
      {socket.AF_INET, socket.SOCK_DGRAM, 0},
      {socket.AF_UNIX, socket.SOCK_STREAM, 0},
      {socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP},
      {socket.AF_UNIX, socket.SOCK_DGRAM, 0},
    }
    local made = {}
    for round = 1, 2 do
      for i, k in ipairs(kinds) do
        made[#made + 1] = {helpers.track(socket.socket(k[1], k[2], k[3])), k}
        if round == 2 and i == 3 then collectgarbage() end
      end
    end
    local a, b = socket.socketpair()
    made[#made + 1] = {helpers.track(a), {socket.AF_UNIX, socket.SOCK_STREAM, 0}}
    made[#made + 1] = {helpers.track(a:dup()), {socket.AF_UNIX, socket.SOCK_STREAM, 0}}
    b:close()
    for _, m in ipairs(made) do
      local s, k = m[1], m[2]
      assert.same(k, {s.family, s.type, s.proto})
      assert.is_function(s.getsockname)
      assert.is_nil(s.nosuchmethod)
    end
  end)

  it("leave a method usable on a socket of another kind", function()
    local t = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    local u = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    u:bind("127.0.0.1", 0)
    local _, port = t.getsockname(u)
    assert.equal(select(2, u:getsockname()), port)
    assert.equal(socket.SOCK_DGRAM, u.type)
    -- and a socket's methods refuse what is no socket
    helpers.argerror("lsock.socket expected", t.getsockname, io.stdout)
    helpers.argerror("lsock.socket expected", t.getsockname, {})
  end)

  it("refuse a foreign userdata even with a socket metatable", function()
    -- debug.setmetatable can give any userdata a socket's metatable; a
    -- check of the metatable would then read a file handle as a socket.
    local t = helpers.track(socket.socket())
    local f = assert(io.tmpfile())
    local own = debug.getmetatable(f)
    debug.setmetatable(f, debug.getmetatable(t))
    local ok, e = pcall(t.fileno, f)
    local ok2, e2 = pcall(t.recv, f, 1)
    debug.setmetatable(f, own)
    f:close()
    assert.is_false(ok)
    assert.truthy(tostring(e):find("lsock.socket expected", 1, true), e)
    assert.is_false(ok2)
    assert.truthy(tostring(e2):find("lsock.socket expected", 1, true), e2)
    -- nor is a light userdata taken for one
    local light = debug.upvalueid(function() return t end, 1)
    assert.equal("userdata", type(light))
    helpers.argerror("lsock.socket expected", t.getsockname, light)
  end)

  it("stay readable after close", function()
    local s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s:close()
    assert.equal(socket.AF_UNIX, s.family)
    assert.equal(socket.SOCK_DGRAM, s.type)
    assert.equal(0, s.proto)
  end)
end)

describe("tostring", function()
  after_each(helpers.cleanup)

  local function head(s, family, type_)
    return ("<lsock.socket fd=%d, family=%s, type=%s, proto=0"):format(
      s:fileno(), family, type_)
  end

  it("describes an unbound socket", function()
    local s = helpers.track(socket.socket())
    local str = tostring(s)
    local h = head(s, "AF_INET", "SOCK_STREAM")
    -- Python shows the wildcard laddr of an unbound AF_INET socket.
    assert.truthy(str == h .. ">" or str == h .. ", laddr=0.0.0.0:0>", str)
  end)

  it("describes an unbound Unix datagram socket", function()
    local s = helpers.track(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    assert.equal(head(s, "AF_UNIX", "SOCK_DGRAM") .. ">", tostring(s))
  end)

  it("shows laddr of a listener and laddr/raddr of a connection", function()
    local c, conn, l = helpers.tcp_pair()
    local _, lport = l:getsockname()
    local _, cport = c:getsockname()
    assert.equal(head(l, "AF_INET", "SOCK_STREAM") ..
                 (", laddr=127.0.0.1:%d>"):format(lport), tostring(l))
    assert.equal(head(c, "AF_INET", "SOCK_STREAM") ..
                 (", laddr=127.0.0.1:%d, raddr=127.0.0.1:%d>"):format(
                   cport, lport), tostring(c))
    assert.equal(head(conn, "AF_INET", "SOCK_STREAM") ..
                 (", laddr=127.0.0.1:%d, raddr=127.0.0.1:%d>"):format(
                   lport, cport), tostring(conn))
  end)

  it("shows a UDP socket's type", function()
    local a, _, pa = helpers.udp_pair()
    assert.equal(head(a, "AF_INET", "SOCK_DGRAM") ..
                 (", laddr=127.0.0.1:%d>"):format(pa), tostring(a))
  end)

  it6("writes IPv6 addresses as [::1]:port", function()
    local c, _, l = helpers.tcp_pair(socket.AF_INET6)
    local _, lport = l:getsockname()
    local _, cport = c:getsockname()
    assert.equal(head(l, "AF_INET6", "SOCK_STREAM") ..
                 (", laddr=[::1]:%d>"):format(lport), tostring(l))
    assert.equal(head(c, "AF_INET6", "SOCK_STREAM") ..
                 (", laddr=[::1]:%d, raddr=[::1]:%d>"):format(cport, lport),
                 tostring(c))
  end)

  it("writes Unix paths as they are and leaves out unnamed ends", function()
    local c, conn, l, path = helpers.unix_pair()
    assert.equal(head(l, "AF_UNIX", "SOCK_STREAM") .. ", laddr=" .. path ..
                 ">", tostring(l))
    assert.equal(head(c, "AF_UNIX", "SOCK_STREAM") .. ", raddr=" .. path ..
                 ">", tostring(c))
    assert.equal(head(conn, "AF_UNIX", "SOCK_STREAM") .. ", laddr=" .. path ..
                 ">", tostring(conn))
  end)

  it("names an abstract Unix address", function()
    local name = helpers.abstract_name()
    local l = helpers.track(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    l:bind(name)
    local str = tostring(l)
    assert.truthy(str:find(", laddr=", 1, true), str)
    assert.truthy(str:find(name:sub(2), 1, true), str)
  end)

  it("marks a closed socket", function()
    local c, conn = helpers.tcp_pair()
    c:close()
    assert.equal("<lsock.socket [closed] fd=-1, family=AF_INET, " ..
                 "type=SOCK_STREAM, proto=0>", tostring(c))
    local u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    u:close()
    assert.equal("<lsock.socket [closed] fd=-1, family=AF_UNIX, " ..
                 "type=SOCK_DGRAM, proto=0>", tostring(u))
    assert.truthy(tostring(conn):find("^<lsock%.socket fd=%d+, "))
  end)
end)

describe("close", function()
  after_each(helpers.cleanup)

  it("releases the descriptor and returns nothing", function()
    local s = socket.socket()
    local fd = s:fileno()
    assert.is_true(helpers.fd_open(fd))
    assert.equal(0, select("#", s:close()))
    assert.equal(-1, s:fileno())
    assert.is_false(helpers.fd_open(fd))
  end)

  it("is idempotent", function()
    local s = socket.socket()
    s:close()
    assert.has_no.errors(function() s:close() end)
    assert.equal(0, select("#", s:close()))
    assert.equal(-1, s:fileno())
  end)

  it("never touches a descriptor number it gave up", function()
    local s = socket.socket()
    local fd = s:fileno()
    s:close()
    local t = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    t:bind("127.0.0.1", 0)
    -- The kernel hands out the lowest free number: usually the same one.
    s:close()
    s = nil
    collectgarbage()
    collectgarbage()
    assert.is_true(helpers.fd_open(t:fileno()))
    local host = t:getsockname()
    assert.equal("127.0.0.1", host)
    if t:fileno() == fd then assert.is_true(helpers.fd_open(fd)) end
  end)

  it("happens when a <close> variable goes out of scope", function()
    local ref, fd
    do
      local s <close> = socket.socket()
      ref, fd = s, s:fileno()
      assert.is_true(helpers.fd_open(fd))
    end
    assert.equal(-1, ref:fileno())
    assert.is_false(helpers.fd_open(fd))
  end)

  it("happens when a <close> scope ends by an error", function()
    local ref, fd
    local ok = pcall(function()
      local s <close> = socket.socket()
      ref, fd = s, s:fileno()
      error("boom")
    end)
    assert.is_false(ok)
    assert.equal(-1, ref:fileno())
    assert.is_false(helpers.fd_open(fd))
  end)

  it("happens when the socket is garbage-collected", function()
    collectgarbage()
    collectgarbage()
    local before = helpers.fd_count()
    local keep = {}
    for i = 1, 20 do keep[i] = socket.socket() end
    assert.equal(before + 20, helpers.fd_count())
    keep = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    assert.equal(before, helpers.fd_count())
  end)

  it("is not repeated by __gc after an explicit close", function()
    local s = socket.socket()
    s:close()
    local t = helpers.track(socket.socket())
    local fd = t:fileno()
    s = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    assert.is_true(helpers.fd_open(fd))
    assert.equal(fd, t:fileno())
  end)
end)

describe("dup", function()
  after_each(helpers.cleanup)

  it("gives a second socket object on a new descriptor", function()
    local c, conn = helpers.tcp_pair()
    c:settimeout(1.5)
    local d = helpers.track(c:dup())
    assert.are_not.equal(c:fileno(), d:fileno())
    assert.equal(c.family, d.family)
    assert.equal(c.type, d.type)
    assert.equal(1.5, d:gettimeout()) -- as Python's dup()
    c:close()
    d:sendall("via dup")
    assert.equal("via dup", helpers.recv_exactly(conn, 7))
  end)
end)

describe("detach", function()
  after_each(helpers.cleanup)

  it("returns the descriptor and leaves the object closed", function()
    local s = socket.socket()
    local fd = s:fileno()
    assert.equal(fd, s:detach())
    assert.equal(-1, s:fileno())
    assert.truthy(tostring(s):find("^<lsock%.socket %[closed%] fd=%-1"))
    s:close()
    s = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    -- The descriptor now belongs to us: neither close nor __gc closed it.
    -- (Lua cannot close a bare descriptor, so this one stays open.)
    assert.is_true(helpers.fd_open(fd))
  end)

  it("returns -1 once closed", function()
    local s = socket.socket()
    s:close()
    assert.equal(-1, s:detach())
  end)
end)

describe("a closed socket", function()
  after_each(helpers.cleanup)

  local S = socket
  local calls = {
    {"bind", "127.0.0.1", 0},
    {"listen"},
    {"accept"},
    {"connect", "127.0.0.1", 1},
    {"connect_ex", "127.0.0.1", 1},
    {"recv", 10},
    {"send", "x"},
    {"sendall", "x"},
    {"recvfrom", 10},
    {"sendto", "x", "127.0.0.1", 1},
    {"getpeername"},
    {"getsockname"},
    {"setsockopt", S.SOL_SOCKET, S.SO_REUSEADDR, 1},
    {"getsockopt", S.SOL_SOCKET, S.SO_REUSEADDR},
    {"settimeout", 1},
    {"gettimeout"},
    {"setblocking", true},
    {"getblocking"},
    {"makefile", "r"},
    {"shutdown", S.SHUT_RDWR},
    {"dup"},
  }

  for _, call in ipairs(calls) do
    local name = call[1]
    it("raises EBADF from " .. name, function()
      local s = socket.socket()
      s:close()
      local e = helpers.sockerr("EBADF", name, function()
        s[name](s, table.unpack(call, 2))
      end)
      assert.equal("error", e.kind)
      assert.equal(socket.EBADF, e.errno)
    end)
  end

  it("still answers close, fileno, detach and tostring", function()
    local s = socket.socket()
    s:close()
    assert.has_no.errors(function() s:close() end)
    assert.equal(-1, s:fileno())
    assert.equal(-1, s:detach())
    assert.equal("string", type(tostring(s)))
  end)
end)
