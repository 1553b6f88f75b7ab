-- Tasks and the event loop: socket.spawn, task:join, task:status,
-- socket.sleep, socket.run, socket.current_task, and blocking-style socket
-- code that suspends only its own task. Every spec joins (or runs) what it
-- spawns, so the file runs the same under the lsock interpreter and under
-- stock lua5.4 with lsock.so.

local socket = require "lsock"
local helpers = require "spec.helpers"

local now = helpers.now

local spawn, settle, pair = helpers.spawn, helpers.settle, helpers.pair

-- A listening socket on 127.0.0.1 with a kernel-chosen port and a
-- backlog able to take `backlog` pending connections. Returns it, port.
local function listener(backlog)
  local l = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
  l:settimeout(helpers.TIMEOUT)
  l:bind("127.0.0.1", 0)
  l:listen(backlog)
  local _, port = l:getsockname()
  return l, port
end

-- The per-process descriptor limit, as the shell reports it (nil when
-- it cannot be read, math.huge for "unlimited").
local function fd_limit()
  local p = io.popen("sh -c 'ulimit -n' 2>/dev/null")
  if not p then return nil end
  local out = p:read("a")
  p:close()
  if out:match("unlimited") then return math.huge end
  return tonumber(out:match("%d+"))
end

-- Echoes every chunk back until end of stream; closes conn.
local function echo(conn)
  local c <close> = conn
  c:settimeout(helpers.TIMEOUT)
  for _ = 1, 100000 do
    local data = c:recv(4096)
    if data == "" then break end
    c:sendall(data)
  end
end

