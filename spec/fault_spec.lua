-- Fault injection (issue 5): peers that reset the connection in the middle
-- of a transfer, half-closed streams, descriptor exhaustion, degenerate and
-- oversized arguments, and sockets closed under a running call. Each case
-- must end in a clear error object or a defined result, never a crash.
-- (The signal storm is a C host: spec/c/sigstorm.c, ctest's
-- fault_signal_storm.) Peers that must act while this process blocks are
-- child processes (spec/child.lua); every wait is bounded.

local socket = require "lsock"
local helpers = require "spec.helpers"
local child = require "spec.child"

local SOL, LINGER = socket.SOL_SOCKET, socket.SO_LINGER

-- Closes s with SO_LINGER {on, 0 s}: the peer gets a reset (RST), not FIN.
local function reset(s)
  s:setsockopt(SOL, LINGER, string.pack("ii", 1, 0))
  s:close()
end

-- Asserts e is an lsock error object for a vanished peer, from `op`.
local function gone(e, op)
  assert.equal(socket.error, getmetatable(e), tostring(e))
  assert.is_true(e.name == "ECONNRESET" or e.name == "EPIPE", tostring(e))
  assert.equal("error", e.kind)
  assert.equal(socket[e.name], e.errno)
  assert.equal(op, e.op)
end

-- A child that connects to 127.0.0.1:port, sends `data`, waits `delay`
-- seconds and resets the connection.
local RESETTER = [[
local socket = require "lsock"
local port, delay, data = tonumber(arg[1]), arg[2], arg[3]
local s = socket.socket()
s:settimeout(10)
s:connect("127.0.0.1", port)
if #data > 0 then s:sendall(data) end
os.execute("sleep " .. delay)
s:setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, string.pack("ii", 1, 0))
s:close()
print("reset")
]]

-- Starts a RESETTER and accepts its connection: returns the accepted
-- socket (with a 10 s timeout) and the child's handle.
local function reset_peer(delay, data)
  local l, _, port = helpers.tcp_listener()
  local h = child.start(RESETTER, { port, delay, data or "" })
  local conn = helpers.track((l:accept()))
  conn:settimeout(10)
  return conn, h
end

-- Runs f(...) expecting an error; returns it and the seconds it took.
local function timed_fail(f, ...)
  local t0 = helpers.now()
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error, the call succeeded")
  return e, helpers.now() - t0
end

