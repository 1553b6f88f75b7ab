-- Process helpers for the specs that run scripts/ as processes against
-- real peers: start a command in the background under timeout(1), wait for
-- its output, run one to completion, and clean every process and temp dir
-- up in after_each. proc.for_script(name) also gives bin(), the command
-- line of lsock running scripts/<name>.
local socket = require "lsock"

local proc = {}

local BIN = os.getenv("LSOCK_BIN")
local SPEC_DIR = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"

local procs, temps = {}, {}

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function need(tool)
  local ok = os.execute("command -v " .. tool .. " >/dev/null 2>&1")
  assert(ok, tool .. " is needed for this spec (sh setup.sh installs it)")
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

-- The shell words that run scripts/<name> under $LSOCK_BIN.
local function for_script(name)
  return function()
    assert(BIN and BIN ~= "", "LSOCK_BIN must name the lsock interpreter")
    return q(BIN) .. " " .. q(SPEC_DIR .. "/../scripts/" .. name)
  end
end

proc.q = q
proc.need = need
proc.tmpdir = tmpdir
proc.slurp = slurp
proc.spit = spit
proc.start = start
proc.wait_for = wait_for
proc.port_of = port_of
proc.run = run
proc.cleanup = cleanup
proc.blob = blob
proc.BIN = BIN
proc.SPEC_DIR = SPEC_DIR
proc.for_script = for_script

return proc
