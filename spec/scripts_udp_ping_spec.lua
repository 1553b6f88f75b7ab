-- Runs scripts/udp_ping.lua as a process ($LSOCK_BIN) against real peers on
-- loopback. Every process started here is killed in after_each, every wait
-- is bounded, every port comes from port 0.
local socket = require "lsock"

local BIN = os.getenv("LSOCK_BIN")
local SPEC_DIR = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local SCRIPT = SPEC_DIR .. "/../scripts/udp_ping.lua"

local procs, temps = {}, {}

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function need(tool)
  local ok = os.execute("command -v " .. tool .. " >/dev/null 2>&1")
  assert(ok, tool .. " is needed for this spec (sh setup.sh installs it)")
end

local function bin()
  assert(BIN and BIN ~= "", "LSOCK_BIN must name the lsock interpreter")
  return q(BIN) .. " " .. q(SCRIPT)
end

-- A new private directory, removed in after_each.
local function tmpdir()
  local t = os.tmpname()
  os.remove(t)
  assert(os.execute("mkdir -m 700 " .. q(t)))
  temps[#temps + 1] = t
  return t
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

local function spit(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- Starts `cmd` (a shell command) in the background under timeout(1), which
-- signals the command's whole process group when killed; stdout
-- and stderr to files, stdin from opts.stdin (else /dev/null); returns
-- { pid =, out =, err = }.
local function start(cmd, dir, name, opts)
  opts = opts or {}
  local p = { out = dir .. "/" .. name .. ".out", err = dir .. "/" .. name .. ".err" }
  local h = assert(io.popen(("timeout %d sh -c %s >%s 2>%s <%s & echo $!"):format(
    opts.limit or 60, q(cmd), q(p.out), q(p.err), q(opts.stdin or "/dev/null"))))
  p.pid = assert(tonumber(h:read("l")), "no pid")
  h:close()
  procs[#procs + 1] = p
  return p
end

-- Polls file until its text matches pattern (bounded by secs); returns the
-- captures, or fails showing the file.
local function wait_for(path, pattern, secs, also)
  local deadline = socket.monotonic() + (secs or 10)
  local text
  for _ = 1, 100000 do
    text = slurp(path)
    local c = { text:match(pattern) }
    if #c > 0 then return table.unpack(c) end
    if socket.monotonic() > deadline then break end
    socket.sleep(0.02)
  end
  error(("timed out waiting for %q in %s:\n%s%s"):format(pattern, path, text,
        also and ("\n--- " .. also .. ":\n" .. slurp(also)) or ""), 2)
end

-- The port a server printed on its first line ("listening on HOST:PORT").
local function port_of(p, secs)
  local port = wait_for(p.out, "^listening on [^\n]*:(%d+)\n", secs or 10, p.err)
  return tonumber(port)
end

-- Runs cmd to completion (bounded by timeout(1)), stdin from opts.stdin
-- (else /dev/null); returns stdout, exit status, stderr.
local function run(cmd, dir, opts)
  opts = opts or {}
  local err = dir .. "/run.err"
  local h = assert(io.popen(("timeout %d sh -c %s 2>%s <%s"):format(opts.limit or 30,
    q(cmd), q(err), q(opts.stdin or "/dev/null"))))
  local out = h:read("a")
  local _, how, code = h:close()
  assert(how == "exit", "killed by signal " .. tostring(code))
  return out, code, slurp(err)
end

local function cleanup()
  for i = #procs, 1, -1 do
    os.execute("kill " .. procs[i].pid .. " 2>/dev/null")
    procs[i] = nil
  end
  for i = #temps, 1, -1 do
    os.execute("rm -rf " .. q(temps[i]))
    temps[i] = nil
  end
end

-- n pseudo-random bytes (fixed seed: failures reproduce).
local function blob(n, seed)
  math.randomseed(seed or 42)
  local parts = {}
  for i = 1, n // 4096 + 1 do
    local t = {}
    for j = 1, 1024 do t[j] = math.random(0, 0xffffffff) end
    parts[i] = string.pack(("<I4"):rep(1024), table.unpack(t))
  end
  return table.concat(parts):sub(1, n)
end

-- A python3 UDP echo server that drops every Nth datagram (N = argv[1], 0
-- drops none).
local PY_UDP_ECHO = [[
import socket, sys
drop = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
n = 0
while True:
    data, addr = s.recvfrom(65536)
    n += 1
    if drop and n % drop == 0:
        continue
    s.sendto(data, addr)
]]

local function py_echo(dir, drop)
  need("python3")
  spit(dir .. "/echo.py", PY_UDP_ECHO)
  local py = start(("python3 %s %d"):format(q(dir .. "/echo.py"), drop), dir, "py" .. drop)
  return port_of(py, 15)
end

describe("scripts/udp_ping.lua", function()
  after_each(cleanup)

  it("prints its usage with --help and rejects bad arguments", function()
    local dir = tmpdir()
    local out, code = run(bin() .. " --help", dir)
    assert.equal(0, code)
    assert.matches("usage: udp_ping.lua", out)
    local _, code2, err = run(bin() .. " -c 0 127.0.0.1 7", dir)
    assert.equal(2, code2)
    assert.matches("^udp_ping.lua: [^\n]+\n$", err)
  end)

  it("measures round trips to python3's echo server", function()
    local dir = tmpdir()
    local port = py_echo(dir, 0)
    local out, code, err = run(bin() .. " -c 8 -i 0.02 127.0.0.1 " .. port, dir)
    assert.equal(0, code, err)
    local replies = 0
    for seq in out:gmatch("64 bytes from 127%.0%.0%.1:%d+: seq=(%d+) time=[%d.]+ ms\n") do
      replies = replies + 1
      assert.equal(replies, tonumber(seq))
    end
    assert.equal(8, replies)
    assert.matches("\n8 sent, 8 received, 0%.0%% loss\n", out)
    local mn, avg, mx = out:match("rtt min/avg/max = ([%d.]+)/([%d.]+)/([%d.]+) ms\n")
    assert.is_truthy(mn, out)
    assert.is_true(tonumber(mn) <= tonumber(avg) and tonumber(avg) <= tonumber(mx))
    local p50, p90, p99 = out:match("rtt p50/p90/p99 = ([%d.]+)/([%d.]+)/([%d.]+) ms\n")
    assert.is_truthy(p50, out)
    assert.is_true(tonumber(mn) <= tonumber(p50) and tonumber(p50) <= tonumber(p90) and
                   tonumber(p90) <= tonumber(p99) and tonumber(p99) <= tonumber(mx))
  end)

  it("reports the loss when the server drops datagrams", function()
    local dir = tmpdir()
    local port = py_echo(dir, 4) -- every 4th datagram vanishes
    local out, code, err = run(bin() .. " -q -c 20 -i 0.005 -t 0.5 -s 200 127.0.0.1 " .. port, dir)
    assert.equal(0, code, err)
    assert.is_nil(out:find("seq=", 1, true)) -- -q: the summary only
    assert.matches("20 sent, 15 received, 25%.0%% loss\n", out)
  end)

  it("measures round trips to echo.lua --udp", function()
    local dir = tmpdir()
    local echo = start(q(BIN) .. " " .. q(SPEC_DIR .. "/../scripts/echo.lua") ..
                       " --listen --udp -q 0", dir, "echo")
    local port = port_of(echo)
    local out, code, err = run(bin() .. " -q -c 5 -i 0.01 127.0.0.1 " .. port, dir)
    assert.equal(0, code, err)
    assert.matches("5 sent, 5 received, 0%.0%% loss\n", out)
  end)

  it("exits 1 with one line when nothing answers", function()
    local dir = tmpdir()
    local s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s:bind("127.0.0.1", 0)
    local _, port = s:getsockname()
    s:close()
    local out, code, err = run(bin() .. " -c 3 -i 0.01 -t 0.3 127.0.0.1 " .. port, dir)
    assert.equal(1, code)
    assert.matches("3 sent, 0 received, 100%.0%% loss", out)
    assert.matches("^udp_ping.lua: no replies from 127%.0%.0%.1:%d+\n$", err)
  end)
end)
