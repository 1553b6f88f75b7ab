-- Shared setup for the lsock specs: loopback socket pairs, temporary Unix
-- socket paths, descriptor counting and small assertion helpers.
-- Every socket and path made here is tracked and released by
-- helpers.cleanup(), which specs call from after_each.

local socket = require "lsock"
local lfs = require "lfs"

local helpers = {}

-- Generous per-operation timeout for sockets made here, so that a broken
-- implementation fails a spec instead of hanging the run.
helpers.TIMEOUT = 5

local tracked = {} -- sockets to close in cleanup
local dirs = {}    -- temporary directories holding Unix socket paths

-- Remembers sockets for cleanup(); returns them unchanged.
function helpers.track(...)
  for i = 1, select("#", ...) do
    local s = select(i, ...)
    if s ~= nil then tracked[#tracked + 1] = s end
  end
  return ...
end

local function rmtree(dir)
  local ok, iter, state = pcall(lfs.dir, dir)
  if ok then
    for name in iter, state do
      if name ~= "." and name ~= ".." then os.remove(dir .. "/" .. name) end
    end
  end
  lfs.rmdir(dir)
end

-- Closes every tracked socket, removes every temporary path and restores
-- the module default timeout.
function helpers.cleanup()
  for i = #tracked, 1, -1 do
    pcall(tracked[i].close, tracked[i])
    tracked[i] = nil
  end
  for i = #dirs, 1, -1 do
    rmtree(dirs[i])
    dirs[i] = nil
  end
  pcall(socket.setdefaulttimeout, nil)
end

-- A fresh path for a Unix socket, in a new private directory derived from
-- os.tmpname(); the directory goes away in cleanup().
function helpers.unix_path(name)
  local t = os.tmpname()
  os.remove(t)
  local dir = t .. ".d"
  assert(lfs.mkdir(dir))
  dirs[#dirs + 1] = dir
  return dir .. "/" .. (name or "sock")
end

local counter = 0
-- A name in the Linux abstract namespace ("\0..."), unique to this run.
function helpers.abstract_name()
  counter = counter + 1
  local t = os.tmpname()
  os.remove(t)
  return "\0lsock-spec-" .. t:match("[^/]*$") .. "-" .. counter
end

-- The number of descriptors this process has open, from /proc/self/fd.
-- (The directory stream lfs opens shows up too, the same way every time.)
function helpers.fd_count()
  local n = 0
  for name in lfs.dir("/proc/self/fd") do
    if name ~= "." and name ~= ".." then n = n + 1 end
  end
  return n
end

-- True when descriptor number fd is open in this process.
function helpers.fd_open(fd)
  return lfs.symlinkattributes("/proc/self/fd/" .. fd) ~= nil
end

local ipv6
-- True when an IPv6 socket can be bound to ::1.
function helpers.has_ipv6()
  if ipv6 == nil then
    local ok, s = pcall(socket.socket, socket.AF_INET6, socket.SOCK_STREAM)
    ipv6 = false
    if ok then
      ipv6 = pcall(s.bind, s, "::1", 0)
      s:close()
    end
  end
  return ipv6
end

-- Seconds from the module's monotonic clock (module_spec checks it).
function helpers.now()
  return socket.monotonic()
end

-- A port on 127.0.0.1 that nothing listens on: bound, read back, closed.
function helpers.free_port()
  local s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
  s:bind("127.0.0.1", 0)
  local _, port = s:getsockname()
  s:close()
  return port
end

-- A listening TCP socket on the loopback address of `family`.
-- Returns listener, host, port.
function helpers.tcp_listener(family)
  family = family or socket.AF_INET
  local host = family == socket.AF_INET6 and "::1" or "127.0.0.1"
  local l = helpers.track(socket.socket(family, socket.SOCK_STREAM))
  l:settimeout(helpers.TIMEOUT)
  l:bind(host, 0)
  l:listen()
  local _, port = l:getsockname()
  return l, host, port
end

-- A connected TCP pair over loopback (AF_INET by default, or AF_INET6).
-- Returns client, server-side conn, listener; all with a timeout.
function helpers.tcp_pair(family)
  local l, host, port = helpers.tcp_listener(family)
  local c = helpers.track(socket.socket(family or socket.AF_INET,
                                        socket.SOCK_STREAM))
  c:settimeout(helpers.TIMEOUT)
  c:connect(host, port)
  local conn = helpers.track((l:accept()))
  conn:settimeout(helpers.TIMEOUT)
  return c, conn, l
end

-- A connected Unix stream pair through a temporary path.
-- Returns client, server-side conn, listener, path.
function helpers.unix_pair(path)
  path = path or helpers.unix_path()
  local l = helpers.track(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
  l:settimeout(helpers.TIMEOUT)
  l:bind(path)
  l:listen()
  local c = helpers.track(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
  c:settimeout(helpers.TIMEOUT)
  c:connect(path)
  local conn = helpers.track((l:accept()))
  conn:settimeout(helpers.TIMEOUT)
  return c, conn, l, path
end

-- Two UDP sockets bound to 127.0.0.1. Returns a, b, a's port, b's port.
function helpers.udp_pair()
  local a = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
  local b = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
  a:settimeout(helpers.TIMEOUT)
  b:settimeout(helpers.TIMEOUT)
  a:bind("127.0.0.1", 0)
  b:bind("127.0.0.1", 0)
  local _, pa = a:getsockname()
  local _, pb = b:getsockname()
  return a, b, pa, pb
end

-- Receives exactly n bytes from a stream socket (bounded by n calls and by
-- the socket's own timeout); fewer only if the stream ends.
function helpers.recv_exactly(s, n)
  local parts, got = {}, 0
  for _ = 1, n + 1 do
    if got >= n then break end
    local chunk = s:recv(n - got)
    if chunk == "" then break end
    parts[#parts + 1] = chunk
    got = got + #chunk
  end
  return table.concat(parts)
end

-- Runs f(...) expecting it to fail; returns the error value.
function helpers.fails(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected an error, the call succeeded")
  return e
end

-- Runs f expecting an lsock error object; checks its name (and op when
-- given) and returns it.
function helpers.sockerr(name, op, f, ...)
  local e = helpers.fails(f, ...)
  assert(getmetatable(e) == socket.error,
         "expected an lsock error object, got " .. type(e) .. ": " ..
         tostring(e))
  assert(e.name == name, ("expected error %s, got %s (%s)"):format(
         name, tostring(e.name), tostring(e)))
  if op then
    assert(e.op == op, ("expected op %q, got %q"):format(op, tostring(e.op)))
  end
  return e
end

-- Runs f expecting an ordinary Lua argument error whose message contains
-- `fragment` (plain text). Returns the message.
function helpers.argerror(fragment, f, ...)
  local e = helpers.fails(f, ...)
  assert(type(e) == "string",
         "expected an argument error (a string), got " .. type(e) .. ": " ..
         tostring(e))
  assert(e:find(fragment, 1, true),
         ("expected %q in the message, got %q"):format(fragment, e))
  return e
end

-- Tasks: every task a spec spawns through helpers.spawn, so that
-- helpers.settle can wait for leftovers (bounded) and no failure leaks into
-- the next spec.
local spawned = {}

-- Adds a task spawned some other way to those helpers.settle collects.
function helpers.keep_task(t)
  spawned[#spawned + 1] = t
  return t
end

function helpers.spawn(fn, ...)
  return helpers.keep_task(socket.spawn(fn, ...))
end

-- Closes the tracked sockets (which wakes any task still waiting on them
-- with EBADF), then collects every task spawned through helpers.spawn:
-- each join is bounded, and a failure is swallowed here because the spec
-- already made its assertions.
function helpers.settle()
  helpers.cleanup()
  for i = #spawned, 1, -1 do
    pcall(spawned[i].join, spawned[i], 5)
    spawned[i] = nil
  end
end

-- For "suspends only that task": runs wait() in a task beside a ticker
-- task (every 10 ms) and a task that calls trigger() after 0.15 s. Returns
-- wait's first result, the seconds wait took and how often the ticker ran
-- meanwhile.
function helpers.wait_beside_ticker(wait, trigger)
  local ticks, stop = 0, false
  local ticker = helpers.spawn(function()
    for _ = 1, 500 do
      if stop then return end
      ticks = ticks + 1
      socket.sleep(0.01)
    end
  end)
  local waiter = helpers.spawn(function()
    local t0 = socket.monotonic()
    local r = wait()
    return r, socket.monotonic() - t0, ticks
  end)
  local writer = helpers.spawn(function()
    socket.sleep(0.15)
    trigger()
  end)
  local r, took, ticks_then = waiter:join(5)
  stop = true
  writer:join(5)
  ticker:join(5)
  return r, took, ticks_then
end

-- For "honours its timeout while other tasks run": runs wait() (which
-- should time out after 0.15 s and return a count of what was ready) in a
-- task beside one that sleeps 0.05 s. Returns the count, the seconds wait
-- took and the other task's result.
function helpers.timeout_beside_task(wait)
  local other = helpers.spawn(function()
    socket.sleep(0.05)
    return "other"
  end)
  local t = helpers.spawn(function()
    local t0 = socket.monotonic()
    local n = wait()
    return n, socket.monotonic() - t0
  end)
  local n, took = t:join(5)
  return n, took, other:join(5)
end

-- A socketpair with the generous timeout, tracked for cleanup.
function helpers.pair()
  local a, b = helpers.track(socket.socketpair())
  a:settimeout(helpers.TIMEOUT)
  b:settimeout(helpers.TIMEOUT)
  return a, b
end

return helpers
