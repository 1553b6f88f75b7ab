-- Runs scripts/udp_ping.lua as a process ($LSOCK_BIN) against real peers on
-- loopback. Every process started here is killed in after_each, every wait
-- is bounded, every port comes from port 0.
local socket = require "lsock"

local proc = require "spec.proc"
local BIN, SPEC_DIR = proc.BIN, proc.SPEC_DIR
local bin = proc.for_script("udp_ping.lua")
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
