-- socket.epoll([sizehint [, flags]]), like Python's select.epoll: an epoll
-- instance with register(fd [, mask]), modify(fd, mask), unregister(fd),
-- poll([timeout [, maxevents]]) -> array of {fd, events}, close, fileno and
-- the closed field. fd is an integer, a socket or a file object. In the
-- main code with no task alive, poll waits in epoll_wait itself; inside a
-- task it suspends only that task, and beside live tasks it keeps them
-- running while it waits.

local socket = require "lsock"
local helpers = require "spec.helpers"

local now, spawn, settle, pair = helpers.now, helpers.spawn, helpers.settle,
                                 helpers.pair

local epolls = {}

-- A new epoll instance, closed after each spec.
local function new_epoll(...)
  local ep = socket.epoll(...)
  epolls[#epolls + 1] = ep
  return ep
end

-- The events poll reported for fd, or nil.
local function events_of(list, fd)
  for _, pair_ in ipairs(list) do
    if pair_[1] == fd then return pair_[2] end
  end
  return nil
end

local function has(mask, bit)
  return mask & bit ~= 0
end

describe("socket.epoll", function()
  after_each(function()
    for i = #epolls, 1, -1 do
      epolls[i]:close()
      epolls[i] = nil
    end
    settle()
  end)

  it("exports Linux's event bits", function()
    assert.equal(0x001, socket.EPOLLIN)
    assert.equal(0x002, socket.EPOLLPRI)
    assert.equal(0x004, socket.EPOLLOUT)
    assert.equal(0x008, socket.EPOLLERR)
    assert.equal(0x010, socket.EPOLLHUP)
    assert.equal(0x2000, socket.EPOLLRDHUP)
    assert.equal(1 << 30, socket.EPOLLONESHOT)
    assert.equal(1 << 31, socket.EPOLLET)
    assert.is_number(socket.EPOLL_CLOEXEC)
  end)

  it("reports a readable socket as a {fd, events} pair", function()
    local ep = new_epoll()
    local a, b = pair()
    local c = pair()
    ep:register(a, socket.EPOLLIN)
    ep:register(c, socket.EPOLLIN)
    b:sendall("x")
    local r = ep:poll(1)
    assert.equal(1, #r)
    assert.equal(2, #r[1])
    assert.equal(a:fileno(), r[1][1])
    assert.equal(socket.EPOLLIN, r[1][2])
  end)

  it("polls with timeout 0: nothing ready gives an empty array at once",
     function()
    local ep = new_epoll()
    local a = pair()
    ep:register(a, socket.EPOLLIN)
    local t0 = now()
    local r = ep:poll(0)
    assert.same({}, r)
    assert.is_true(now() - t0 < 0.5)
  end)

  it("waits out a small timeout when nothing is ready", function()
    local ep = new_epoll()
    local a = pair()
    ep:register(a, socket.EPOLLIN)
    local t0 = now()
    local r = ep:poll(0.15)
    local took = now() - t0
    assert.same({}, r)
    assert.is_true(took >= 0.14 and took < 2, ("took %.3f s"):format(took))
  end)

  it("registers for reading and writing by default, as Python", function()
    local ep = new_epoll()
    local a = pair()
    ep:register(a)
    local ev = events_of(ep:poll(1), a:fileno())
    assert.is_number(ev)
    assert.is_true(has(ev, socket.EPOLLOUT))
    assert.is_false(has(ev, socket.EPOLLIN))
  end)

  it("takes sockets, file objects and integer descriptors", function()
    local ep = new_epoll()
    local a, b = pair()
    local c, d = pair()
    local e, f = pair()
    local file = c:makefile("r")
    ep:register(a, socket.EPOLLIN)
    ep:register(file, socket.EPOLLIN)
    ep:register(e:fileno(), socket.EPOLLIN)
    b:sendall("1")
    d:sendall("2")
    f:sendall("3")
    local r = ep:poll(1)
    assert.equal(3, #r)
    for _, s in ipairs({ a, c, e }) do
      assert.equal(socket.EPOLLIN, events_of(r, s:fileno()))
    end
    file:close()
  end)

  it("modify changes the mask and unregister stops the reports", function()
    local ep = new_epoll()
    local a, b = pair()
    ep:register(a, socket.EPOLLIN)
    assert.same({}, ep:poll(0))
    ep:modify(a, socket.EPOLLOUT)
    assert.equal(socket.EPOLLOUT, events_of(ep:poll(1), a:fileno()))
    ep:unregister(a)
    b:sendall("x")
    assert.same({}, ep:poll(0))
  end)

  it("raises lsock errors for a double register and an unknown descriptor",
     function()
    local ep = new_epoll()
    local a = pair()
    local c = pair()
    ep:register(a)
    local e = helpers.sockerr("EEXIST", "register", ep.register, ep, a)
    assert.equal("error", e.kind)
    helpers.sockerr("ENOENT", "unregister", ep.unregister, ep, c)
    helpers.sockerr("ENOENT", "modify", ep.modify, ep, c, socket.EPOLLIN)
    helpers.sockerr("EBADF", "register", ep.register, ep, 1000000)
  end)

  it("is level-triggered by default and edge-triggered with EPOLLET",
     function()
    local ep = new_epoll()
    local a, b = pair()
    local c, d = pair()
    ep:register(a, socket.EPOLLIN)
    ep:register(c, socket.EPOLLIN | socket.EPOLLET)
    b:sendall("x")
    d:sendall("x")
    assert.equal(2, #ep:poll(1))
    local again = ep:poll(0) -- nothing was read: only the level stays
    assert.equal(1, #again)
    assert.equal(a:fileno(), again[1][1])
    d:sendall("y") -- a new edge
    assert.is_number(events_of(ep:poll(1), c:fileno()))
  end)

  it("reports one shot with EPOLLONESHOT until modified", function()
    local ep = new_epoll()
    local a, b = pair()
    ep:register(a, socket.EPOLLIN | socket.EPOLLONESHOT)
    b:sendall("x")
    assert.equal(1, #ep:poll(1))
    assert.same({}, ep:poll(0))
    ep:modify(a, socket.EPOLLIN | socket.EPOLLONESHOT)
    assert.equal(1, #ep:poll(1))
  end)

  it("reports the peer's close as readable and EPOLLRDHUP", function()
    local ep = new_epoll()
    local a, b = pair()
    ep:register(a, socket.EPOLLIN | socket.EPOLLRDHUP)
    b:close()
    local ev = events_of(ep:poll(1), a:fileno())
    assert.is_number(ev)
    assert.is_true(has(ev, socket.EPOLLIN))
    assert.is_true(has(ev, socket.EPOLLRDHUP))
    assert.equal("", a:recv(10))
  end)

  it("returns at most maxevents per poll, the rest at the next", function()
    local ep = new_epoll()
    local seen = {}
    for _ = 1, 5 do
      local a, b = pair()
      ep:register(a, socket.EPOLLIN)
      b:sendall("x")
      seen[a:fileno()] = 0
    end
    for _ = 1, 5 do
      local r = ep:poll(1, 1)
      assert.equal(1, #r)
      local fd = r[1][1]
      seen[fd] = seen[fd] + 1
      ep:modify(fd, 0) -- out of the way, so the next poll gets another
    end
    for fd, n in pairs(seen) do
      assert.equal(1, n, "descriptor " .. fd)
    end
  end)

  it("takes a maxevents above the default, on both ways of waiting",
     function()
    local ep = new_epoll()
    local a, b = pair()
    ep:register(a, socket.EPOLLIN)
    -- Its buffer is then a userdata rather than the C stack's.
    for _ = 1, 100 do
      assert.same({}, ep:poll(0, 5000))
    end
    spawn(function() -- beside a task, poll waits through the loop
      socket.sleep(0.05)
      b:sendall("x")
    end)
    local r = ep:poll(5, 5000)
    assert.equal(1, #r)
    assert.equal(a:fileno(), r[1][1])
  end)

  it("serves many connections in one poll", function()
    local ep = new_epoll()
    local n = 300
    local ends = {}
    for i = 1, n do
      local a, b = pair()
      ep:register(a, socket.EPOLLIN)
      ends[i] = b
    end
    for i = 1, n do ends[i]:sendall("x") end
    local got = {}
    local t0 = now()
    while #got < n and now() - t0 < 5 do
      for _, p in ipairs(ep:poll(1)) do
        got[#got + 1] = p[1]
        ep:unregister(p[1])
      end
    end
    assert.equal(n, #got)
  end)

  it("inside a task suspends only that task", function()
    local ep = new_epoll()
    local a, b = pair()
    ep:register(a, socket.EPOLLIN)
    local r, took, ticks = helpers.wait_beside_ticker(
      function() return ep:poll(5) end,
      function() b:sendall("go") end)
    assert.equal(1, #r)
    assert.equal(a:fileno(), r[1][1])
    assert.is_true(took >= 0.1 and took < 2, ("took %.3f s"):format(took))
    assert.is_true(ticks >= 5, "the ticker ran " .. ticks ..
                   " times while poll waited")
  end)

  it("inside a task honours its timeout while other tasks run", function()
    local ep = new_epoll()
    local a = pair()
    ep:register(a, socket.EPOLLIN)
    local n, took, other = helpers.timeout_beside_task(function()
      return #ep:poll(0.15)
    end)
    assert.equal(0, n)
    assert.is_true(took >= 0.14 and took < 1.0, ("took %.3f s"):format(took))
    assert.equal("other", other)
  end)

  it("in the main code keeps tasks running while it waits", function()
    local ep = new_epoll()
    local c, d = pair()
    ep:register(c, socket.EPOLLIN)
    local echoer = spawn(function()
      d:sendall(d:recv(10))
    end)
    local writer = spawn(function()
      c:sendall("ping")
    end)
    local r = ep:poll(5) -- before the echo: the tasks must run meanwhile
    assert.equal(1, #r)
    assert.equal("ping", c:recv(10))
    writer:join(5)
    echoer:join(5)
  end)

  it("wakes a task waiting in poll with EBADF when it is closed", function()
    local ep = socket.epoll()
    local a = pair()
    ep:register(a, socket.EPOLLIN)
    local poller = spawn(function()
      return pcall(ep.poll, ep, 5)
    end)
    spawn(function()
      socket.sleep(0.05)
      ep:close()
    end)
    local t0 = now()
    local ok, e = poller:join(5)
    assert.is_false(ok)
    assert.equal(socket.error, getmetatable(e))
    assert.equal("EBADF", e.name)
    assert.is_true(now() - t0 < 2)
  end)

  it("closes: closed field, fileno -1, twice is fine, then EBADF", function()
    local ep = socket.epoll()
    local fd = ep:fileno()
    assert.is_true(helpers.fd_open(fd))
    assert.is_false(ep.closed)
    assert.matches("^<lsock.epoll fd=%d+>$", tostring(ep))
    ep:close()
    ep:close()
    assert.is_true(ep.closed)
    assert.equal(-1, ep:fileno())
    assert.is_false(helpers.fd_open(fd))
    assert.equal("<lsock.epoll [closed] fd=-1>", tostring(ep))
    local a = pair()
    helpers.sockerr("EBADF", "poll", ep.poll, ep, 0)
    helpers.sockerr("EBADF", "register", ep.register, ep, a)
    helpers.sockerr("EBADF", "modify", ep.modify, ep, a, 1)
    helpers.sockerr("EBADF", "unregister", ep.unregister, ep, a)
  end)

  it("closes with a <close> variable and when collected", function()
    local fd
    do
      local ep <close> = socket.epoll()
      fd = ep:fileno()
    end
    assert.is_false(helpers.fd_open(fd))
    local before = helpers.fd_count()
    for _ = 1, 50 do socket.epoll() end
    collectgarbage()
    collectgarbage()
    assert.equal(before, helpers.fd_count())
  end)

  it("refuses a closed socket (EBADF) or a closed file object", function()
    local ep = new_epoll()
    local a = pair()
    local c = pair()
    local f = c:makefile("r")
    a:close()
    f:close()
    c:close()
    helpers.sockerr("EBADF", "register", ep.register, ep, a)
    -- As io's files, a closed file object's fileno raises.
    assert.matches("closed file", helpers.fails(ep.register, ep, f))
  end)

  it("rejects bad arguments with argument errors", function()
    local ep = new_epoll()
    local a = pair()
    helpers.argerror("bad argument #1", socket.epoll, 0)
    helpers.argerror("bad argument #1", socket.epoll, -2)
    helpers.argerror("bad argument #2", socket.epoll, -1, 12345)
    assert.is_false(socket.epoll(10, socket.EPOLL_CLOEXEC).closed)
    helpers.argerror("bad argument #2", ep.register, ep, "socket")
    helpers.argerror("bad argument #2", ep.register, ep, {})
    helpers.argerror("bad argument #2", ep.register, ep, -1)
    helpers.argerror("bad argument #3", ep.register, ep, a, -5)
    helpers.argerror("bad argument #3", ep.register, ep, a, 1 << 32)
    helpers.argerror("bad argument #3", ep.modify, ep, a)
    helpers.argerror("bad argument #2", ep.poll, ep, "soon")
    helpers.argerror("bad argument #2", ep.poll, ep, 0 / 0)
    helpers.argerror("bad argument #3", ep.poll, ep, 0, 0)
    helpers.argerror("bad argument #1", ep.poll, {}, 0)
  end)

  it("waits forever with a nil or negative timeout", function()
    local ep = new_epoll()
    local a, b = pair()
    ep:register(a, socket.EPOLLIN)
    spawn(function()
      socket.sleep(0.1)
      b:sendall("x")
    end)
    assert.equal(1, #ep:poll())
    a:recv(1)
    spawn(function()
      socket.sleep(0.1)
      b:sendall("y")
    end)
    assert.equal(1, #ep:poll(-1))
  end)
end)
