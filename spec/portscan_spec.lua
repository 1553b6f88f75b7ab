-- scripts/portscan.lua, run as a child process by $LSOCK_BIN (the lsock
-- interpreter) against listeners this spec opens on 127.0.0.1: the open
-- ports it reports, its speed over 1,000 ports, --help and bad arguments.

local socket = require "lsock"
local helpers = require "spec.helpers"

local BIN = os.getenv("LSOCK_BIN")

-- scripts/portscan.lua, found from this spec file's own path.
local SCRIPT = (function()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/[^/]*$") or "."
  return dir .. "/../scripts/portscan.lua"
end)()

local temps = {}

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(name)
  local f = assert(io.open(name, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- Runs `interp SCRIPT args...` with stdin from /dev/null. Returns stdout,
-- stderr, exit status and the wall time in seconds.
local function run_with(interp, args, env)
  local errfile = os.tmpname()
  temps[#temps + 1] = errfile
  local words = { "env", "-u", "LUA_INIT", "-u", "LUA_INIT_5_4" }
  for _, e in ipairs(env or {}) do words[#words + 1] = quote(e) end
  words[#words + 1] = quote(interp)
  words[#words + 1] = quote(SCRIPT)
  for _, a in ipairs(args) do words[#words + 1] = quote(a) end
  local cmd = table.concat(words, " ") .. " </dev/null 2>" .. quote(errfile)
  local t0 = helpers.now()
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  local _, how, code = p:close()
  local wall = helpers.now() - t0
  assert(how == "exit", "portscan died by signal " .. tostring(code))
  return out, slurp(errfile), code, wall
end

local function run(args)
  assert(BIN and BIN ~= "",
         "LSOCK_BIN is needed: set it to the lsock interpreter to test")
  return run_with(BIN, args)
end

-- The ports reported open, as a set, and the count of "open" lines.
local function open_ports(out)
  local set, n = {}, 0
  for port in out:gmatch("(%d+) open\n") do
    set[tonumber(port)] = true
    n = n + 1
  end
  return set, n
end

-- The summary line's numbers: scanned, open, seconds.
local function summary(out)
  local scanned, open, secs = out:match(
    "scanned (%d+) ports on [^\n]*: (%d+) open in ([%d.]+) s\n$")
  return tonumber(scanned), tonumber(open), tonumber(secs)
end

-- Three listening sockets on 127.0.0.1 whose kernel-chosen ports lie
-- within 1,000 of each other, and a 1,000-port window [lo, hi] certain to
-- hold them. Binds port 0 repeatedly (bounded) until three ports fit in
-- one window; the other sockets are closed, so their ports are closed.
-- With `quiet` true the middle socket stays bound but does not listen:
-- its port is certain to refuse connections.
local function listeners_in_window(quiet)
  local bound = {}
  local chosen
  for _ = 1, 400 do
    local s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s:bind("127.0.0.1", 0)
    local _, port = s:getsockname()
    bound[#bound + 1] = { sock = s, port = port }
    table.sort(bound, function(a, b) return a.port < b.port end)
    for i = 1, #bound - 2 do
      if bound[i + 2].port - bound[i].port <= 999 then
        chosen = { bound[i], bound[i + 1], bound[i + 2] }
        break
      end
    end
    if chosen then break end
  end
  local keep = {}
  for _, b in ipairs(chosen or {}) do keep[b.sock] = true end
  for _, b in ipairs(bound) do
    if not keep[b.sock] then b.sock:close() end
  end
  assert(chosen, "no three of 400 kernel-chosen ports lie within 1,000")
  local ports = {}
  for i, b in ipairs(chosen) do
    helpers.track(b.sock)
    if not (quiet and i == 2) then b.sock:listen() end
    ports[i] = b.port
  end
  local lo = ports[1] - (999 - (ports[3] - ports[1])) // 2
  lo = math.max(1, math.min(lo, 65535 - 999))
  local hi = lo + 999
  assert(lo <= ports[1] and ports[3] <= hi, "window does not hold the ports")
  return ports, lo, hi
end

describe("scripts/portscan.lua", function()
  after_each(function()
    helpers.cleanup()
    for i = #temps, 1, -1 do
      os.remove(temps[i])
      temps[i] = nil
    end
  end)

  it("reports the listening ports of a 1,000-port scan in well under " ..
     "2 s", function()
    local ports, lo, hi = listeners_in_window()
    local out, err, code, wall = run({ "127.0.0.1", lo .. "-" .. hi })
    assert.equal("", err)
    assert.equal(0, code)
    local open, lines = open_ports(out)
    for _, p in ipairs(ports) do
      assert.is_true(open[p] == true, ("port %d not reported open:\n%s")
                     :format(p, out))
    end
    for p in pairs(open) do
      assert.is_true(p >= lo and p <= hi, "reported a port out of range: " ..
                     p)
    end
    local scanned, nopen, secs = summary(out)
    assert.is_not_nil(scanned, "no summary line:\n" .. out)
    assert.equal(1000, scanned)
    assert.equal(lines, nopen)
    assert.is_true(secs < 2, ("the scan says it took %.3f s"):format(secs))
    assert.is_true(wall < 2, ("the scan took %.3f s"):format(wall))
  end)

  it("does not report a closed port, one at a time or many at once",
     function()
    local ports, lo, hi = listeners_in_window(true)
    -- Narrow the window to the three ports, with a margin.
    lo, hi = math.max(1, ports[1] - 2), math.min(65535, ports[3] + 2)
    for _, conc in ipairs({ "--concurrency=1", "--concurrency=64" }) do
      local out, err, code = run({ "127.0.0.1", lo .. "-" .. hi, conc,
                                   "--timeout", "0.5" })
      assert.equal("", err)
      assert.equal(0, code)
      local open = open_ports(out)
      assert.is_true(open[ports[1]], "listener not reported with " .. conc)
      assert.is_true(open[ports[3]], "listener not reported with " .. conc)
      assert.is_nil(open[ports[2]], "closed port reported with " .. conc)
      assert.equal(hi - lo + 1, (summary(out)))
    end
  end)

  it("prints its usage with --help and exits 0", function()
    local out, err, code = run({ "--help" })
    assert.equal(0, code)
    assert.equal("", err)
    assert.is_truthy(out:find("usage:", 1, true), out)
    assert.is_truthy(out:find("--concurrency", 1, true), out)
    assert.is_truthy(out:find("--timeout", 1, true), out)
  end)

  local bad = {
    { "no arguments", {} },
    { "a missing range", { "127.0.0.1" } },
    { "a range that is not FROM-TO", { "127.0.0.1", "a-b" } },
    { "a range that runs backwards", { "127.0.0.1", "200-100" } },
    { "port 0", { "127.0.0.1", "0-10" } },
    { "a port above 65535", { "127.0.0.1", "1-70000" } },
    { "a concurrency of 0", { "127.0.0.1", "1-2", "--concurrency", "0" } },
    { "a fractional concurrency",
      { "127.0.0.1", "1-2", "--concurrency", "1.5" } },
    { "a negative timeout", { "127.0.0.1", "1-2", "--timeout", "-1" } },
    { "a timeout that is no number", { "127.0.0.1", "1-2", "--timeout=x" } },
    { "an option without its value", { "127.0.0.1", "1-2", "--timeout" } },
    { "an unknown option", { "127.0.0.1", "1-2", "--fast" } },
    { "an extra argument", { "127.0.0.1", "1-2", "3" } },
  }
  for _, case in ipairs(bad) do
    it("exits non-zero with a one-line error on " .. case[1], function()
      local out, err, code = run(case[2])
      assert.is_true(code ~= 0, "exit status 0 for " .. case[1])
      assert.equal("", out)
      assert.is_truthy(err:match("^portscan: [^\n]+\n$"),
                       "not one error line: " .. err)
    end)
  end

  it("runs unchanged under stock lua5.4 with lsock.so", function()
    local dir = BIN and BIN:match("^(.*)/[^/]*$")
    local so = dir and dir .. "/lsock.so"
    local f = so and io.open(so, "rb")
    local p = io.popen("command -v lua5.4 2>/dev/null")
    local lua = p:read("l")
    p:close()
    if not f or not lua then
      pending("needs lua5.4 on PATH and lsock.so next to LSOCK_BIN")
      return
    end
    f:close()
    -- A sanitizer build's lsock.so cannot load into an uninstrumented
    -- lua5.4: skip rather than fail there.
    local probe = io.popen(("env LUA_CPATH=%s %s -e %s 2>&1"):format(
      quote(dir .. "/?.so;;"), quote(lua), quote('require "lsock"')))
    local probe_out = probe:read("a")
    local loads = probe:close()
    if not loads then
      pending("lua5.4 cannot load " .. so .. ": " ..
              (probe_out:match("[^\n]*") or ""))
      return
    end
    local l, _, port = helpers.tcp_listener()
    local out, err, code = run_with(lua, { "127.0.0.1",
      (port - 3) .. "-" .. (port + 3) }, { "LUA_CPATH=" .. dir .. "/?.so;;" })
    assert.equal("", err)
    assert.equal(0, code)
    assert.is_true(open_ports(out)[port] == true, out)
    assert.equal(7, (summary(out)))
    l:close()
  end)
end)
