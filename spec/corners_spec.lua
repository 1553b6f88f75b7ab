-- Corners of the socket methods that the other specs do not reach: other
-- families and types (netlink, SOCK_SEQPACKET), refusals from the kernel
-- (listen on UDP, unknown options, non-sockets), a connect that has to
-- wait, IPv6 wildcard binds, abstract names with zero bytes.

local socket = require "lsock"
local helpers = require "spec.helpers"
local lfs = require "lfs"

describe("corners of the socket object", function()
  after_each(helpers.cleanup)

  it("shows and refuses a family it has no address format for", function()
    if not socket.AF_NETLINK then return end
    local ok, n = pcall(socket.socket, socket.AF_NETLINK, socket.SOCK_RAW, 0)
    if not ok then return end -- no netlink here
    helpers.track(n)
    assert.equal(socket.AF_NETLINK, n.family)
    -- The name comes back as the raw sockaddr bytes.
    local name = n:getsockname()
    assert.equal("string", type(name))
    assert.is_true(#name >= 2)
    assert.equal(socket.AF_NETLINK, string.unpack("=I2", name))
    assert.matches(("^<lsock.socket fd=%%d+, family=%d, type=SOCK_RAW, " ..
                    "proto=0, laddr=<family %d>"):format(socket.AF_NETLINK,
                                                         socket.AF_NETLINK),
                   tostring(n))
    helpers.sockerr("EAFNOSUPPORT", "bind", n.bind, n, "anything")
    helpers.sockerr("EAFNOSUPPORT", "connect", n.connect, n, "anything")
    helpers.sockerr("EAFNOSUPPORT", "sendto", n.sendto, n, "x", "anything")
  end)

  it("keeps message boundaries on a Unix SOCK_SEQPACKET pair", function()
    local path = helpers.unix_path()
    local l = helpers.track(socket.socket(socket.AF_UNIX,
                                          socket.SOCK_SEQPACKET))
    l:bind(path)
    l:listen()
    assert.matches("type=SOCK_SEQPACKET", tostring(l))
    local c = helpers.track(socket.socket(socket.AF_UNIX,
                                          socket.SOCK_SEQPACKET))
    c:settimeout(helpers.TIMEOUT)
    c:connect(path)
    local conn = helpers.track((l:accept()))
    conn:settimeout(helpers.TIMEOUT)
    c:send("one")
    c:send(("two"):rep(40000)) -- larger than the stack buffer
    assert.equal("one", conn:recv(100000))
    assert.equal(("two"):rep(40000), conn:recv(1 << 20))
    c:send("truncated")
    assert.equal("trunc", conn:recv(5)) -- the rest of the record is gone
    c:close()
    assert.equal("", conn:recv(10))
  end)

  it("names a SOCK_RAW socket in tostring", function()
    local ok, s = pcall(socket.socket, socket.AF_INET, socket.SOCK_RAW,
                        socket.IPPROTO_ICMP)
    if not ok then return end -- needs privileges
    helpers.track(s)
    assert.matches("type=SOCK_RAW, proto=" .. socket.IPPROTO_ICMP, tostring(s))
  end)

  it("reports failures of listen, getsockopt and fromfd", function()
    local u = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    helpers.sockerr("EOPNOTSUPP", "listen", u.listen, u)
    local e = helpers.sockerr("ENOPROTOOPT", "getsockopt", u.getsockopt, u,
                              socket.SOL_SOCKET, 9999)
    assert.equal("error", e.kind)
    helpers.sockerr("ENOPROTOOPT", "getsockopt", u.getsockopt, u,
                    socket.SOL_SOCKET, 9999, 16)
    helpers.sockerr("ENOPROTOOPT", "setsockopt", u.setsockopt, u,
                    socket.SOL_SOCKET, 9999, 1)
    if socket.fromfd then
      -- A descriptor that is a plain file: found by its path in /proc.
      local name = os.tmpname()
      local f = assert(io.open(name, "rb"))
      local fd
      for entry in lfs.dir("/proc/self/fd") do
        local target = lfs.symlinkattributes(
          "/proc/self/fd/" .. entry, "target")
        if target == name then fd = tonumber(entry) end
      end
      if fd then
        helpers.sockerr("ENOTSOCK", "fromfd", socket.fromfd, fd,
                        socket.AF_INET, socket.SOCK_STREAM)
      end
      f:close()
      os.remove(name)
    end
  end)

  it("gives nil for fields it does not have", function()
    local s = helpers.track(socket.socket())
    assert.is_nil(s.nonexistent)
    assert.is_nil(s[1])
    assert.is_nil(s[true])
    assert.equal(socket.SOCK_STREAM, s.type)
  end)

  it("times out a connect that has to wait (a full backlog)", function()
    -- With backlog 0 the listener takes one connection; later SYNs are
    -- dropped, so those connects wait for their timeout.
    local l = helpers.track(socket.socket())
    l:bind("127.0.0.1", 0)
    l:listen(0)
    local _, port = l:getsockname()
    local timedout, tries = nil, 0
    for _ = 1, 5 do
      tries = tries + 1
      local c = helpers.track(socket.socket())
      c:settimeout(0.3)
      local t0 = helpers.now()
      local ok, e = pcall(c.connect, c, "127.0.0.1", port)
      if not ok then
        timedout = e
        local took = helpers.now() - t0
        assert.is_true(took >= 0.3 and took < 3, ("took %.3f s"):format(took))
        break
      end
    end
    assert.is_not_nil(timedout, "every connect went through")
    assert.equal(socket.error, getmetatable(timedout))
    assert.equal("timeout", timedout.kind)
    assert.equal("connect", timedout.op)
    local c = helpers.track(socket.socket())
    c:settimeout(0.3)
    local code = c:connect_ex("127.0.0.1", port)
    assert.equal("integer", math.type(code))
    assert.is_true(code ~= 0, "connect_ex went through after " .. tries)
  end)

  it("binds IPv6 wildcard and explicit flowinfo and scope", function()
    if not helpers.has_ipv6() then return end
    local s = helpers.track(socket.socket(socket.AF_INET6))
    s:bind("", 0)
    local r = table.pack(s:getsockname())
    assert.equal(4, r.n)
    assert.equal("::", r[1])
    local t = helpers.track(socket.socket(socket.AF_INET6,
                                          socket.SOCK_DGRAM))
    t:bind("::1", 0, 0, 0)
    assert.equal("::1", (t:getsockname()))
    -- A name, where this host resolves one for IPv6.
    local u = helpers.track(socket.socket(socket.AF_INET6))
    if pcall(u.bind, u, "localhost", 0, 0, 0) then
      assert.equal("::1", (u:getsockname()))
    end
  end)

  it("looks names up for bind and sendto inside a task", function()
    if not socket.spawn then return end
    -- "localhost" comes from /etc/hosts; the lookup runs on a worker.
    local t = socket.spawn(function()
      local u <close> = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
      local v <close> = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
      u:settimeout(5)
      v:settimeout(5)
      u:bind("localhost", 0)
      local host, port = u:getsockname()
      v:sendto("via a name", "localhost", port)
      local e = helpers.fails(v.sendto, v, "x", ("n"):rep(10000), port)
      local e2 = helpers.fails(v.bind, v, ("n"):rep(10000), 0)
      return host, u:recv(100), e, e2
    end)
    local host, data, e, e2 = t:join(10)
    assert.equal("127.0.0.1", host)
    assert.equal("via a name", data)
    assert.equal("gaierror", e.kind)
    assert.equal("sendto", e.op)
    assert.equal("gaierror", e2.kind)
    assert.equal("bind", e2.op)
  end)

  it("shows an abstract name up to its first inner zero byte", function()
    local s = helpers.track(socket.socket(socket.AF_UNIX))
    local name = helpers.abstract_name() .. "\0tail"
    s:bind(name)
    assert.equal(name, s:getsockname())
    local shown = tostring(s):match("laddr=([^,>]*)")
    assert.equal("@" .. name:sub(2):match("^[^%z]*"), shown)
  end)
end)
