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

  it("clears O_NONBLOCK when a call can block in the kernel again", function()
    socket.setdefaulttimeout(5)
    local a, b = helpers.track(socket.socketpair())
    socket.setdefaulttimeout(nil)
    assert.is_true(nonblocking(a))
    b:send("x")
    assert.equal("x", a:recv(1)) -- with its timeout: still non-blocking
    assert.is_true(nonblocking(a))
    a:settimeout(nil)
    b:send("y")
    assert.equal("y", a:recv(1))
    assert.is_false(nonblocking(a))
    a:sendall("z")
    assert.equal("z", b:recv(1))
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

  -- After a TCP read short of what it asked for, a task waits for the
  -- next edge instead of trying again (the queue is empty); these are
  -- the cases where no edge would come or it came early.
  describe("after a short read in a task", function()
    local function tcp()
      local l = helpers.track(socket.socket())
      l:bind("127.0.0.1", 0)
      l:listen()
      local c = helpers.track(socket.socket())
      c:settimeout(5)
      c:connect(l:getsockname())
      local conn = helpers.track((l:accept()))
      conn:settimeout(5)
      return c, conn
    end

    -- A task reading c up to the end of stream (10 reads at most) into
    -- the list it returns at once.
    local function read_to_end(c)
      local got = {}
      helpers.spawn(function()
        for _ = 1, 10 do
          local data = c:recv(100)
          got[#got + 1] = data
          if data == "" then break end
        end
      end)
      return got
    end

    it("still sees the end of stream that came with the data", function()
      local c, conn = tcp()
      local got = read_to_end(c)
      helpers.spawn(function()
        socket.sleep(0.05) -- the reader is waiting by now
        conn:sendall("short")
        conn:close()
      end)
      local t0 = helpers.now()
      socket.run()
      assert.same({ "short", "" }, got)
      assert.is_true(helpers.now() - t0 < 2, "the end of stream was missed")
    end)

    it("still sees the end of stream already there", function()
      local c, conn = tcp()
      conn:sendall("short")
      conn:close()
      local got = read_to_end(c)
      socket.run()
      assert.same({ "short", "" }, got)
    end)

    it("gets the rest of a message sent in pieces", function()
      local c, conn = tcp()
      local got, n = {}, 0
      helpers.spawn(function()
        while n < 3000 do
          local data = c:recv(4096)
          if data == "" then break end
          got[#got + 1] = data
          n = n + #data
        end
      end)
      helpers.spawn(function()
        for i = 1, 3 do
          conn:sendall(("x"):rep(1000))
          socket.sleep(0.02 * i)
        end
      end)
      socket.run()
      assert.equal(3000, n)
      assert.is_true(#got >= 2)
    end)

    it("gives a non-blocking socket what has arrived", function()
      local c, conn = tcp()
      local got
      helpers.spawn(function()
        assert.equal("one", c:recv(100)) -- waited, then a short read
        conn:sendall("two") -- arrives with no loop turn in between
        c:settimeout(0)
        got = c:recv(100) -- tried, not assumed empty
      end)
      helpers.spawn(function() conn:sendall("one") end)
      socket.run()
      assert.equal("two", got)
    end)
  end)
end)