describe("a peer that resets the connection", function()
  after_each(function()
    helpers.cleanup()
    child.cleanup()
  end)

  it("fails recv with ECONNRESET after the bytes sent before it", function()
    local c, conn = helpers.tcp_pair()
    conn:sendall("hello")
    reset(conn)
    local got, e = {}, nil
    for _ = 1, 10 do -- the data, then the reset
      local ok, r = pcall(c.recv, c, 100)
      if not ok then e = r break end
      assert.is_true(#r > 0, "end of stream before the reset was reported")
      got[#got + 1] = r
    end
    gone(e, "recv")
    assert.equal("ECONNRESET", e.name)
    assert.equal("hello", table.concat(got))
    -- Reported once; then the stream is over (or still failing), no more.
    local ok, r = pcall(c.recv, c, 100)
    assert.is_true(ok and r == "" or getmetatable(r) == socket.error)
  end)

  it("wakes a recv blocked waiting with ECONNRESET", function()
    local conn, h = reset_peer(0.3)
    local e, took = timed_fail(conn.recv, conn, 100)
    local out = child.wait(h)
    gone(e, "recv")
    assert.equal("ECONNRESET", e.name)
    assert.is_true(took < 8, ("recv took %.3f s"):format(took))
    assert.equal("reset\n", out)
  end)

  it("fails send with ECONNRESET or EPIPE, never SIGPIPE", function()
    local c, conn = helpers.tcp_pair()
    reset(conn)
    local e
    for _ = 1, 10 do
      local ok, r = pcall(c.send, c, "data")
      if not ok then e = r break end
    end
    gone(e, "send")
    -- Once the reset is reported, every later send is EPIPE.
    for _ = 1, 3 do
      e = helpers.sockerr("EPIPE", "send", c.send, c, "more")
    end
    assert.equal("error", e.kind)
  end)

  it("fails a sendall blocked on a full buffer", function()
    -- The child never reads: sendall fills both buffers and waits until
    -- the reset arrives.
    local conn, h = reset_peer(0.3)
    local data = ("z"):rep(16 * 1024 * 1024)
    local e, took = timed_fail(conn.sendall, conn, data)
    local out = child.wait(h)
    gone(e, "sendall")
    assert.is_true(took < 8, ("sendall took %.3f s"):format(took))
    assert.equal("reset\n", out)
    -- The socket stays usable as an object: later calls fail cleanly.
    gone(helpers.fails(conn.sendall, conn, "x"), "sendall")
    conn:close()
  end)

  it("fails a makefile read and keeps the bytes read before", function()
    local c, conn = helpers.tcp_pair()
    local f = c:makefile("r")
    conn:sendall("no newline yet")
    reset(conn)
    gone(helpers.fails(f.read, f, "l"), "read")
    -- The read that raised consumed nothing; the stream then ends.
    assert.equal("no newline yet", f:read("l"))
    assert.is_nil(f:read("l"))
    assert.is_true(f:close())
  end)

  it("wakes a makefile read blocked waiting with ECONNRESET", function()
    local conn, h = reset_peer(0.3, "partial")
    local f = conn:makefile("r")
    local e, took = timed_fail(f.read, f, "a")
    child.wait(h)
    gone(e, "read")
    assert.is_true(took < 8, ("read took %.3f s"):format(took))
    assert.equal("partial", f:read("a"))
    f:close()
  end)

  it("ends a lines() loop with the error, not a crash", function()
    local c, conn = helpers.tcp_pair()
    local f = c:makefile("r")
    conn:sendall("one\ntwo\nthr")
    reset(conn)
    local got = {}
    local ok, e = pcall(function()
      for line in f:lines() do got[#got + 1] = line end
    end)
    assert.is_false(ok)
    gone(e, "read")
    assert.same({ "one", "two" }, got)
    f:close()
  end)

  it("fails makefile writes, flushes and a read's flush", function()
    local c, conn = helpers.tcp_pair()
    local f = c:makefile("rw")
    reset(conn)
    -- Buffered bytes, then a write too large for the buffer: the flush
    -- meets the reset.
    f:write("buffered")
    local e
    for _ = 1, 5 do
      local ok, r = pcall(f.write, f, ("w"):rep(20000))
      if not ok then e = r break end
    end
    gone(e, "write")
    -- A read flushes what is buffered first: that fails the same way.
    local g = c:makefile("rw")
    g:write("request")
    gone(helpers.fails(g.read, g, "l"), "flush")
    g:write("again")
    gone(helpers.fails(g.setvbuf, g, "no"), "flush")
    g:write("more")
    gone(helpers.fails(g.flush, g), "flush")
    g:write("last")
    gone(helpers.fails(g.close, g), "close")
    f:close()
  end)

  it("lets a file with unsendable bytes be collected", function()
    local c, conn = helpers.tcp_pair()
    do
      local f = c:makefile("w")
      f:write("never delivered")
      reset(conn)
    end
    collectgarbage()
    collectgarbage()
    c:close()
  end)
end)

describe("a half-closed stream", function()
  after_each(helpers.cleanup)

  local function half_close(c, conn)
    c:sendall("request line 1\nrequest line 2\n")
    c:shutdown(socket.SHUT_WR)
    -- conn reads to the end...
    local got, n = {}, 0
    for _ = 1, 100 do
      local r = conn:recv(7)
      if r == "" then break end
      got[#got + 1] = r
      n = n + 1
    end
    assert.equal("request line 1\nrequest line 2\n", table.concat(got))
    assert.equal("", conn:recv(10)) -- and the end stays the end
    -- ...and can still answer.
    conn:sendall("reply")
    conn:shutdown(socket.SHUT_WR)
    assert.equal("reply", helpers.recv_exactly(c, 5))
    assert.equal("", c:recv(10))
    helpers.sockerr("EPIPE", "send", c.send, c, "late")
  end

  it("reads to the end over TCP and answers", function()
    half_close(helpers.tcp_pair())
  end)

  it("reads to the end over a Unix stream and answers", function()
    half_close(helpers.unix_pair())
  end)

  it("reads to the end through makefile", function()
    local c, conn = helpers.tcp_pair()
    local f = conn:makefile("rw")
    c:sendall("a\nb\n")
    c:shutdown(socket.SHUT_WR)
    local lines = {}
    for line in f:lines() do lines[#lines + 1] = line end
    assert.same({ "a", "b" }, lines)
    assert.equal("", f:read("a")) -- io's "a" at the end: ""
    assert.is_nil(f:read("l"))
    assert.is_nil(f:read(1))
    assert.is_nil(f:read("n"))
    f:write("done\n")
    f:flush()
    conn:shutdown(socket.SHUT_WR)
    local g = c:makefile("r")
    assert.equal("done\n", g:read("a"))
    assert.equal("", g:read("a"))
  end)

  it("gives \"\" after SHUT_RD", function()
    local c, conn = helpers.tcp_pair()
    conn:shutdown(socket.SHUT_RD)
    assert.equal("", conn:recv(10))
    c:close()
  end)
end)

describe("descriptor exhaustion", function()
  after_each(child.cleanup)

  it("fails with EMFILE at the limit and recovers after closing", function()
    local out, code = child.run([[
local socket = require "lsock"
local function emfile(op, ok, e)
  assert(not ok, op .. " succeeded past the limit")
  assert(getmetatable(e) == socket.error, tostring(e))
  assert(e.kind == "error" and e.name == "EMFILE", tostring(e))
  assert(e.errno == socket.EMFILE and e.op == op, tostring(e))
  print(tostring(e))
end
local held, e = {}, nil
for i = 1, 100 do -- the limit is 64
  local ok, s = pcall(socket.socket)
  if not ok then e = s break end
  held[i] = s
end
assert(#held > 40 and #held < 64, #held)
emfile("socket", false, e)
local l, c = held[1], held[2]
l:settimeout(5)
l:bind("127.0.0.1", 0)
l:listen()
c:connect(l:getsockname())
emfile("accept", pcall(l.accept, l))
emfile("dup", pcall(l.dup, l))
emfile("socket", pcall(socket.socket, socket.AF_UNIX, socket.SOCK_DGRAM))
for i = #held, #held - 4, -1 do held[i]:close() held[i] = nil end
local conn = l:accept() -- the connection waited in the backlog
assert(conn:fileno() >= 0)
local more = {}
for i = 1, 3 do more[i] = socket.socket() end
more[4] = l:dup()
print("recovered")
]], {}, { nofile = 64 })
    assert.equal(0, code, out)
    assert.equal("socket: [EMFILE] Too many open files\n" ..
                 "accept: [EMFILE] Too many open files\n" ..
                 "dup: [EMFILE] Too many open files\n" ..
                 "socket: [EMFILE] Too many open files\n" ..
                 "recovered\n", out)
  end)
end)

describe("degenerate arguments", function()
  after_each(function()
    helpers.cleanup()
    child.cleanup()
  end)

  it("recv(2^40) returns what is there without a huge allocation", function()
    local c, conn = helpers.tcp_pair()
    conn:sendall("data")
    collectgarbage()
    local before = collectgarbage("count")
    assert.equal("data", c:recv(2 ^ 40))
    conn:sendall("more")
    assert.equal("more", c:recv(math.maxinteger))
    collectgarbage()
    assert.is_true(collectgarbage("count") - before < 4096)
    local a, b, _, pb = helpers.udp_pair()
    a:sendto("datagram", "127.0.0.1", pb)
    assert.equal("datagram", b:recv(2 ^ 40))
    a:sendto("again", "127.0.0.1", pb)
    assert.equal("again", (b:recvfrom(math.maxinteger)))
  end)

  it("recv(0) returns \"\" and leaves the data", function()
    -- (With nothing waiting, see spec/regress/5-recv-zero_spec.lua.)
    local c, conn = helpers.tcp_pair()
    conn:sendall("kept")
    assert.equal("", c:recv(0))
    assert.equal("kept", helpers.recv_exactly(c, 4))
  end)

  it("refuses negative and non-integer sizes", function()
    local c = helpers.tcp_pair()
    for _, n in ipairs { -1, -2 ^ 40, math.mininteger } do
      helpers.argerror("negative buffer size", c.recv, c, n)
      helpers.argerror("negative buffer size", c.recvfrom, c, n)
    end
    helpers.argerror("number has no integer representation", c.recv, c, 2 ^ 63)
    helpers.argerror("number has no integer representation", c.recv, c, 1.5)
    helpers.argerror("number expected", c.recv, c, "many")
  end)

  it("sends 64 MiB with one sendall to a reader in another process",
     function()
    local l, _, port = helpers.tcp_listener()
    l:settimeout(20)
    local h = child.start([[
local socket = require "lsock"
local s = socket.socket()
s:settimeout(30)
s:connect("127.0.0.1", tonumber(arg[1]))
local n, tail = 0, ""
for _ = 1, 1e6 do
  local chunk = s:recv(1 << 20)
  if chunk == "" then break end
  n = n + #chunk
  tail = (tail .. chunk):sub(-16)
end
print(n, tail)
]], { port }, { limit = 60 })
    local ok, err = pcall(function()
      local conn = helpers.track((l:accept()))
      conn:settimeout(30)
      local data = ("0123456789abcdef"):rep(4 * 1024 * 1024)
      assert.equal(64 * 1024 * 1024, #data)
      conn:sendall(data)
      conn:close()
    end)
    local out, code = child.wait(h)
    assert.is_true(ok, tostring(err))
    assert.equal(0, code, out)
    assert.equal("67108864\t0123456789abcdef\n", out)
  end)

  it("refuses NaN, infinite and negative timeouts", function()
    local s = helpers.track(socket.socket())
    helpers.argerror("NaN", s.settimeout, s, 0 / 0)
    helpers.argerror("too large", s.settimeout, s, math.huge)
    helpers.argerror("non-negative", s.settimeout, s, -math.huge)
    helpers.argerror("non-negative", s.settimeout, s, -1)
    helpers.argerror("NaN", socket.setdefaulttimeout, 0 / 0)
    helpers.argerror("too large", socket.setdefaulttimeout, math.huge)
    assert.is_nil(s:gettimeout()) -- unchanged by the refusals
    assert.is_nil(socket.getdefaulttimeout())
    s:settimeout(1e9) -- the largest accepted: about 31 years
    assert.equal(1e9, s:gettimeout())
    s:settimeout(0.0)
    assert.is_false(s:getblocking())
  end)

  it("refuses ports outside 0-65535", function()
    local s = helpers.track(socket.socket())
    local u = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    for _, port in ipairs { -1, 65536, 2 ^ 31, math.maxinteger,
                            math.mininteger } do
      helpers.argerror("port must be 0-65535", s.bind, s, "127.0.0.1", port)
      helpers.argerror("port must be 0-65535", s.connect, s, "127.0.0.1",
                       port)
      helpers.argerror("port must be 0-65535", s.connect_ex, s, "127.0.0.1",
                       port)
      helpers.argerror("port must be 0-65535", u.sendto, u, "x", "127.0.0.1",
                       port)
    end
    helpers.argerror("number has no integer representation", s.bind, s,
                     "127.0.0.1", 80.5)
    helpers.argerror("number expected", s.bind, s, "127.0.0.1", "http")
    if helpers.has_ipv6() then
      local s6 = helpers.track(socket.socket(socket.AF_INET6))
      helpers.argerror("port must be 0-65535", s6.bind, s6, "::1", 65536)
      helpers.argerror("port must be 0-65535", s6.bind, s6, "::1", -1)
    end
  end)

  it("refuses host strings with a zero byte", function()
    local s = helpers.track(socket.socket())
    local u = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    for _, host in ipairs { "127.0.0.1\0evil.example", "\0", "localhost\0" } do
      helpers.argerror("zero byte", s.bind, s, host, 0)
      helpers.argerror("zero byte", s.connect, s, host, 9)
      helpers.argerror("zero byte", s.connect_ex, s, host, 9)
      helpers.argerror("zero byte", u.sendto, u, "x", host, 9)
    end
  end)

  it("fails 10,000-byte host names with a short gaierror", function()
    local s = helpers.track(socket.socket())
    local names = { ("a"):rep(10000), ("a."):rep(5000),
                    ("1"):rep(10000), ("x"):rep(9999) .. ":" }
    for _, name in ipairs(names) do
      local t0 = helpers.now()
      local e = helpers.fails(s.connect, s, name, 80)
      assert.equal(socket.error, getmetatable(e), tostring(e))
      assert.equal("gaierror", e.kind)
      assert.equal("connect", e.op)
      assert.is_true(#tostring(e) < 400, "a message of " .. #tostring(e))
      assert.is_true(helpers.now() - t0 < 10)
    end
    if helpers.has_ipv6() then
      local s6 = helpers.track(socket.socket(socket.AF_INET6))
      local e = helpers.fails(s6.bind, s6, ("b"):rep(10000), 0)
      assert.equal("gaierror", e.kind)
      assert.is_true(#tostring(e) < 400)
    end
  end)

  it("fails AF_UNIX paths longer than sun_path with ENAMETOOLONG",
     function()
    local s = helpers.track(socket.socket(socket.AF_UNIX))
    local d = helpers.track(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    for _, path in ipairs { ("p"):rep(108), ("/"):rep(10000),
                            "\0" .. ("q"):rep(108), ("r"):rep(1 << 20) } do
      helpers.sockerr("ENAMETOOLONG", "bind", s.bind, s, path)
      helpers.sockerr("ENAMETOOLONG", "connect", s.connect, s, path)
      helpers.sockerr("ENAMETOOLONG", "sendto", d.sendto, d, "x", path)
    end
    -- The longest that fit: 107 bytes and a NUL, or 108 abstract bytes.
    local dir = helpers.unix_path("")
    local long = dir .. ("x"):rep(107 - #dir)
    assert.equal(107, #long)
    s:bind(long)
    assert.equal(long, s:getsockname())
    local abstract = "\0" .. ("y"):rep(107)
    d:bind(abstract)
    assert.equal(abstract, d:getsockname())
  end)

  it("binds a Unix path up to an embedded zero, as the kernel reads it",
     function()
    local path = helpers.unix_path()
    local s = helpers.track(socket.socket(socket.AF_UNIX))
    s:bind(path .. "\0ignored")
    assert.equal(path, s:getsockname())
  end)

  it("fails an oversized datagram with EMSGSIZE", function()
    local a, _, _, pb = helpers.udp_pair()
    local e = helpers.sockerr("EMSGSIZE", "sendto", a.sendto, a,
                              ("d"):rep(70000), "127.0.0.1", pb)
    assert.equal("error", e.kind)
  end)

  it("refuses out-of-range option sizes and clamps backlogs", function()
    local s = helpers.track(socket.socket())
    for _, n in ipairs { 0, -1, 1025, 2 ^ 40 } do
      helpers.argerror("buflen must be 1-1024", s.getsockopt, s, SOL,
                       socket.SO_LINGER, n)
    end
    helpers.argerror("option value too long", s.setsockopt, s, SOL,
                     socket.SO_LINGER, ("v"):rep(65537))
    helpers.argerror("out of range", s.setsockopt, s, SOL,
                     socket.SO_RCVBUF, 2 ^ 40)
    s:bind("127.0.0.1", 0)
    s:listen(2 ^ 40)
    s:listen(-5)
    s:listen(math.mininteger)
  end)

  it("refuses degenerate makefile arguments and reads", function()
    local c, conn = helpers.tcp_pair()
    helpers.argerror("invalid buffering", c.makefile, c, "r", 2 ^ 40)
    helpers.argerror("invalid buffering", c.makefile, c, "r", -2)
    helpers.argerror("invalid mode", c.makefile, c, "rwx")
    helpers.argerror("invalid mode", c.makefile, c, "")
    local f = c:makefile("r")
    helpers.argerror("invalid format", f.read, f, -1)
    helpers.argerror("invalid format", f.read, f, "x")
    helpers.argerror("invalid buffer size", f.setvbuf, f, "full", 0)
    helpers.argerror("invalid buffer size", f.setvbuf, f, "full", 2 ^ 40)
    conn:sendall("0755 short")
    conn:close()
    assert.equal(755, f:read("n")) -- a leading zero is not octal
    assert.equal(" short", f:read(2 ^ 40)) -- what there is, at the end
    assert.is_nil(f:read(math.maxinteger))
    f:close()
  end)
end)

-- A finalizer (__gc) that closes the object in use in the middle of a C
-- method (spec/scripts/gc_close.lua). The script runs in a child process,
-- so that a crash fails one spec, not the run.
local GC_CLOSE = child.script("gc_close.lua")

describe("a socket closed under a running call", function()
  after_each(child.cleanup)

  local cases = {
    { "recv", "by a __gc during s:recv: EBADF",
      "recv: [EBADF] Bad file descriptor x20" },
    { "accept", "by a __gc during l:accept: EBADF",
      "accept: [EBADF] Bad file descriptor x20" },
    { "close", "by s:close() in a __gc during its own makefile's read",
      "lines x20" },
    { "detach", "by s:detach() in a __gc during its own makefile's read",
      "lines x20" },
  }
  for _, case in ipairs(cases) do
    it(case[2], function()
      local out, code = child.run(GC_CLOSE, { case[1] }, { limit = 60 })
      assert.equal(0, code, out)
      assert.equal("finalizers ran inside the call\n" .. case[3] .. "\n", out)
    end)
  end
  -- f:close() in that finalizer: spec/regress/5-makefile-closed-in-read_spec.lua.
  -- Closing from another task while a task waits needs the event loop.
end)
