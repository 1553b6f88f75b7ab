-- Runs scripts/chat.lua as a process ($LSOCK_BIN) against real peers on
-- loopback. Every process started here is killed in after_each, every wait
-- is bounded, every port comes from port 0.
local socket = require "lsock"

local proc = require "spec.proc"
local BIN, SPEC_DIR = proc.BIN, proc.SPEC_DIR
local bin = proc.for_script("chat.lua")
local q = proc.q
local need = proc.need
local tmpdir = proc.tmpdir
local slurp = proc.slurp
local spit = proc.spit
local start = proc.start
local wait_for = proc.wait_for
local port_of = proc.port_of
local run = proc.run
local cleanup = proc.cleanup
local blob = proc.blob

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
