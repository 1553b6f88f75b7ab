-- Specs for sendmsg, recvmsg and sendfile, and the module helpers around
-- them: CMSG_LEN/CMSG_SPACE, send_fds/recv_fds and close(fd). Descriptor
-- passing is checked within the process, across processes, and for leaks
-- (the descriptor count).

local socket = require "lsock"
local helpers = require "spec.helpers"

local track = helpers.track

-- The O_CLOEXEC bit of the "flags:" line in /proc/self/fdinfo (octal).
local function cloexec(fd)
  local f = assert(io.open("/proc/self/fdinfo/" .. fd))
  local text = f:read("a")
  f:close()
  local flags = tonumber(text:match("flags:%s*(%d+)"), 8)
  return flags & tonumber("2000000", 8) ~= 0
end

local function pair()
  local a, b = track(socket.socketpair())
  a:settimeout(helpers.TIMEOUT)
  b:settimeout(helpers.TIMEOUT)
  return a, b
end

-- A temporary file holding `data`; returns its name.
local temps = {}
local function tempfile(data)
  local name = os.tmpname()
  temps[#temps + 1] = name
  local f = assert(io.open(name, "wb"))
  f:write(data)
  f:close()
  return name
end

local function cleanup()
  helpers.cleanup()
  for i = #temps, 1, -1 do
    os.remove(temps[i])
    temps[i] = nil
  end
end

describe("sendmsg and recvmsg", function()
  after_each(cleanup)

  it("gathers buffers into one message and returns the bytes sent", function()
    local a, b = pair()
    assert.equal(11, a:sendmsg({ "hello", " ", "world" }))
    local data, anc, flags, addr = b:recvmsg(100)
    assert.equal("hello world", data)
    assert.same({}, anc)
    assert.equal(0, flags)
    assert.equal("", addr) -- an unnamed Unix peer
  end)

  it("passes binary data and empty buffer lists", function()
    local a, b = pair()
    assert.equal(3, a:sendmsg({ "\0\1", "", "\255" }))
    assert.equal("\0\1\255", (b:recvmsg(10)))
    local da, db = track(socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM))
    db:settimeout(helpers.TIMEOUT)
    assert.equal(0, da:sendmsg({}))
    assert.equal("", (db:recvmsg(10)))
  end)

  it("sends a datagram to an address and reports the sender (AF_INET)",
     function()
    local a, b, pa, pb = helpers.udp_pair()
    assert.equal(4, a:sendmsg({ "pi", "ng" }, nil, 0, "127.0.0.1", pb))
    local data, anc, flags, host, port = b:recvmsg(100)
    assert.equal("ping", data)
    assert.same({}, anc)
    assert.equal(0, flags)
    assert.equal("127.0.0.1", host)
    assert.equal(pa, port)
  end)

  it("works over AF_INET6 with four address results", function()
    if not helpers.has_ipv6() then
      pending("no IPv6 on loopback")
      return
    end
    local a = track(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    local b = track(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    b:settimeout(helpers.TIMEOUT)
    a:bind("::1", 0)
    b:bind("::1", 0)
    local _, pb = b:getsockname()
    local _, pa = a:getsockname()
    assert.equal(2, a:sendmsg({ "v6" }, {}, 0, "::1", pb))
    local r = { b:recvmsg(10) }
    assert.equal("v6", r[1])
    assert.equal("::1", r[4])
    assert.equal(pa, r[5])
    assert.equal(7, #r)
  end)

  it("flags a datagram cut short with MSG_TRUNC", function()
    local a, b, _, pb = helpers.udp_pair()
    a:sendto("hello", "127.0.0.1", pb)
    local data, _, flags = b:recvmsg(2)
    assert.equal("he", data)
    assert.is_true(flags & socket.MSG_TRUNC ~= 0)
  end)

  it("peeks with MSG_PEEK", function()
    local a, b = pair()
    a:send("abc")
    assert.equal("abc", (b:recvmsg(10, 0, socket.MSG_PEEK)))
    assert.equal("abc", (b:recvmsg(10)))
  end)

  it("passes a descriptor with SCM_RIGHTS, close-on-exec on arrival",
     function()
    local a, b = pair()
    local x, y = pair()
    local before = helpers.fd_count()
    assert.equal(1, a:sendmsg({ "f" },
      { { socket.SOL_SOCKET, socket.SCM_RIGHTS, { x } } }))
    local data, anc, flags = b:recvmsg(10, socket.CMSG_SPACE(4))
    assert.equal("f", data)
    assert.equal(0, flags)
    assert.equal(1, #anc)
    assert.equal(socket.SOL_SOCKET, anc[1][1])
    assert.equal(socket.SCM_RIGHTS, anc[1][2])
    assert.equal(4, #anc[1][3])
    local fd = string.unpack("i", anc[1][3])
    assert.equal(before + 1, helpers.fd_count())
    assert.is_true(cloexec(fd))
    -- The received descriptor is the same socket: use it, then close it.
    local s = track(socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM))
    socket.close(fd)
    s:settimeout(helpers.TIMEOUT)
    s:send("through the copy")
    assert.equal("through the copy", y:recv(100))
    s:close()
    assert.equal(before, helpers.fd_count())
  end)

  it("accepts raw packed descriptors, as Python builds them", function()
    local a, b = pair()
    local x = track(socket.socketpair())
    local before = helpers.fd_count()
    a:sendmsg({ "r" }, { { socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           string.pack("i", x:fileno()) } })
    local _, anc = b:recvmsg(10, socket.CMSG_SPACE(4))
    local fd = string.unpack("i", anc[1][3])
    assert.is_true(helpers.fd_open(fd))
    socket.close(fd)
    assert.equal(before, helpers.fd_count())
  end)

  it("drops descriptors that do not fit and says MSG_CTRUNC (no leak)",
     function()
    local a, b = pair()
    local x, y = pair()
    local before = helpers.fd_count()
    a:sendmsg({ "t" }, { { socket.SOL_SOCKET, socket.SCM_RIGHTS, { x, y } } })
    local data, anc, flags = b:recvmsg(10, socket.CMSG_LEN(4))
    assert.equal("t", data)
    assert.is_true(flags & socket.MSG_CTRUNC ~= 0)
    local got = 0
    for _, item in ipairs(anc) do
      for i = 1, #item[3] // 4 do
        socket.close((string.unpack("i", item[3], 4 * i - 3)))
        got = got + 1
      end
    end
    assert.is_true(got <= 1)
    assert.equal(before, helpers.fd_count())
  end)

  it("closes received descriptors when ancillary data is refused (no buffer)",
     function()
    local a, b = pair()
    local x = pair()
    local before = helpers.fd_count()
    a:sendmsg({ "n" }, { { socket.SOL_SOCKET, socket.SCM_RIGHTS, { x } } })
    local data, anc, flags = b:recvmsg(10)
    assert.equal("n", data)
    assert.same({}, anc)
    assert.is_true(flags & socket.MSG_CTRUNC ~= 0)
    assert.equal(before, helpers.fd_count())
  end)

  it("waits for data with the socket timeout, and times out", function()
    local _, b = pair()
    b:settimeout(0.2)
    local t0 = helpers.now()
    local e = helpers.sockerr("ETIMEDOUT", "recvmsg", b.recvmsg, b, 10)
    assert.equal("timeout", e.kind)
    local dt = helpers.now() - t0
    assert.is_true(dt >= 0.15 and dt < 2, "waited " .. dt)
  end)

  it("raises EAGAIN on a non-blocking socket", function()
    local _, b = pair()
    b:settimeout(0)
    helpers.sockerr("EAGAIN", "recvmsg", b.recvmsg, b, 10)
  end)

  it("suspends only the calling task", function()
    local a, b = pair()
    local ticks = 0
    local reader = socket.spawn(function()
      local data, anc = b:recvmsg(10, 64)
      return data, #anc
    end)
    local writer = socket.spawn(function()
      for _ = 1, 3 do
        socket.sleep(0.01)
        ticks = ticks + 1
      end
      a:sendmsg({ "late" })
    end)
    local data, n = reader:join(5)
    writer:join(5)
    assert.equal("late", data)
    assert.equal(0, n)
    assert.equal(3, ticks)
  end)

  it("fills a full socket buffer through sendmsg in a task", function()
    local a, b = pair()
    a:settimeout(helpers.TIMEOUT)
    local chunk = string.rep("x", 65536)
    local sender = socket.spawn(function()
      local total = 0
      for _ = 1, 40 do total = total + a:sendmsg({ chunk }) end
      a:shutdown(socket.SHUT_WR)
      return total
    end)
    local got = 0
    for _ = 1, 100000 do
      local d = b:recv(65536)
      if d == "" then break end
      got = got + #d
    end
    assert.equal(got, sender:join(5))
  end)

  it("checks its arguments", function()
    local a, b = pair()
    helpers.argerror("table expected", a.sendmsg, a, "text")
    helpers.argerror("buffer 2 is a number", a.sendmsg, a, { "a", 1 })
    helpers.argerror("ancdata item 1 must be a table", a.sendmsg, a, { "a" },
                     { 5 })
    helpers.argerror("level must be an integer", a.sendmsg, a, { "a" },
                     { { "x", 1, "" } })
    helpers.argerror("data must be a string", a.sendmsg, a, { "a" },
                     { { 0, 1, {} } })
    helpers.argerror("not a descriptor", a.sendmsg, a, { "a" },
                     { { socket.SOL_SOCKET, socket.SCM_RIGHTS, { "x" } } })
    helpers.argerror("negative buffer size", b.recvmsg, b, -1)
    helpers.argerror("negative buffer size", b.recvmsg, b, 10, -1)
    helpers.argerror("number expected", b.recvmsg, b, "x")
    local u = track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    helpers.argerror("port must be 0-65535", u.sendmsg, u, { "a" }, nil, 0,
                     "127.0.0.1", 70000)
  end)

  it("raises the kernel's errors as lsock errors", function()
    local a, b = pair()
    -- A descriptor number that is not open.
    helpers.sockerr("EBADF", "sendmsg", a.sendmsg, a, { "a" },
                    { { socket.SOL_SOCKET, socket.SCM_RIGHTS, { 999999 } } })
    local u = track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    helpers.sockerr("EDESTADDRREQ", "sendmsg", u.sendmsg, u, { "a" })
    helpers.sockerr("ENOTCONN", "recvmsg", function()
      local t = track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
      return t:recvmsg(10)
    end)
    local c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c:close()
    helpers.sockerr("EBADF", "sendmsg", c.sendmsg, c, { "a" })
    helpers.sockerr("EBADF", "recvmsg", c.recvmsg, c, 1)
    b:close()
    helpers.sockerr("EPIPE", "sendmsg", a.sendmsg, a, { "gone" })
  end)
end)

describe("send_fds and recv_fds", function()
  after_each(cleanup)

  it("pass descriptors as Python 3.9's helpers do", function()
    local a, b = pair()
    local x, y = pair()
    local before = helpers.fd_count()
    assert.equal(2, socket.send_fds(a, { "f", "d" }, { x, y:fileno() }))
    local data, fds, flags, addr = socket.recv_fds(b, 10, 4)
    assert.equal("fd", data)
    assert.equal(2, #fds)
    assert.equal(0, flags)
    assert.equal("", addr)
    assert.equal(before + 2, helpers.fd_count())
    for _, fd in ipairs(fds) do
      assert.is_true(cloexec(fd))
      socket.close(fd)
    end
    assert.equal(before, helpers.fd_count())
  end)

  it("send no ancillary data for an empty list", function()
    local a, b = pair()
    socket.send_fds(a, { "z" }, {})
    local data, fds, flags = socket.recv_fds(b, 10, 1)
    assert.equal("z", data)
    assert.same({}, fds)
    assert.equal(0, flags)
  end)

  it("check maxfds", function()
    local _, b = pair()
    helpers.argerror("maxfds must be 0-253", socket.recv_fds, b, 10, -1)
    helpers.argerror("maxfds must be 0-253", socket.recv_fds, b, 10, 1000)
  end)

  it("pass a socket to another process, which uses it", function()
    local bin = os.getenv("LSOCK_BIN")
    local cmd
    if bin and bin ~= "" then
      cmd = "'" .. bin .. "'"
    else
      local so = package.searchpath("lsock", package.cpath)
      assert(so, "need LSOCK_BIN or lsock.so on package.cpath")
      cmd = "LUA_CPATH='" .. so:gsub("lsock%.so$", "?.so") .. ";;' lua5.4"
    end
    local path = helpers.unix_path()
    local l = track(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    l:settimeout(helpers.TIMEOUT)
    l:bind(path)
    l:listen()
    local script = os.tmpname()
    temps[#temps + 1] = script
    local f = assert(io.open(script, "w"))
    f:write([[
      local socket = require "lsock"
      local c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      c:settimeout(10)
      c:connect(arg[1])
      local data, fds = socket.recv_fds(c, 16, 1)
      assert(data == "take" and #fds == 1, "nothing received")
      local s = socket.fromfd(fds[1], socket.AF_INET, socket.SOCK_STREAM)
      socket.close(fds[1])
      s:settimeout(10)
      s:sendall("hello from pid " .. tostring(s:fileno() >= 0))
      s:close()
      c:close()
      print("child done")
    ]])
    f:close()
    local h = assert(io.popen("timeout 30 " .. cmd .. " " .. script .. " '" ..
                              path .. "' 2>&1", "r"))
    local conn = track((l:accept()))
    conn:settimeout(helpers.TIMEOUT)
    -- The child gets one end of a TCP connection and talks on it.
    local c, server = helpers.tcp_pair()
    socket.send_fds(conn, { "take" }, { server })
    server:close()
    local got = helpers.recv_exactly(c, #"hello from pid true")
    local out = h:read("a")
    local ok = h:close()
    assert.equal("hello from pid true", got, out)
    assert.is_true(ok, out)
    assert.matches("child done", out)
    assert.equal("", c:recv(10)) -- the child closed the last copy
  end)
end)

describe("CMSG_LEN and CMSG_SPACE", function()
  it("follow the platform's macros", function()
    local h = socket.CMSG_LEN(0)
    assert.is_true(h >= 12)
    for _, n in ipairs({ 0, 1, 4, 7, 8, 100 }) do
      assert.equal(h + n, socket.CMSG_LEN(n))
      local sp = socket.CMSG_SPACE(n)
      assert.is_true(sp >= socket.CMSG_LEN(n))
      assert.equal(0, sp % 4)
    end
    assert.equal(socket.CMSG_SPACE(0), socket.CMSG_LEN(0))
  end)

  it("reject out-of-range lengths", function()
    helpers.argerror("length out of range", socket.CMSG_LEN, -1)
    helpers.argerror("length out of range", socket.CMSG_SPACE, 1 << 40)
    helpers.argerror("number expected", socket.CMSG_LEN, "x")
  end)
end)

describe("socket.close", function()
  it("closes a bare descriptor once", function()
    local a = socket.socketpair()
    local fd = a:detach()
    assert.is_true(helpers.fd_open(fd))
    socket.close(fd)
    assert.is_false(helpers.fd_open(fd))
    helpers.sockerr("EBADF", "close", socket.close, fd)
    helpers.argerror("bad file descriptor", socket.close, -1)
  end)
end)

describe("sendfile", function()
  after_each(cleanup)

  local big = {}
  for i = 1, 20000 do big[i] = ("%07d\n"):format(i) end
  big = table.concat(big) -- 160000 bytes, more than a socket buffer

  -- Reads from s to the end of stream in a task; join gives the bytes.
  local function reader(s)
    return socket.spawn(function()
      local parts = {}
      for _ = 1, 100000 do
        local d = s:recv(65536)
        if d == "" then break end
        parts[#parts + 1] = d
      end
      return table.concat(parts)
    end)
  end

  it("sends a whole regular file, waiting while the peer reads", function()
    local a, b = helpers.tcp_pair()
    local name = tempfile(big)
    local f = assert(io.open(name, "rb"))
    local r = reader(b)
    assert.equal(#big, a:sendfile(f))
    a:shutdown(socket.SHUT_WR)
    assert.equal(big, r:join(10))
    assert.equal(#big, f:seek()) -- the position follows, as in Python
    f:close()
  end)

  it("honours offset and count, starting at offset 0 by default", function()
    local a, b = pair()
    local f = assert(io.open(tempfile("0123456789abcdef"), "rb"))
    f:read(4) -- moves the position; sendfile still starts at 0
    assert.equal(16, a:sendfile(f))
    assert.equal("0123456789abcdef", helpers.recv_exactly(b, 16))
    assert.equal(3, a:sendfile(f, 10, 3))
    assert.equal("abc", helpers.recv_exactly(b, 3))
    assert.equal(13, f:seek())
    assert.equal("def", f:read("a"))
    assert.equal(0, a:sendfile(f, 100)) -- past the end: nothing
    f:close()
  end)

  it("flushes what the script wrote through the handle first", function()
    local a, b = pair()
    local name = os.tmpname()
    temps[#temps + 1] = name
    local f = assert(io.open(name, "w+b"))
    f:write("unflushed")
    assert.equal(9, a:sendfile(f))
    assert.equal("unflushed", helpers.recv_exactly(b, 9))
    f:close()
  end)

  it("falls back to reading for a pipe", function()
    local a, b = pair()
    local p = assert(io.popen("printf 'from a pipe'", "r"))
    assert.equal(11, a:sendfile(p))
    assert.equal("from a pipe", helpers.recv_exactly(b, 11))
    p:close()
  end)

  it("waits for a slow pipe without holding up the other tasks", function()
    local a, b = pair()
    -- The pipe's writer pauses between its two parts; a task meanwhile
    -- counts turns of the loop, which a read(2) blocked on the pipe would
    -- stop.
    local p = assert(io.popen("printf one; sleep 0.3; printf two", "r"))
    local turns, done = 0, false
    local ticker = socket.spawn(function()
      while not done and turns < 1000 do
        socket.sleep(0.01)
        turns = turns + 1
      end
    end)
    local w = socket.spawn(function()
      local n = a:sendfile(p)
      done = true
      return n
    end)
    assert.equal(6, w:join(10))
    ticker:join(10)
    assert.equal("onetwo", helpers.recv_exactly(b, 6))
    assert.is_true(turns >= 5, "the loop ran " .. turns .. " turns")
    p:close()
  end)

  it("counts the wait for a pipe in the socket's timeout", function()
    local a = pair()
    a:settimeout(0.2)
    local p = assert(io.popen("sleep 0.6", "r"))
    local t0 = helpers.now()
    local e = helpers.sockerr("ETIMEDOUT", "sendfile", a.sendfile, a, p)
    local dt = helpers.now() - t0
    assert.equal("timeout", e.kind)
    assert.is_true(dt >= 0.15 and dt < 2, "waited " .. dt)
    p:close()
  end)

  it("works inside a task", function()
    local a, b = pair()
    local f = assert(io.open(tempfile(big), "rb"))
    local r = reader(b)
    local w = socket.spawn(function()
      local n = a:sendfile(f)
      a:shutdown(socket.SHUT_WR)
      return n
    end)
    assert.equal(#big, w:join(10))
    assert.equal(big, r:join(10))
    f:close()
  end)

  it("times out over the whole call, leaving the position at what went",
     function()
    local a = pair()
    a:settimeout(0.2)
    local f = assert(io.open(tempfile(big .. big .. big .. big), "rb"))
    local t0 = helpers.now()
    local e = helpers.sockerr("ETIMEDOUT", "sendfile", a.sendfile, a, f)
    local dt = helpers.now() - t0
    assert.equal("timeout", e.kind)
    assert.is_true(dt >= 0.15 and dt < 2, "waited " .. dt)
    local pos = f:seek()
    assert.is_true(pos > 0 and pos < 4 * #big, "position " .. pos)
    f:close()
  end)

  it("raises EPIPE when the peer has gone, without SIGPIPE", function()
    local a, b = pair()
    b:close()
    local f = assert(io.open(tempfile("data"), "rb"))
    local e = helpers.fails(a.sendfile, a, f)
    assert.equal(socket.error, getmetatable(e))
    assert.is_true(e.name == "EPIPE" or e.name == "ECONNRESET", e.name)
    f:close()
  end)

  it("checks its arguments, as Python does", function()
    local a = pair()
    local f = assert(io.open(tempfile("x"), "rb"))
    helpers.argerror("FILE* expected", a.sendfile, a, "name")
    helpers.argerror("offset must be non-negative", a.sendfile, a, f, -1)
    helpers.argerror("count must be a positive integer", a.sendfile, a, f,
                     0, 0)
    local u = track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    helpers.argerror("socket must be SOCK_STREAM", u.sendfile, u, f)
    a:settimeout(0)
    helpers.argerror("non-blocking sockets are not supported", a.sendfile,
                     a, f)
    f:close()
    a:settimeout(1)
    helpers.argerror("closed file", a.sendfile, a, f)
  end)

  it("raises EBADF for a file opened only for writing", function()
    local a = pair()
    local name = os.tmpname()
    temps[#temps + 1] = name
    local f = assert(io.open(name, "wb"))
    helpers.sockerr("EBADF", "sendfile", a.sendfile, a, f)
    f:close()
    local c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c:close()
    helpers.sockerr("EBADF", "sendfile", c.sendfile, c, io.stdin)
  end)
end)
