-- Runs scripts/chat.lua as a process ($LSOCK_BIN) against real peers on
-- loopback. Every process started here is killed in after_each, every wait
-- is bounded, every port comes from port 0.
local socket = require "lsock"

local BIN = os.getenv("LSOCK_BIN")
local SPEC_DIR = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local SCRIPT = SPEC_DIR .. "/../scripts/chat.lua"

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

local writers = {}

-- An nc (netcat-openbsd) client whose stdin is a FIFO that this spec writes
-- to. The FIFO is opened read-write ("r+"), which never blocks on Linux, so
-- no open waits for the other side. Returns { say = fn(line), p = process }.
local function nc_client(dir, name, port)
  need("nc")
  local fifo = dir .. "/" .. name .. ".in"
  assert(os.execute("mkfifo " .. q(fifo)))
  local w = assert(io.open(fifo, "r+"))
  writers[#writers + 1] = w
  local p = start(("nc 127.0.0.1 %d"):format(port), dir, name, { stdin = fifo })
  return {
    p = p,
    say = function(line)
      assert(w:write(line .. "\n"))
      w:flush()
    end,
    close = function() w:close() end,
  }
end

describe("scripts/chat.lua", function()
  after_each(function()
    for i = #writers, 1, -1 do
      pcall(writers[i].close, writers[i])
      writers[i] = nil
    end
    cleanup()
  end)

  it("prints its usage with --help and rejects bad arguments", function()
    local dir = tmpdir()
    local out, code = run(bin() .. " --help", dir)
    assert.equal(0, code)
    assert.matches("usage: chat.lua", out)
    local _, code2, err = run(bin() .. " -p 99999", dir)
    assert.equal(2, code2)
    assert.matches("^chat.lua: [^\n]+\n$", err)
  end)

  it("serves three nc clients: nicknames, broadcast, joins and leaves", function()
    local dir = tmpdir()
    local srv = start(bin() .. " -p 0", dir, "srv")
    local port = port_of(srv)

    local alice = nc_client(dir, "alice", port)
    wait_for(alice.p.out, "your nickname%?\n", 10, alice.p.err)
    alice.say("alice")
    wait_for(alice.p.out, "%* hello alice; here: nobody else\n", 10, alice.p.err)

    local bob = nc_client(dir, "bob", port)
    bob.say("alice")  -- taken
    wait_for(bob.p.out, "%* alice is taken", 10, bob.p.err)
    bob.say("bob")
    wait_for(bob.p.out, "%* hello bob; here: alice\n", 10, bob.p.err)
    wait_for(alice.p.out, "%* bob joined\n", 10, alice.p.err)

    local carol = nc_client(dir, "carol", port)
    carol.say("carol")
    wait_for(carol.p.out, "%* hello carol; here: alice, bob\n", 10, carol.p.err)
    wait_for(bob.p.out, "%* carol joined\n", 10, bob.p.err)

    alice.say("hi everyone")
    wait_for(bob.p.out, "<alice> hi everyone\n", 10, bob.p.err)
    wait_for(carol.p.out, "<alice> hi everyone\n", 10, carol.p.err)
    carol.say("/who")
    wait_for(carol.p.out, "%* here: alice, bob, carol\n", 10, carol.p.err)
    carol.say("/nick caz")
    wait_for(alice.p.out, "%* carol is now caz\n", 10, alice.p.err)
    bob.say("hello caz")
    wait_for(carol.p.out, "<bob> hello caz\n", 10, carol.p.err)

    -- carol's nc is killed mid-session: the others hear she left.
    os.execute("kill " .. carol.p.pid)
    wait_for(alice.p.out, "%* caz left\n", 10, alice.p.err)
    wait_for(bob.p.out, "%* caz left\n", 10, bob.p.err)

    -- bob leaves politely.
    bob.say("/quit")
    wait_for(bob.p.out, "%* bye\n", 10, bob.p.err)
    wait_for(alice.p.out, "%* bob left\n", 10, alice.p.err)

    -- alice never got her own line back.
    assert.is_nil(slurp(alice.p.out):find("<alice>", 1, true))
  end)

  it("survives clients that vanish before their nickname or mid-line", function()
    need("nc")
    local dir = tmpdir()
    local srv = start(bin() .. " -p 0", dir, "srv")
    local port = port_of(srv)
    local alice = nc_client(dir, "alice", port)
    alice.say("alice")
    wait_for(alice.p.out, "%* hello alice", 10, alice.p.err)
    -- Connects and goes without a word; then one that leaves mid-line.
    run(("nc -q 0 127.0.0.1 %d < /dev/null"):format(port), dir)
    wait_for(srv.err, "left before choosing a nickname", 10)
    run(("printf 'dave\\nhalf a li' | nc -q 0 127.0.0.1 %d"):format(port), dir)
    wait_for(alice.p.out, "%* dave joined\n", 10, alice.p.err)
    wait_for(alice.p.out, "%* dave left\n", 10, alice.p.err)
    -- A line longer than the limit is cut, and the server goes on.
    local bob = nc_client(dir, "bob", port)
    bob.say("bob")
    wait_for(alice.p.out, "%* bob joined\n", 10, alice.p.err)
    bob.say(("x"):rep(10000))
    bob.say("after the long line")
    wait_for(alice.p.out, "<bob> after the long line\n", 10, alice.p.err)
    assert.matches("\n<bob> " .. ("x"):rep(4096) .. "\n", slurp(alice.p.out))
    assert.is_nil(slurp(alice.p.out):find("half a li", 1, true))
  end)
end)
