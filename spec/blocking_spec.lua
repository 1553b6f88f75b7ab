-- How a call waits. A socket without a timeout, used where nothing else
-- could run (no task alive, not in a task), blocks in the kernel: one
-- system call, its descriptor without O_NONBLOCK. With a timeout, inside a
-- task or beside live tasks, every attempt is non-blocking and the wait
-- goes through the loop, whatever the descriptor's flag was before.
local socket = require "lsock"
local helpers = require "spec.helpers"

-- O_NONBLOCK, read from /proc/self/fdinfo (octal flags; Linux).
local O_NONBLOCK = 0x800
local function nonblocking(s)
  local f = assert(io.open("/proc/self/fdinfo/" .. s:fileno()))
  local flags = f:read("a"):match("flags:%s*(%d+)")
  f:close()
  return (tonumber(flags, 8) & O_NONBLOCK) ~= 0
end

-- A kernel-side bound on a call that blocks in the kernel by mistake:
-- it then gives up after 3 s, and the spec sees the time it took.
local function guard(s)
  s:setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, string.pack("i8i8", 3, 0))
  s:setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, string.pack("i8i8", 3, 0))
end

-- A listener without a timeout on 127.0.0.1.
local function listener()
  local l = helpers.track(socket.socket())
  l:bind("127.0.0.1", 0)
  l:listen()
  guard(l)
  return l, select(2, l:getsockname())
end

describe("blocking in the kernel", function()
  after_each(helpers.settle)

  it("is how a socket without a timeout is made", function()
    local s = helpers.track(socket.socket())
    assert.is_false(nonblocking(s))
    local a, b = helpers.track(socket.socketpair())
    assert.is_false(nonblocking(a))
    assert.is_false(nonblocking(b))
  end)

  it("is not how a socket with a timeout or SOCK_NONBLOCK is made", function()
    socket.setdefaulttimeout(5)
    local s = helpers.track(socket.socket())
    assert.is_true(nonblocking(s))
    socket.setdefaulttimeout(nil)
    local n = helpers.track(socket.socket(socket.AF_INET,
                                          socket.SOCK_STREAM | socket.SOCK_NONBLOCK))
    assert.is_true(nonblocking(n))
    assert.equal(0, n:gettimeout())
  end)

  it("serves accept and connect without a timeout, flags cleared", function()
    local l, port = listener()
    local c = helpers.track(socket.socket())
    c:connect("127.0.0.1", port)
    assert.is_false(nonblocking(c))
    local conn = helpers.track((l:accept()))
    assert.is_false(nonblocking(l))
    assert.is_false(nonblocking(conn))
    c:sendall("ping")
    assert.equal("ping", helpers.recv_exactly(conn, 4))
  end)

  it("gives way to a timeout: accept sets O_NONBLOCK again", function()
    local l, port = listener()
    local c1 = helpers.track(socket.socket())
    c1:connect("127.0.0.1", port)
    helpers.track((l:accept()))
    assert.is_false(nonblocking(l))
    l:settimeout(5)
    local c2 = helpers.track(socket.socket())
    c2:connect("127.0.0.1", port)
    local conn = helpers.track((l:accept()))
    assert.is_true(nonblocking(l))
    assert.is_true(nonblocking(conn))
    l:settimeout(0)
    helpers.sockerr("EAGAIN", "accept", l.accept, l)
  end)

  it("never holds up the tasks: a task reads a blocking descriptor", function()
    local a, b = helpers.track(socket.socketpair())
    guard(a)
    b:send("x")
    assert.equal("x", a:recv(1)) -- in the kernel: nothing else to run
    assert.is_false(nonblocking(a))
    local got
    helpers.spawn(function() got = a:recv(1) end)
    helpers.spawn(function()
      socket.sleep(0.05)
      b:send("y")
    end)
    local t0 = helpers.now()
    socket.run()
    assert.equal("y", got)
    assert.is_true(helpers.now() - t0 < 1.5, "the task's recv blocked the loop")
  end)

  it("never holds up the tasks: the main code waits beside one", function()
    local a, b = helpers.track(socket.socketpair())
    guard(a)
    helpers.spawn(function()
      socket.sleep(0.05)
      b:send("z")
    end)
    local t0 = helpers.now()
    assert.equal("z", a:recv(1))
    assert.is_true(helpers.now() - t0 < 1.5, "the recv blocked in the kernel")
    socket.run()
  end)

  it("never holds up the tasks: accept and connect in tasks", function()
    local l, port = listener()
    local c0 = helpers.track(socket.socket())
    c0:connect("127.0.0.1", port)
    helpers.track((l:accept())) -- l is now blocking in the kernel
    assert.is_false(nonblocking(l))
    local conn, c
    helpers.spawn(function() conn = helpers.track((l:accept())) end)
    helpers.spawn(function()
      socket.sleep(0.05)
      c = helpers.track(socket.socket())
      c:connect("127.0.0.1", port)
      c:sendall("hi")
    end)
    local t0 = helpers.now()
    socket.run()
    assert.is_true(helpers.now() - t0 < 1.5, "accept blocked the loop")
    assert.is_true(nonblocking(l))
    assert.is_true(nonblocking(c))
    assert.equal("hi", helpers.recv_exactly(conn, 2))
  end)

  it("is never used on a descriptor shared by dup", function()
    local a, b = helpers.track(socket.socketpair())
    local d = helpers.track(a:dup())
    assert.is_true(nonblocking(a))
    assert.is_true(nonblocking(d))
    b:send("1")
    assert.equal("1", d:recv(1))
    b:send("2")
    assert.equal("2", a:recv(1))
    assert.is_true(nonblocking(a)) -- their open file stays non-blocking
  end)

  it("moves a large message whole between tasks on blocking descriptors",
     function()
    local a, b = helpers.track(socket.socketpair())
    guard(a)
    guard(b)
    assert.is_false(nonblocking(a) or nonblocking(b))
    local data = ("0123456789abcdef"):rep(1 << 16) -- 1 MiB
    local got, n = {}, 0
    helpers.spawn(function()
      while n < #data do
        local chunk = b:recv(65536)
        if chunk == "" then break end
        got[#got + 1] = chunk
        n = n + #chunk
      end
    end)
    helpers.spawn(function() a:sendall(data) end)
    local t0 = helpers.now()
    socket.run()
    assert.is_true(helpers.now() - t0 < 1.5, "a call blocked the loop")
    assert.equal(data, table.concat(got))
  end)
end)
