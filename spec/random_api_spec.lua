-- A randomized API spec (issue 5): a seeded generator makes 50,000 calls of
-- random methods, with arguments of random types and values, on sockets in
-- every state (new, bound, listening, connected, UDP, Unix, closed) and on
-- their file objects. Every call must return or raise a string or an lsock
-- error object, and once everything is closed the descriptor count is back
-- where it started. The seed is printed on failure (and on stderr at the
-- start); LSOCK_RANDOM_SEED=n repeats a run, LSOCK_RANDOM_CALLS=n changes
-- its length, LSOCK_RANDOM_STATS=1 prints how the calls ended.
--
-- Kept to loopback: hosts are literal addresses (a name would be looked
-- up); every socket is non-blocking between calls, so that no call waits
-- on a peer that never comes (a random settimeout lasts for its own call).

local socket = require "lsock"
local helpers = require "spec.helpers"

local CALLS = tonumber(os.getenv("LSOCK_RANDOM_CALLS")) or 50000
local stats = os.getenv("LSOCK_RANDOM_STATS") and {}
local SEED = tonumber(os.getenv("LSOCK_RANDOM_SEED")) or os.time()

local rnd -- math.random, seeded per run
local dir -- a private directory for the Unix paths of a run

local function pick(t) return t[rnd(#t)] end

-- Literal hosts only (lsock would look a name up). "<broadcast>" is a
-- name to AF_INET6, so it goes to AF_INET sockets only.
local HOSTS = { "127.0.0.1", "::1", "", "0.0.0.0", "::", "127.0.0.1\0x",
                "::ffff:127.0.0.1" }
local INTS = { 0, 1, -1, 2, 3, 8, 255, 1024, 65535, 65536, 1 << 31,
               math.maxinteger, math.mininteger, 2 ^ 40, 0.5, 1e300,
               0 / 0, math.huge, -math.huge }
-- Methods that take a host: on an AF_INET/AF_INET6 socket they only get
-- plausible arguments, as a random number or string in the host's place
-- would be looked up as a name ("1e+300", "nan").
local TAKES_HOST = { bind = true, connect = true, connect_ex = true,
                     sendto = true }
local FORMATS = { "l", "L", "a", "n", "*l", "*a", 0, 1, 5, 100, 70000, -1,
                  "x", 2 ^ 40 }

-- Data for send and write: anything.
local function randdata()
  local k = rnd(5)
  if k == 1 then return "" end
  if k == 2 then return "a\0b" end
  if k == 3 then return ("z"):rep(rnd(8) == 1 and rnd(70000) or rnd(2000)) end
  if k == 4 then return "line\n12 0x1F\n" end
  return ("%d\n"):format(rnd(1000))
end

-- A Unix path: in this run's directory, or abstract.
local function randpath()
  if rnd(2) == 1 then return dir .. rnd(1000) end
  return "\0lsock-random-" .. rnd(1000)
end

-- A string that is safe anywhere, a host argument included: no name
-- lookup can come of it (a zero byte is refused, a 300-byte label is
-- never sent to a resolver).
local function randstring()
  local k = rnd(4)
  if k == 1 then return "" end
  if k == 2 then return "a\0b" end
  if k == 3 then return ("z"):rep(rnd(300, 2000)) end
  return "\0lsock-random-" .. rnd(1000)
end

-- Any value at all, sockets and files included.
local function randvalue(pool)
  local k = rnd(9)
  if k == 1 then return nil end
  if k == 2 then return rnd(2) == 1 end
  if k == 3 then return pick(INTS) end
  if k == 4 then return randstring() end
  if k == 5 then return {} end
  if k == 6 then return print end
  if k == 7 then return pick(HOSTS) end
  if k == 8 and #pool > 0 then return pick(pool) end
  return rnd(-5, 70000)
end

-- Plausible arguments for a socket method, often enough to get past the
-- argument checks into the system calls.
local function plausible(name, s)
  local port = rnd(3) == 1 and 0 or rnd(1, 65535)
  local unix = s.family == socket.AF_UNIX
  local host = pick(HOSTS)
  if s.family == socket.AF_INET and rnd(8) == 1 then host = "<broadcast>" end
  if name == "bind" or name == "connect" or name == "connect_ex" then
    if unix then return { randpath() } end
    return { host, port }
  elseif name == "sendto" then
    if unix then return { randdata(), randpath() } end
    return { randdata(), host, port }
  elseif name == "recv" or name == "recvfrom" then
    return { pick(INTS), rnd(3) == 1 and socket.MSG_PEEK or nil }
  elseif name == "send" or name == "sendall" then
    return { randdata() }
  elseif name == "setsockopt" then
    return { socket.SOL_SOCKET, pick { socket.SO_REUSEADDR, socket.SO_RCVBUF,
             socket.SO_LINGER, socket.SO_KEEPALIVE, 9999 },
             pick { 1, 0, true, string.pack("ii", 1, 0), ("x"):rep(100) } }
  elseif name == "getsockopt" then
    return { socket.SOL_SOCKET, pick { socket.SO_TYPE, socket.SO_ERROR,
             socket.SO_LINGER, 9999 }, rnd(2) == 1 and rnd(0, 2000) or nil }
  elseif name == "settimeout" then
    return { pick { nil, 0, 0.001, -1, 0 / 0, math.huge } }
  elseif name == "setblocking" then
    return { pick { true, false, 0, 1 } }
  elseif name == "listen" then
    return { pick { nil, 0, 5, -1, 1 << 40 } }
  elseif name == "shutdown" then
    return { pick { socket.SHUT_RD, socket.SHUT_WR, socket.SHUT_RDWR, 7 } }
  elseif name == "makefile" then
    return { pick { "r", "w", "rw", "rb", "x" }, pick { nil, 0, 1, 3, -5 } }
  end
  return {}
end

local SOCKET_METHODS = { "accept", "bind", "close", "connect", "connect_ex",
  "dup", "fileno", "getblocking", "getpeername", "getsockname",
  "getsockopt", "gettimeout", "listen", "makefile", "recv", "recvfrom",
  "send", "sendall", "sendto", "setblocking", "setsockopt", "settimeout",
  "shutdown", "__tostring", "__index" }
local FILE_METHODS = { "read", "write", "lines", "flush", "close", "setvbuf",
  "seek", "__tostring" }

local function file_args(name)
  if name == "read" or name == "lines" then
    local t = {}
    for i = 1, rnd(0, 3) do t[i] = pick(FORMATS) end
    return t
  elseif name == "write" then
    return { randdata(), rnd(100) }
  elseif name == "setvbuf" then
    return { pick { "no", "full", "line", "bad" }, pick { nil, 1, 4096, 0 } }
  end
  return {}
end

-- Sockets in every state: each maker returns one.
local MAKERS = {
  function() return socket.socket() end,
  function()
    local u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u:bind("127.0.0.1", 0)
    return u
  end,
  function()
    local l = socket.socket()
    l:bind("127.0.0.1", 0)
    l:listen()
    return l
  end,
  function(pool) -- a connected pair, through a listener
    local l = socket.socket()
    l:bind("127.0.0.1", 0)
    l:listen()
    local c = socket.socket()
    c:connect(l:getsockname())
    pool[#pool + 1] = l:accept()
    l:close()
    return c
  end,
  function(pool)
    if not socket.socketpair then return socket.socket() end
    local a, b = socket.socketpair()
    pool[#pool + 1] = b
    return a
  end,
  function() return socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) end,
  function()
    if helpers.has_ipv6() then return socket.socket(socket.AF_INET6) end
    return socket.socket(socket.AF_UNIX)
  end,
  function()
    local s = socket.socket()
    s:close()
    return s
  end,
}

-- Keeps at least 8 open sockets in the pool and no more than 40 entries,
-- dropping closed sockets and files first.
local function replenish(pool, files)
  local open = 0
  for i = #pool, 1, -1 do
    if pool[i]:fileno() >= 0 then
      open = open + 1
    elseif #pool > 40 then
      table.remove(pool, i)
    end
  end
  while open < 8 do
    pool[#pool + 1] = pick(MAKERS)(pool)
    open = open + 1
  end
  for i = #pool, 1, -1 do
    if #pool <= 60 then break end
    pcall(pool[i].close, pool[i])
    table.remove(pool, i)
  end
  for i = #files, 1, -1 do
    if tostring(files[i]):find("closed") then table.remove(files, i) end
  end
  for _, s in ipairs(pool) do pcall(s.settimeout, s, 0) end
end

local function check_error(ok, e, what)
  if ok then return end
  local t = type(e)
  if t == "string" then return end
  if getmetatable(e) == socket.error then
    assert(type(e.name) == "string" and type(e.op) == "string" and
           math.type(e.errno) == "integer", what .. ": malformed error " ..
           tostring(e))
    return
  end
  error(what .. ": raised a " .. t .. ": " .. tostring(e))
end

describe("the API under random calls", function()
  after_each(helpers.cleanup)

  it(("survives %d random calls (seed %d)"):format(CALLS, SEED), function()
    io.stderr:write(("random_api: seed %d (LSOCK_RANDOM_SEED=%d repeats " ..
                     "it)\n"):format(SEED, SEED))
    math.randomseed(SEED)
    rnd = math.random
    dir = helpers.unix_path("") -- removed by helpers.cleanup
    collectgarbage()
    collectgarbage()
    local before = helpers.fd_count()
    local sockets, files = {}, {}
    local ok, err = pcall(function()
      local t0 = helpers.now()
      for i = 1, CALLS do
        if i % 16 == 1 then replenish(sockets, files) end
        local on_file = #files > 0 and rnd(4) == 1
        local obj = on_file and pick(files) or pick(sockets)
        local name = pick(on_file and FILE_METHODS or SOCKET_METHODS)
        local args
        if rnd(4) == 1 and not (TAKES_HOST[name] and not on_file and
                                obj.family ~= socket.AF_UNIX) then
          -- anything at all
          args = {}
          for j = 1, rnd(0, 4) do args[j] = randvalue(sockets) end
          -- A Unix address that is a plain string or number would be a
          -- path relative to the working directory: keep it in ours.
          local at = name == "sendto" and 2 or 1
          local v = args[at]
          if TAKES_HOST[name] and not on_file and
             (type(v) == "string" or type(v) == "number") then
            args[at] = dir .. tostring(v)
          end
        else
          args = on_file and file_args(name) or plausible(name, obj)
        end
        local what = ("call %d: %s:%s"):format(i, tostring(obj), name)
        local r
        if name == "__tostring" then
          r = table.pack(pcall(tostring, obj))
        elseif name == "__index" then
          r = table.pack(pcall(function() return obj[args[1]] end))
        else
          local m = obj[name]
          r = table.pack(pcall(m, obj, table.unpack(args, 1, 4)))
          if r[1] and name == "lines" then -- run the iterator once
            r = table.pack(pcall(r[2]))
          end
        end
        check_error(r[1], r[2], what)
        if stats then
          local key = name .. " " .. (r[1] and "ok" or
            (type(r[2]) == "string" and "argerror" or r[2].name))
          stats[key] = (stats[key] or 0) + 1
        end
        -- Keep what the call made; no socket stays blocking.
        for j = 2, r.n do
          local v = r[j]
          local mt = getmetatable(v)
          if type(v) == "userdata" and mt and mt.__index and
             rawget(mt, "__name") == "lsock.socket" then
            sockets[#sockets + 1] = v
          elseif type(v) == "userdata" and mt and
                 rawget(mt, "__name") == "lsock.file" then
            files[#files + 1] = v
          end
        end
        if not on_file then pcall(obj.settimeout, obj, 0) end
        for j = 2, r.n do -- new sockets too
          if rawequal(sockets[#sockets], r[j]) then
            pcall(r[j].settimeout, r[j], 0)
          end
        end
        if helpers.now() - t0 > 300 then
          error("too slow: " .. i .. " calls in 300 s")
        end
      end
    end)
    for i = #files, 1, -1 do pcall(files[i].close, files[i]) end
    for i = #sockets, 1, -1 do
      pcall(sockets[i].settimeout, sockets[i], 0)
      pcall(sockets[i].close, sockets[i])
    end
    files, sockets = nil, nil
    collectgarbage()
    collectgarbage()
    if stats then
      local keys = {}
      for k, n in pairs(stats) do keys[#keys + 1] = ("%6d %s"):format(n, k) end
      table.sort(keys)
      io.stderr:write(table.concat(keys, "\n"), "\n")
    end
    assert(ok, ("seed %d: %s"):format(SEED, tostring(err)))
    assert.equal(before, helpers.fd_count(),
                 ("seed %d: descriptors left open"):format(SEED))
  end)
end)