-- A client written in plain blocking style: connects, sends each message
-- and reads its echo. The same function runs in the main code and in
-- tasks. Returns the echoes, in order.
local function echo_client(port, messages)
  local c <close> = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
  c:settimeout(helpers.TIMEOUT)
  c:connect("127.0.0.1", port)
  local got = {}
  for i, m in ipairs(messages) do
    c:sendall(m)
    got[i] = helpers.recv_exactly(c, #m)
  end
  return got
end

describe("socket.spawn", function()
  after_each(settle)

  it("returns a task that starts nothing at once and runs with the loop",
     function()
    local ran = false
    local t = spawn(function() ran = true end)
    assert.equal("lsock.task", tostring(t):match("^lsock%.task"))
    assert.is_false(ran)
    assert.equal("ready", t:status())
    t:join(5)
    assert.is_true(ran)
    assert.equal("done", t:status())
  end)

  it("passes its extra arguments to the function, nils included", function()
    local t = spawn(function(...)
      return select("#", ...), ...
    end, 1, nil, "three", nil)
    local n, a, b, c, d = t:join(5)
    assert.equal(4, n)
    assert.equal(1, a)
    assert.is_nil(b)
    assert.equal("three", c)
    assert.is_nil(d)
  end)

  it("rejects a non-function with an argument error", function()
    helpers.argerror("bad argument #1 to", socket.spawn, 42)
    helpers.argerror("bad argument #1 to", socket.spawn)
  end)

  it("works from inside a task, and a child can outlive its parent",
     function()
    local order = {}
    local child
    local parent = spawn(function()
      local kids = {}
      for i = 1, 10 do
        kids[i] = socket.spawn(function(k)
          socket.sleep(0.01)
          return k * k
        end, i)
      end
      local sum = 0
      for i = 1, 10 do sum = sum + kids[i]:join(5) end
      child = socket.spawn(function()
        socket.sleep(0.05)
        order[#order + 1] = "child"
        return "late"
      end)
      helpers.keep_task(child)
      order[#order + 1] = "parent"
      return sum
    end)
    assert.equal(385, parent:join(5))
    assert.equal("done", parent:status())
    assert.is_not_nil(child)
    assert.equal("late", child:join(5))
    assert.same({ "parent", "child" }, order)
  end)

  it("current_task is nil in the main code and the task inside it",
     function()
    assert.is_nil(socket.current_task())
    local t
    t = spawn(function()
      return rawequal(socket.current_task(), t)
    end)
    assert.is_true(t:join(5))
    assert.is_nil(socket.current_task())
  end)
end)

describe("the main code as a client of a task", function()
  after_each(settle)

  it("talks to a server task in plain blocking style, without deadlock",
     function()
    -- A blocking client (timeout nil), as a script would write it. A
    -- watchdog closes it after 5 s so that a deadlock fails the spec
    -- (with EBADF) instead of hanging the run.
    local l, port = listener()
    local server = spawn(function()
      local conn = helpers.track((l:accept()))
      conn:settimeout(helpers.TIMEOUT)
      local line = conn:recv(100)
      conn:sendall("echo:" .. line)
      conn:close()
      return line
    end)
    local c = helpers.track(socket.socket(socket.AF_INET,
                                          socket.SOCK_STREAM))
    assert.is_nil(c:gettimeout())
    local finished = false
    local watchdog = spawn(function()
      for _ = 1, 500 do
        if finished then return end
        socket.sleep(0.01)
      end
      c:close()
    end)
    c:connect("127.0.0.1", port)
    c:sendall("hello")
    local reply = {}
    for _ = 1, 100 do
      local data = c:recv(100)
      if data == "" then break end
      reply[#reply + 1] = data
    end
    finished = true
    assert.equal("echo:hello", table.concat(reply))
    assert.equal("hello", server:join(5))
    watchdog:join(5)
  end)

  it("runs the same client function in the main code and in a task",
     function()
    local l, port = listener()
    local server = spawn(function()
      local kids = {}
      for i = 1, 2 do
        local conn = l:accept()
        kids[i] = socket.spawn(echo, conn)
      end
      for i = 1, 2 do kids[i]:join(5) end
    end)
    local messages = { "one", "two", ("x"):rep(100000) }
    local in_task = spawn(echo_client, port, messages)
    local in_main = echo_client(port, messages)
    assert.same(messages, in_main)
    assert.same(messages, in_task:join(5))
    server:join(5)
  end)

  it("keeps tasks running while the main code sleeps", function()
    local ticks, stop = 0, false
    local t = spawn(function()
      for _ = 1, 1000 do
        if stop then return end
        ticks = ticks + 1
        socket.sleep(0.01)
      end
    end)
    socket.sleep(0.2)
    assert.is_true(ticks >= 5, "only " .. ticks .. " ticks in 0.2 s")
    assert.equal("waiting", t:status()) -- still running
    stop = true
    t:join(5)
  end)
end)

describe("many tasks", function()
  after_each(settle)

  it("serve 1,000 concurrent echo clients, 10 round trips each", function()
    local clients = 1000
    local limit = fd_limit()
    -- Each client needs two descriptors here (its socket and the server's
    -- end of it), plus the process's own and busted's.
    if limit and limit < 2 * clients + 200 then
      clients = math.floor((limit - 200) / 2)
      print(("note: ulimit -n is %d; running %d clients instead of 1,000")
            :format(limit, clients))
    end
    assert.is_true(clients >= 50, "ulimit -n is too low for this spec")
    local l, port = listener(math.max(1024, socket.SOMAXCONN))
    local served = 0
    local server = spawn(function()
      local handlers = {}
      for i = 1, clients do
        local conn = l:accept()
        handlers[i] = socket.spawn(function()
          echo(conn)
          served = served + 1
        end)
      end
      for i = 1, clients do handlers[i]:join(30) end
      return served
    end)
    local tasks = {}
    for i = 1, clients do
      tasks[i] = spawn(function()
        local c <close> = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c:settimeout(30)
        c:connect("127.0.0.1", port)
        local correct = 0
        for r = 1, 10 do
          local m = ("client %d round %d;"):format(i, r)
          c:sendall(m)
          if helpers.recv_exactly(c, #m) == m then correct = correct + 1 end
        end
        return correct
      end)
    end
    local t0 = now()
    local total, failures = 0, {}
    for i = 1, clients do
      local ok, n = pcall(tasks[i].join, tasks[i], 60)
      if ok then
        total = total + n
      elseif #failures < 5 then
        failures[#failures + 1] = ("client %d: %s"):format(i, tostring(n))
      end
    end
    assert.same({}, failures)
    assert.equal(clients * 10, total)
    assert.equal(clients, server:join(30))
    assert.is_true(now() - t0 < 60)
  end)

  it("run 200 tasks sleeping 0.2 s each in well under a second", function()
    local t0 = now()
    local tasks = {}
    for i = 1, 200 do
      tasks[i] = spawn(function()
        socket.sleep(0.2)
        return now()
      end)
    end
    for i = 1, 200 do
      local woke = tasks[i]:join(5)
      assert.is_true(woke - t0 >= 0.19,
                     ("task %d woke after %.3f s"):format(i, woke - t0))
    end
    local elapsed = now() - t0
    assert.is_true(elapsed >= 0.19, ("%.3f s"):format(elapsed))
    assert.is_true(elapsed < 0.9, ("200 sleeps took %.3f s"):format(elapsed))
  end)

  it("sleep(0) and coroutine.yield() give the other tasks a turn",
     function()
    local log = {}
    local function worker(name, pause)
      for i = 1, 3 do
        log[#log + 1] = name .. i
        pause()
      end
    end
    local a = spawn(worker, "a", coroutine.yield)
    local b = spawn(worker, "b", coroutine.yield)
    a:join(5)
    b:join(5)
    assert.equal("a1 b1 a2 b2 a3 b3", table.concat(log, " "))
    log = {}
    a = spawn(worker, "a", function() socket.sleep(0) end)
    b = spawn(worker, "b", function() socket.sleep(0) end)
    a:join(5)
    b:join(5)
    assert.equal("a1 b1 a2 b2 a3 b3", table.concat(log, " "))
  end)
end)

describe("timeouts inside tasks", function()
  after_each(settle)

  it("a recv with settimeout(0.2) on an idle socket raises a timeout " ..
     "while another task keeps running", function()
    local a = pair()
    a:settimeout(0.2)
    local ticks = 0
    local ticker = spawn(function()
      for _ = 1, 40 do
        ticks = ticks + 1
        socket.sleep(0.01)
      end
    end)
    local waiter = spawn(function()
      local t0 = now()
      local ok, e = pcall(a.recv, a, 10)
      return ok, e, now() - t0, ticks
    end)
    local ok, e, waited, ticks_then = waiter:join(5)
    assert.is_false(ok)
    assert.equal(socket.error, getmetatable(e))
    assert.equal("timeout", e.kind)
    assert.equal("recv", e.op)
    assert.is_true(waited >= 0.19 and waited < 1.5,
                   ("waited %.3f s"):format(waited))
    assert.is_true(ticks_then >= 5,
                   "the other task ran only " .. ticks_then .. " times")
    ticker:join(5)
  end)

  it("a timeout in one task leaves a busy peer task unaffected", function()
    local a = pair()
    local c, d = pair()
    a:settimeout(0.1)
    local idle = spawn(function() return pcall(a.recv, a, 1) end)
    local busy = spawn(function()
      for i = 1, 20 do
        c:sendall("m" .. i)
        local got = helpers.recv_exactly(c, #("m" .. i))
        if got ~= "m" .. i then return "bad echo " .. got end
        socket.sleep(0.01)
      end
      return "ok"
    end)
    local echoer = spawn(function()
      for i = 1, 20 do
        d:sendall(helpers.recv_exactly(d, #("m" .. i)))
      end
    end)
    local ok, e = idle:join(5)
    assert.is_false(ok)
    assert.equal("timeout", e.kind)
    assert.equal("ok", busy:join(5))
    echoer:join(5)
  end)

  it("settimeout(0) still raises EAGAIN at once inside a task", function()
    local a = pair()
    a:settimeout(0)
    local t = spawn(function()
      local t0 = now()
      local ok, e = pcall(a.recv, a, 1)
      return ok, e, now() - t0
    end)
    local ok, e, took = t:join(5)
    assert.is_false(ok)
    assert.equal("EAGAIN", e.name)
    assert.is_true(took < 0.1)
  end)

  it("a connect timeout inside a task covers the whole call", function()
    -- A full backlog makes the next connects hang in SYN-sent on Linux;
    -- fill it, then expect a timeout (or a refusal on kernels that
    -- answer with RST).
    local l, port = listener(0)
    local fillers = {}
    for i = 1, 8 do
      local f = helpers.track(socket.socket())
      f:settimeout(0)
      f:connect_ex("127.0.0.1", port)
      fillers[i] = f
    end
    local t = spawn(function()
      local s <close> = socket.socket()
      s:settimeout(0.2)
      local t0 = now()
      local ok, e = pcall(s.connect, s, "127.0.0.1", port)
      return ok, e, now() - t0
    end)
    local ok, e, took = t:join(5)
    if ok then
      pending("the kernel accepted a connect beyond the backlog")
      return
    end
    assert.equal(socket.error, getmetatable(e))
    assert.is_true(took < 1.5, ("took %.3f s"):format(took))
    assert.is_true(e.kind == "timeout" or e.name == "ECONNREFUSED",
                   tostring(e))
  end)
end)

describe("task:join", function()
  after_each(settle)

  it("returns the task's results, however many, nils included", function()
    local t = spawn(function() return 1, nil, "three", nil end)
    local n = select("#", t:join(5))
    assert.equal(4, n)
    local a, b, c, d = t:join(5)
    assert.equal(1, a)
    assert.is_nil(b)
    assert.equal("three", c)
    assert.is_nil(d)
    local none = spawn(function() end)
    assert.equal(0, select("#", none:join(5)))
  end)

  it("gives the same results when a finished task is joined again",
     function()
    local tbl = {}
    local t = spawn(function() return "x", tbl, 3 end)
    local a1, b1, c1 = t:join(5)
    local a2, b2, c2 = t:join()
    local a3, b3, c3 = t:join(0)
    assert.equal("x", a1)
    assert.equal(a1, a2)
    assert.equal(a1, a3)
    assert.is_true(rawequal(tbl, b1) and rawequal(b1, b2) and
                   rawequal(b2, b3))
    assert.equal(3, c1)
    assert.equal(c1, c2)
    assert.equal(c1, c3)
  end)

  it("with a timeout on a running task raises a timeout error object",
     function()
    local t = spawn(function()
      socket.sleep(0.3)
      return "finally"
    end)
    local t0 = now()
    local e = helpers.fails(t.join, t, 0.05)
    local waited = now() - t0
    assert.equal(socket.error, getmetatable(e))
    assert.equal("timeout", e.kind)
    assert.equal("ETIMEDOUT", e.name)
    assert.is_true(waited >= 0.04 and waited < 0.28,
                   ("waited %.3f s"):format(waited))
    assert.is_true(t:status() == "waiting" or t:status() == "ready")
    -- The task itself is not harmed: a later join gets its results.
    assert.equal("finally", t:join(5))
  end)

  it("with a timeout inside a task raises a timeout there too", function()
    local slow = spawn(function() socket.sleep(0.3) return "slow" end)
    local t = spawn(function()
      local ok, e = pcall(slow.join, slow, 0.05)
      return ok, e, slow:join(5)
    end)
    local ok, e, later = t:join(5)
    assert.is_false(ok)
    assert.equal("timeout", e.kind)
    assert.equal("slow", later)
  end)

  it("inside a task can be repeated after a join that timed out",
     function()
    -- The timed-out join must not leave the joiner registered twice: the
    -- target's end would then wake it twice and resume a finished task.
    local slow = spawn(function() socket.sleep(0.15) return "slow" end)
    local t = spawn(function()
      local ok = pcall(slow.join, slow, 0.02)
      local ok2 = pcall(slow.join, slow, 0.02)
      return ok, ok2, slow:join(5)
    end)
    local ok, ok2, got = t:join(5)
    assert.is_false(ok)
    assert.is_false(ok2)
    assert.equal("slow", got)
    assert.equal("done", t:status())
    -- The loop goes on working afterwards.
    local after = spawn(function() socket.sleep(0.02) return "after" end)
    assert.equal("after", after:join(5))
    socket.run()
  end)

  it("inside a task waits for another task without blocking the rest",
     function()
    local ticks = 0
    local ticker = spawn(function()
      for _ = 1, 30 do
        ticks = ticks + 1
        socket.sleep(0.01)
      end
    end)
    local target = spawn(function()
      socket.sleep(0.15)
      return "target", 7
    end)
    local joiner = spawn(function()
      local a, b = target:join(5)
      return a, b, ticks
    end)
    local a, b, ticks_then = joiner:join(5)
    assert.equal("target", a)
    assert.equal(7, b)
    assert.is_true(ticks_then >= 5, "ticker ran " .. ticks_then .. " times")
    ticker:join(5)
  end)

  it("by several joiners gives each of them the results", function()
    local target = spawn(function() socket.sleep(0.05) return "r" end)
    local joiners = {}
    for i = 1, 5 do
      joiners[i] = spawn(function() return (target:join(5)) end)
    end
    for i = 1, 5 do assert.equal("r", joiners[i]:join(5)) end
    assert.equal("r", target:join(5))
  end)

  it("of itself is an error", function()
    local t
    t = spawn(function()
      local ok, e = pcall(function() return t:join() end)
      return ok, e
    end)
    local ok, e = t:join(5)
    assert.is_false(ok)
    assert.is_truthy(tostring(e):find("join", 1, true),
                     "unclear message: " .. tostring(e))
    assert.equal("done", t:status())
  end)

  it("rejects a negative timeout and a non-task", function()
    local t = spawn(function() end)
    helpers.argerror("bad argument", t.join, t, -1)
    helpers.argerror("bad argument", t.join, {}, 1)
    helpers.argerror("bad argument", t.join, t, "soon")
    t:join(5)
  end)

  it("status follows a task through ready, running, waiting, done and " ..
     "failed", function()
    local a, b = pair()
    local seen
    local t = spawn(function()
      seen = socket.current_task():status()
      return a:recv(10)
    end)
    assert.equal("ready", t:status())
    socket.sleep(0.05)
    assert.equal("running", seen)
    assert.equal("waiting", t:status())
    b:sendall("x")
    assert.equal("x", t:join(5))
    assert.equal("done", t:status())
    local u = spawn(function() error("no") end)
    helpers.fails(u.join, u, 5)
    assert.equal("failed", u:status())
  end)
end)

describe("errors in tasks", function()
  after_each(settle)

  it("join re-raises the task's error value unchanged", function()
    local value = { code = 42 }
    local t = spawn(function()
      socket.sleep(0.01)
      error(value)
    end)
    local e = helpers.fails(t.join, t, 5)
    assert.is_true(rawequal(value, e))
    assert.equal("failed", t:status())
    -- Again: the same value, not a wrapped one.
    assert.is_true(rawequal(value, helpers.fails(t.join, t, 5)))
  end)

  it("join re-raises string errors and lsock error objects as they are",
     function()
    local t = spawn(function() error("plain message", 0) end)
    assert.equal("plain message", helpers.fails(t.join, t, 5))
    local port = helpers.free_port()
    local u = spawn(function()
      local s <close> = socket.socket()
      s:settimeout(helpers.TIMEOUT)
      s:connect("127.0.0.1", port)
    end)
    local e = helpers.fails(u.join, u, 5)
    assert.equal(socket.error, getmetatable(e))
    assert.equal("ECONNREFUSED", e.name)
    assert.equal("connect", e.op)
  end)

  it("an unjoined failing task makes run() raise with its traceback",
     function()
    local function failing_worker_fn()
      socket.sleep(0.01)
      error("task blew up")
    end
    local t = socket.spawn(function() failing_worker_fn() end)
    helpers.keep_task(t)
    local e = helpers.fails(socket.run)
    assert.equal("string", type(e))
    assert.is_truthy(e:find("error in task", 1, true), e)
    assert.is_truthy(e:find("task blew up", 1, true), e)
    assert.is_truthy(e:find("stack traceback", 1, true), e)
    assert.is_truthy(e:find("failing_worker_fn", 1, true), e)
    -- Reported once: the next run() has nothing to raise.
    assert.equal(0, select("#", socket.run()))
  end)

  it("a failure that a waiting joiner sees does not make run() raise",
     function()
    local t = spawn(function()
      socket.sleep(0.02)
      error("seen by the joiner")
    end)
    local joiner = spawn(function()
      local ok, e = pcall(t.join, t)
      return ok, e
    end)
    socket.run()
    local ok, e = joiner:join(5)
    assert.is_false(ok)
    assert.is_truthy(tostring(e):find("seen by the joiner", 1, true))
  end)

  it("a failure whose only join timed out still makes run() raise",
     function()
    local t = socket.spawn(function()
      socket.sleep(0.05)
      error("failed after the join gave up")
    end)
    helpers.keep_task(t)
    assert.equal("timeout", helpers.fails(t.join, t, 0.01).kind)
    local e = helpers.fails(socket.run)
    assert.is_truthy(tostring(e):find("error in task", 1, true), tostring(e))
    assert.is_truthy(tostring(e):find("failed after the join gave up", 1,
                                      true), tostring(e))
  end)

  it("one failing task does not stop the others", function()
    local bad = spawn(function() error("bad one") end)
    local good = spawn(function()
      socket.sleep(0.05)
      return "good"
    end)
    assert.equal("good", good:join(5))
    helpers.fails(bad.join, bad, 5)
  end)

  it("run() from inside a task is an error", function()
    local t = spawn(function() return pcall(socket.run) end)
    local ok, e = t:join(5)
    assert.is_false(ok)
    assert.is_truthy(tostring(e):find("run", 1, true), tostring(e))
  end)

  it("run() with no task left returns at once", function()
    local t0 = now()
    socket.run()
    assert.is_true(now() - t0 < 0.1)
  end)
end)

describe("sockets and tasks", function()
  after_each(settle)

  it("a task that fails closes its <close> sockets", function()
    local a, b = socket.socketpair()
    helpers.track(b)
    b:settimeout(helpers.TIMEOUT)
    local before = helpers.fd_count()
    local t = spawn(function()
      local s <close> = a
      local extra <close> = socket.socket()
      assert(extra:fileno() >= 0)
      socket.sleep(0.01)
      error("failing with open sockets")
    end)
    helpers.fails(t.join, t, 5)
    assert.equal(-1, a:fileno())
    assert.equal(before - 1, helpers.fd_count())
    assert.equal("", b:recv(10)) -- the peer sees end of stream
  end)

  it("a task that fails while waiting closes its <close> sockets",
     function()
    local a, b = socket.socketpair()
    helpers.track(b)
    local c, d = pair()
    local before = helpers.fd_count()
    local t = spawn(function()
      local s <close> = a
      s:settimeout(helpers.TIMEOUT)
      local data = c:recv(10) -- waits; then fails with what it got
      error("got " .. data)
    end)
    socket.sleep(0.02)
    assert.equal("waiting", t:status())
    d:sendall("go")
    local e = helpers.fails(t.join, t, 5)
    assert.is_truthy(tostring(e):find("got go", 1, true))
    assert.equal(-1, a:fileno())
    assert.equal(before - 1, helpers.fd_count())
  end)

  it("closing a socket another task waits on in recv wakes it with EBADF",
     function()
    local a = pair()
    local t = spawn(function()
      local t0 = now()
      local ok, e = pcall(a.recv, a, 10)
      return ok, e, now() - t0
    end)
    local closer = spawn(function()
      socket.sleep(0.05)
      a:close()
    end)
    local ok, e, took = t:join(5)
    assert.is_false(ok)
    assert.equal(socket.error, getmetatable(e))
    assert.equal("EBADF", e.name)
    assert.is_true(took < 2, ("woke after %.3f s"):format(took))
    closer:join(5)
  end)

  it("closing a listener another task waits on in accept wakes it with " ..
     "EBADF", function()
    local l = listener()
    local t = spawn(function() return pcall(l.accept, l) end)
    socket.sleep(0.05) -- the main code closes it this time
    assert.equal("waiting", t:status())
    l:close()
    local ok, e = t:join(5)
    assert.is_false(ok)
    assert.equal("EBADF", e.name)
  end)

  it("closing a socket several tasks wait on wakes all of them", function()
    local a = pair()
    local waiters = {}
    for i = 1, 3 do
      waiters[i] = spawn(function()
        local ok, e = pcall(a.recv, a, 1)
        return ok, type(e) == "table" and e.name or tostring(e)
      end)
    end
    socket.sleep(0.02)
    a:close()
    for i = 1, 3 do
      local ok, name = waiters[i]:join(5)
      assert.is_false(ok)
      assert.equal("EBADF", name)
    end
  end)

  it("a task's makefile reads and writes suspend only that task", function()
    local a, b = pair()
    local reader = spawn(function()
      local f = a:makefile("r")
      local lines = {}
      for line in f:lines() do lines[#lines + 1] = line end
      f:close()
      return lines
    end)
    local writer = spawn(function()
      local f = b:makefile("w")
      for i = 1, 3 do
        f:write("line ", i, "\n")
        f:flush()
        socket.sleep(0.01)
      end
      f:close()
      b:close()
    end)
    writer:join(5)
    assert.same({ "line 1", "line 2", "line 3" }, reader:join(5))
  end)
end)

describe("waiting where a task cannot yield", function()
  after_each(settle)

  -- Runs body(a) in a task where a is a socket with nothing to read and
  -- a 1 s timeout. Returns pcall's results from inside the task.
  local function attempt(body)
    local a = pair()
    a:settimeout(1)
    local t = spawn(function() return pcall(body, a) end)
    return t:join(5)
  end

  local function assert_clear(ok, e)
    assert.is_false(ok)
    local msg = tostring(e)
    assert.is_truthy(msg:find("yield", 1, true) or
                     msg:find("cannot", 1, true),
                     "not a clear message: " .. msg)
  end

  it("in a table.sort comparator gives a clear error", function()
    assert_clear(attempt(function(a)
      table.sort({ 3, 2, 1 }, function(x, y)
        a:recv(1)
        return x < y
      end)
    end))
  end)

  it("in a __tostring metamethod called by tostring gives a clear error",
     function()
    assert_clear(attempt(function(a)
      local obj = setmetatable({}, { __tostring = function()
        return a:recv(1)
      end })
      return tostring(obj)
    end))
  end)

  it("in a string.gsub replacement function gives a clear error",
     function()
    assert_clear(attempt(function(a)
      return (("abc"):gsub(".", function() return a:recv(1) end))
    end))
  end)

  it("leaves the task and the others working afterwards", function()
    local a, b = pair()
    local other = spawn(function()
      socket.sleep(0.05)
      return "other"
    end)
    local t = spawn(function()
      local ok = pcall(table.sort, { 2, 1 }, function(x, y)
        a:recv(1)
        return x < y
      end)
      b:sendall("z")
      return ok, a:recv(1)
    end)
    local ok, got = t:join(5)
    assert.is_false(ok)
    assert.equal("z", got)
    assert.equal("other", other:join(5))
  end)

  it("is no problem in pcall and in metamethods Lua can yield across",
     function()
    local a, b = pair()
    local t = spawn(function()
      local ok, v = pcall(a.recv, a, 1)
      local proxy = setmetatable({}, { __index = function(_, k)
        return k .. a:recv(1)
      end })
      return ok, v, proxy.key
    end)
    socket.sleep(0.02)
    assert.equal("waiting", t:status())
    b:sendall("1")
    socket.sleep(0.02)
    b:sendall("2")
    local ok, v, idx = t:join(5)
    assert.is_true(ok)
    assert.equal("1", v)
    assert.equal("key2", idx)
  end)
end)

describe("the lsock interpreter and tasks", function()
  local BIN = os.getenv("LSOCK_BIN")

  local function run_script(src)
    local name = os.tmpname()
    local f = assert(io.open(name, "wb"))
    f:write(src)
    f:close()
    local errname = os.tmpname()
    local p = assert(io.popen(("%q %q 2>%q </dev/null"):format(
      BIN, name, errname)))
    local out = p:read("a")
    local _, _, code = p:close()
    local ef = assert(io.open(errname, "rb"))
    local err = ef:read("a")
    ef:close()
    os.remove(name)
    os.remove(errname)
    return out, err, code
  end

  it("runs the tasks of a script that only spawns them", function()
    if not BIN or BIN == "" then
      pending("LSOCK_BIN is not set")
      return
    end
    local out, err, code = run_script([[
      for i = 1, 3 do
        socket.spawn(function() socket.sleep(0.01 * i) print("task", i) end)
      end
      print("main done")
    ]])
    assert.equal("main done\ntask\t1\ntask\t2\ntask\t3\n", out)
    assert.equal("", err)
    assert.equal(0, code)
  end)

  it("exits 1 with the traceback of a task nobody joins", function()
    if not BIN or BIN == "" then
      pending("LSOCK_BIN is not set")
      return
    end
    local out, err, code = run_script([[
      local function doomed() socket.sleep(0.01) error("doomed task") end
      socket.spawn(function() doomed() end)
      print("main done")
    ]])
    assert.equal("main done\n", out)
    assert.equal(1, code)
    assert.is_truthy(err:find("doomed task", 1, true), err)
    assert.is_truthy(err:find("traceback", 1, true), err)
  end)
end)
