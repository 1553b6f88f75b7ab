-- Runs scripts/nc.lua as a process ($LSOCK_BIN) against real peers on
-- loopback. Every process started here is killed in after_each, every wait
-- is bounded, every port comes from port 0.
local socket = require "lsock"

local proc = require "spec.proc"
local BIN, SPEC_DIR = proc.BIN, proc.SPEC_DIR
local bin = proc.for_script("nc.lua")
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

local function urandom(path, n)
  assert(os.execute(("head -c %d /dev/urandom > %s"):format(n, q(path))))
  return slurp(path)
end

local function same(a, b, what)
  assert(#a == #b, ("%s: %d bytes, expected %d"):format(what, #a, #b))
  assert(a == b, what .. ": the bytes differ")
end

-- A silent python3 TCP server: accepts and holds connections, never writes.
local PY_SILENT = [[
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
]]

describe("scripts/nc.lua", function()
  after_each(cleanup)

  it("prints its usage with --help and rejects bad arguments", function()
    local dir = tmpdir()
    local out, code = run(bin() .. " --help", dir)
    assert.equal(0, code)
    assert.matches("usage: nc.lua", out)
    local _, code2, err = run(bin() .. " -Z 127.0.0.1 1", dir)
    assert.equal(2, code2)
    assert.matches("^nc.lua: [^\n]+\n$", err)
  end)

  it("moves 10 MB both ways at once with socat, listening on TCP", function()
    need("socat")
    local dir = tmpdir()
    local a = urandom(dir .. "/a.bin", 10 * 1024 * 1024)
    local b = urandom(dir .. "/b.bin", 10 * 1024 * 1024 + 17)
    local nc = start(bin() .. " -l 127.0.0.1 0", dir, "nc", { stdin = dir .. "/a.bin" })
    local port = wait_for(nc.err, "^listening on 127%.0%.0%.1:(%d+)\n", 10, nc.err)
    local _, code = run(("socat -t 30 TCP:127.0.0.1:%s STDIO < %s > %s"):format(
      port, q(dir .. "/b.bin"), q(dir .. "/socat.out")), dir, { limit = 60 })
    assert.equal(0, code)
    local deadline = socket.monotonic() + 30
    while #slurp(nc.out) < #b and socket.monotonic() < deadline do socket.sleep(0.05) end
    same(slurp(dir .. "/socat.out"), a, "socat received")
    same(slurp(nc.out), b, "nc.lua received")
  end)

  it("connects to socat over a Unix socket with stdin on a pipe", function()
    need("socat")
    local dir = tmpdir()
    local a = urandom(dir .. "/a.bin", 200000)
    local b = urandom(dir .. "/b.bin", 300000)
    local path = dir .. "/sock"
    start(("socat -t 10 UNIX-LISTEN:%s STDIO < %s > %s"):format(
      q(path), q(dir .. "/b.bin"), q(dir .. "/socat.out")), dir, "socat")
    for _ = 1, 500 do
      if os.execute("test -S " .. q(path)) then break end
      socket.sleep(0.02)
    end
    local out, code, err = run(("cat %s | %s -U %s"):format(q(dir .. "/a.bin"), bin(), q(path)), dir)
    assert.equal(0, code, err)
    same(out, b, "nc.lua received")
    local deadline = socket.monotonic() + 10
    while #slurp(dir .. "/socat.out") < #a and socket.monotonic() < deadline do socket.sleep(0.05) end
    same(slurp(dir .. "/socat.out"), a, "socat received")
  end)

  it("listens on IPv6 loopback", function()
    need("socat")
    local s = socket.socket(socket.AF_INET6)
    local v6 = pcall(s.bind, s, "::1", 0)
    s:close()
    if not v6 then pending("no IPv6 loopback here") return end
    local dir = tmpdir()
    spit(dir .. "/a.txt", "from nc.lua over v6\n")
    local nc = start(bin() .. " -6 -l ::1 0", dir, "nc", { stdin = dir .. "/a.txt" })
    local port = wait_for(nc.err, "^listening on %[::1%]:(%d+)\n", 10, nc.err)
    local out, code = run(("printf 'from socat\\n' | socat -t 5 - TCP6:[::1]:%s"):format(port), dir)
    assert.equal(0, code)
    assert.equal("from nc.lua over v6\n", out)
    wait_for(nc.out, "^from socat\n$", 10, nc.err)
  end)

  it("speaks UDP: a listener answers the first sender", function()
    need("socat")
    local dir = tmpdir()
    spit(dir .. "/reply.txt", "pong\n")
    local nc = start(bin() .. " -u -l 127.0.0.1 0", dir, "nc", { stdin = dir .. "/reply.txt" })
    local port = wait_for(nc.err, "^listening on 127%.0%.0%.1:(%d+)\n", 10, nc.err)
    local out = run(("printf 'ping\\n' | socat -t 3 - UDP:127.0.0.1:%s"):format(port), dir)
    assert.equal("pong\n", out)
    wait_for(nc.out, "^ping\n$", 10, nc.err)
  end)

  it("gives up on an idle peer after -w seconds", function()
    need("python3")
    local dir = tmpdir()
    spit(dir .. "/silent.py", PY_SILENT)
    local py = start("python3 " .. q(dir .. "/silent.py"), dir, "py")
    local port = port_of(py, 15)
    local t0 = socket.monotonic()
    local out, code, err = run(bin() .. " -w 1 127.0.0.1 " .. port, dir)
    local took = socket.monotonic() - t0
    assert.equal(1, code)
    assert.equal("", out)
    assert.matches("^nc.lua: idle[^\n]*\n$", err)
    assert.is_true(took >= 0.9 and took < 5, "took " .. took .. " s")
  end)

  it("fails with one line when the connection is refused", function()
    local dir = tmpdir()
    local s = socket.socket()
    s:bind("127.0.0.1", 0)
    local _, port = s:getsockname()
    s:close()
    local _, code, err = run(bin() .. " 127.0.0.1 " .. port, dir)
    assert.equal(1, code)
    assert.matches("^nc.lua: [^\n]*ECONNREFUSED[^\n]*\n$", err)
  end)
end)
