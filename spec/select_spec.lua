-- socket.select(rlist, wlist, xlist [, timeout]), like Python's
-- select.select: lists of sockets, makefile objects or integer
-- descriptors (nil is an empty list); three arrays back, holding the very
-- values that were passed in; timeout nil waits forever, 0 polls. No limit
-- at FD_SETSIZE. Inside a task it suspends only that task; in the main
-- code it keeps the tasks running while it waits.

local socket = require "lsock"
local helpers = require "spec.helpers"

local now = helpers.now

local spawn, settle, pair = helpers.spawn, helpers.settle, helpers.pair

-- The per-process descriptor limit from the shell (nil if unknown).
local function fd_limit()
  local p = io.popen("sh -c 'ulimit -n' 2>/dev/null")
  if not p then return nil end
  local out = p:read("a")
  p:close()
  if out:match("unlimited") then return math.huge end
  return tonumber(out:match("%d+"))
end

-- True when list holds exactly the values in `want` (by identity), in
-- that order.
local function same_items(want, list)
  if type(list) ~= "table" or #list ~= #want then return false end
  for i = 1, #want do
    if not rawequal(want[i], list[i]) then return false end
  end
  return true
end

local function assert_items(want, list, what)
  assert(same_items(want, list), ("%s: expected %d item(s), got %s"):format(
         what or "list", #want,
         type(list) == "table" and (#list .. " item(s)") or tostring(list)))
end

describe("socket.select", function()
  after_each(settle)

  it("returns three arrays, the readable socket among them", function()
    local a, b = pair()
    local c = pair()
    b:sendall("x")
    local r, w, x = socket.select({ a, c }, {}, {}, 1)
    assert.equal("table", type(r))
    assert.equal("table", type(w))
    assert.equal("table", type(x))
    assert_items({ a }, r, "readable")
    assert_items({}, w, "writable")
    assert_items({}, x, "exceptional")
  end)

  it("keeps the order of the lists it was given", function()
    local a, b = pair()
    local c, d = pair()
    local e, f = pair()
    b:sendall("1")
    d:sendall("2")
    f:sendall("3")
    local r = socket.select({ e, a, c }, nil, nil, 1)
    assert_items({ e, a, c }, r, "readable")
  end)

  it("polls with timeout 0: nothing ready gives three empty arrays at once",
     function()
    local a = pair()
    local t0 = now()
    local r, w, x = socket.select({ a }, nil, { a }, 0)
    assert.is_true(now() - t0 < 0.1)
    assert_items({}, r)
    assert_items({}, w)
    assert_items({}, x)
  end)

  it("waits out a small timeout when nothing is ready", function()
    local a = pair()
    local t0 = now()
    local r, w, x = socket.select({ a }, nil, nil, 0.15)
    local took = now() - t0
    assert.is_true(took >= 0.14 and took < 1.0,
                   ("select(0.15) took %.3f s"):format(took))
    assert_items({}, r)
    assert_items({}, w)
    assert_items({}, x)
  end)

  it("with only empty lists just sleeps for the timeout", function()
    local t0 = now()
    local r, w, x = socket.select({}, nil, {}, 0.1)
    local took = now() - t0
    assert.is_true(took >= 0.09 and took < 1.0, ("took %.3f s"):format(took))
    assert_items({}, r)
    assert_items({}, w)
    assert_items({}, x)
  end)

  it("returns as soon as a socket becomes ready, before the timeout",
     function()
    local a, b = pair()
    local writer = spawn(function()
      socket.sleep(0.05)
      b:sendall("late")
    end)
    local t0 = now()
    local r = socket.select({ a }, nil, nil, 5)
    local took = now() - t0
    assert_items({ a }, r)
    assert.is_true(took >= 0.04 and took < 2, ("took %.3f s"):format(took))
    writer:join(5)
  end)

  it("waits without a timeout (nil) until a socket is ready", function()
    local a, b = pair()
    local writer = spawn(function()
      socket.sleep(0.05)
      b:sendall("now")
    end)
    local r, w, x = socket.select({ a }, nil, nil)
    assert_items({ a }, r)
    assert_items({}, w)
    assert_items({}, x)
    writer:join(5)
  end)

  it("reports writable sockets", function()
    local a, b = pair()
    local r, w = socket.select({ a, b }, { a, b }, nil, 1)
    assert_items({}, r, "readable")
    assert_items({ a, b }, w, "writable")
  end)

  it("does not report a socket whose send buffer is full as writable",
     function()
    local a = pair()
    a:settimeout(0)
    local chunk = ("z"):rep(65536)
    for _ = 1, 10000 do
      local ok = pcall(a.send, a, chunk)
      if not ok then break end
    end
    local _, w = socket.select(nil, { a }, nil, 0)
    assert_items({}, w, "writable")
  end)

  it("reports a listening socket with a pending connection as readable",
     function()
    local l, host, port = helpers.tcp_listener()
    local r = socket.select({ l }, nil, nil, 0)
    assert_items({}, r, "before the connect")
    local c = helpers.track(socket.socket())
    c:settimeout(helpers.TIMEOUT)
    c:connect(host, port)
    r = socket.select({ l }, nil, nil, 1)
    assert_items({ l }, r, "after the connect")
  end)

  it("reports end of stream as readable", function()
    local a, b = pair()
    b:close()
    local r = socket.select({ a }, nil, nil, 1)
    assert_items({ a }, r)
    assert.equal("", a:recv(10))
  end)

  it("reports TCP urgent data in the exceptional list", function()
    local c, conn = helpers.tcp_pair()
    c:send("!", socket.MSG_OOB)
    local _, _, x = socket.select(nil, nil, { conn, c }, 1)
    assert_items({ conn }, x, "exceptional")
  end)

  it("accepts integer descriptors and returns them as integers", function()
    local a, b = pair()
    local c = pair()
    b:sendall("x")
    local fa, fc = a:fileno(), c:fileno()
    local r, w = socket.select({ fa, fc }, { fc }, nil, 1)
    assert.same({ fa }, r)
    assert.equal("integer", math.type(r[1]))
    assert.same({ fc }, w)
  end)

  it("accepts makefile objects and returns the same objects", function()
    local a, b = pair()
    local fa = a:makefile("r")
    local fb = b:makefile("w")
    local r, w = socket.select({ fa }, { fb }, nil, 0)
    assert_items({}, r, "readable before the write")
    assert_items({ fb }, w, "writable")
    fb:write("line\n")
    fb:flush()
    r = socket.select({ fa }, nil, nil, 1)
    assert_items({ fa }, r, "readable after the write")
    assert.equal("line", fa:read("l"))
    fa:close()
    fb:close()
  end)

  it("mixes sockets, file objects and descriptors in one list", function()
    local a, b = pair()
    local c, d = pair()
    local e, f = pair()
    local fc = c:makefile("r")
    local fe = e:fileno()
    b:sendall("1")
    d:sendall("2")
    f:sendall("3")
    local r = socket.select({ a, fc, fe }, nil, nil, 1)
    assert.equal(3, #r)
    assert.is_true(rawequal(a, r[1]))
    assert.is_true(rawequal(fc, r[2]))
    assert.equal(fe, r[3])
    fc:close()
  end)

  it("treats nil lists as empty ones", function()
    local a = pair()
    local r, w, x = socket.select(nil, { a }, nil, 0)
    assert_items({}, r)
    assert_items({ a }, w)
    assert_items({}, x)
    r, w, x = socket.select(nil, nil, nil, 0)
    assert_items({}, r)
    assert_items({}, w)
    assert_items({}, x)
  end)

  it("handles more than 1,024 descriptors", function()
    local limit = fd_limit()
    local pairs_wanted = 600
    if limit and limit < 2 * pairs_wanted + 200 then
      pending(("ulimit -n is %d; 1,200 descriptors are needed"):format(limit))
      return
    end
    local left, right = {}, {}
    for i = 1, pairs_wanted do
      left[i], right[i] = pair()
    end
    local highest = 0
    for i = 1, pairs_wanted do
      highest = math.max(highest, left[i]:fileno(), right[i]:fileno())
    end
    assert.is_true(highest > 1024, "descriptors only reach " .. highest)
    -- Data on a few pairs, including the highest-numbered ones.
    local chosen = { 1, 300, pairs_wanted - 1, pairs_wanted }
    for _, i in ipairs(chosen) do right[i]:sendall("x") end
    local r, w = socket.select(left, nil, nil, 1)
    local want = {}
    for _, i in ipairs(chosen) do want[#want + 1] = left[i] end
    assert_items(want, r, "readable")
    assert_items({}, w)
    -- All 1,200 as writable, and as integers.
    local all = {}
    for i = 1, pairs_wanted do
      all[#all + 1] = left[i]:fileno()
      all[#all + 1] = right[i]:fileno()
    end
    local _, w2 = socket.select(nil, all, nil, 1)
    assert.equal(#all, #w2)
    assert.equal(all[#all], w2[#w2])
  end)

  it("inside a task suspends only that task", function()
    local a, b = pair()
    local r, took, ticks = helpers.wait_beside_ticker(
      function() return (socket.select({ a }, nil, nil, 5)) end,
      function() b:sendall("go") end)
    assert_items({ a }, r)
    assert.is_true(took >= 0.1 and took < 2, ("took %.3f s"):format(took))
    assert.is_true(ticks >= 5, "the ticker ran " .. ticks ..
                   " times while select waited")
  end)

  it("inside a task honours its timeout while other tasks run", function()
    local a = pair()
    local n, took, other = helpers.timeout_beside_task(function()
      local r, w, x = socket.select({ a }, nil, nil, 0.15)
      return #r + #w + #x
    end)
    assert.equal(0, n)
    assert.is_true(took >= 0.14 and took < 1.0, ("took %.3f s"):format(took))
    assert.equal("other", other)
  end)

  it("in the main code keeps tasks running while it waits", function()
    local a = pair()
    local c, d = pair()
    local echoer = spawn(function()
      local data = d:recv(10)
      d:sendall(data)
    end)
    local writer = spawn(function()
      c:sendall("ping")
    end)
    local r = socket.select({ c }, nil, nil, 5)
    assert_items({ c }, r)
    assert.equal("ping", c:recv(10))
    assert_items({}, (socket.select({ a }, nil, nil, 0)))
    writer:join(5)
    echoer:join(5)
  end)

  it("rejects a string in a list with an argument error", function()
    local a = pair()
    helpers.argerror("bad argument", socket.select, { a, "socket" }, nil,
                     nil, 0)
    helpers.argerror("bad argument", socket.select, nil, { "x" }, nil, 0)
    helpers.argerror("bad argument", socket.select, nil, nil, { {} }, 0)
  end)

  it("rejects a list that is not a table with an argument error", function()
    helpers.argerror("bad argument", socket.select, "abc", nil, nil, 0)
    helpers.argerror("bad argument", socket.select, nil, 5, nil, 0)
  end)

  it("rejects a negative or non-number timeout with an argument error",
     function()
    local a = pair()
    helpers.argerror("bad argument #4", socket.select, { a }, nil, nil, -1)
    helpers.argerror("bad argument #4", socket.select, { a }, nil, nil,
                     "soon")
    helpers.argerror("bad argument #4", socket.select, { a }, nil, nil,
                     0 / 0)
  end)

  it("raises an error for a closed socket or a negative descriptor",
     function()
    assert.is_function(socket.select)
    local a = pair()
    local c, d = pair()
    a:close()
    d:sendall("x") -- readiness elsewhere must not hide the bad entry
    local ok = pcall(socket.select, { c, a }, nil, nil, 0)
    assert.is_false(ok, "a closed socket in the list was accepted")
    ok = pcall(socket.select, nil, { a }, nil, 0)
    assert.is_false(ok)
    ok = pcall(socket.select, { -1 }, nil, nil, 0)
    assert.is_false(ok, "descriptor -1 was accepted")
  end)

  it("raises an error for a closed file object", function()
    assert.is_function(socket.select)
    local a = pair()
    local f = a:makefile("r")
    f:close()
    a:close()
    assert.is_false(pcall(socket.select, { f }, nil, nil, 0))
  end)

  it("leaves no registration behind for a descriptor closed elsewhere",
     function()
    -- A FIFO that io opens (read-write: no wait for a writer) and closes,
    -- lsock never knowing. select waits on its number through the loop;
    -- a socket that gets the same number next must still wake a task.
    local lfs = require "lfs"
    local path = helpers.unix_path("fifo")
    assert(os.execute("mkfifo " .. path))
    local f = assert(io.open(path, "r+"))
    local fd
    for name in lfs.dir("/proc/self/fd") do
      if lfs.symlinkattributes("/proc/self/fd/" .. name, "target") == path then
        fd = tonumber(name)
      end
    end
    assert.is_number(fd)
    local r = socket.select({ fd }, nil, nil, 0.05)
    assert.same({}, r)
    f:close()
    local a, b
    for _ = 1, 4 do -- the lowest free number, unless another one is free
      a, b = pair()
      if a:fileno() == fd or b:fileno() == fd then break end
    end
    if b:fileno() == fd then a, b = b, a end
    assert.equal(fd, a:fileno())
    a:settimeout(3)
    local got
    spawn(function() got = a:recv(1) end)
    spawn(function()
      socket.sleep(0.05)
      b:sendall("x")
    end)
    socket.run()
    assert.equal("x", got)
  end)
end)
