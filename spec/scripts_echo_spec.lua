-- Runs scripts/echo.lua as a process ($LSOCK_BIN) against real peers on
-- loopback. Every process started here is killed in after_each, every wait
-- is bounded, every port comes from port 0.
local socket = require "lsock"

local proc = require "spec.proc"
local BIN, SPEC_DIR = proc.BIN, proc.SPEC_DIR
local bin = proc.for_script("echo.lua")
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

-- python3 clients: N concurrent TCP connections that all send before any
-- reads (a server serving one client at a time cannot answer them), then a
-- large binary message with a half-close; prints "ok" on success.
local PY_TCP_CLIENTS = [[
import socket, sys, hashlib
port = int(sys.argv[1])
conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
for i, c in enumerate(conns):
    c.sendall(b"hello %d\n" % i)
for i, c in enumerate(conns):
    want = b"hello %d\n" % i
    got = b""
    while len(got) < len(want):
        d = c.recv(100)
        assert d, "closed early"
        got += d
    assert got == want, (got, want)
for c in conns:
    c.close()
data = bytes((i * 7 + i // 251) % 256 for i in range(1 << 20))
c = socket.create_connection(("127.0.0.1", port), timeout=10)
import threading
def send():
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
got = []
while True:
    d = c.recv(65536)
    if not d: break
    got.append(d)
t.join()
assert b"".join(got) == data, "1 MiB echo differs"
print("ok")
]]

local PY_UDP_CLIENT = [[
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for n in (1, 100, 1400, 60000):
    msg = bytes((i * 13) % 256 for i in range(n))
    s.sendto(msg, ("127.0.0.1", int(sys.argv[1])))
    got, addr = s.recvfrom(65536)
    assert got == msg, n
print("ok")
]]

-- python3 echo servers for the client side: TCP (threads) and UDP.
local PY_SERVERS = [[
import socket, socketserver, sys, threading
class T(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            d = self.request.recv(65536)
            if not d: break
            self.request.sendall(d)
class U(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data, self.client_address)
socketserver.ThreadingTCPServer.allow_reuse_address = True
t = socketserver.ThreadingTCPServer(("127.0.0.1", 0), T)
u = socketserver.UDPServer(("127.0.0.1", 0), U)
threading.Thread(target=t.serve_forever, daemon=True).start()
print("listening on 127.0.0.1:%d %d" % (t.server_address[1], u.server_address[1]), flush=True)
u.serve_forever()
]]

describe("scripts/echo.lua", function()
  after_each(cleanup)

  it("prints its usage with --help and rejects bad arguments", function()
    local dir = tmpdir()
    local out, code = run(bin() .. " --help", dir)
    assert.equal(0, code)
    assert.matches("usage: echo.lua", out)
    local _, code2, err = run(bin() .. " --bogus 127.0.0.1 1", dir)
    assert.is_not.equal(0, code2)
    assert.matches("^echo.lua: [^\n]+\n$", err)
  end)

  it("serves TCP to socat and to concurrent python3 clients", function()
    need("socat"); need("python3")
    local dir = tmpdir()
    local srv = start(bin() .. " --listen 127.0.0.1 0", dir, "srv")
    local port = port_of(srv)
    local out, code = run(("printf 'hello socat\\n' | socat -t 5 - TCP:127.0.0.1:%d"):format(port), dir)
    assert.equal(0, code)
    assert.equal("hello socat\n", out)
    spit(dir .. "/c.py", PY_TCP_CLIENTS)
    local pout, pcode, perr = run(("python3 %s %d"):format(q(dir .. "/c.py"), port), dir)
    assert.equal("ok\n", pout, perr)
    assert.equal(0, pcode)
  end)

  it("serves UDP to socat and python3", function()
    need("socat"); need("python3")
    local dir = tmpdir()
    local srv = start(bin() .. " --listen --udp 0", dir, "srv")
    local port = port_of(srv)
    local out = run(("printf 'udp hello\\n' | socat -t 2 - UDP:127.0.0.1:%d"):format(port), dir)
    assert.equal("udp hello\n", out)
    spit(dir .. "/u.py", PY_UDP_CLIENT)
    local pout, _, perr = run(("python3 %s %d"):format(q(dir .. "/u.py"), port), dir)
    assert.equal("ok\n", pout, perr)
  end)

  it("as a client, gets its message back from python3's TCP and UDP echo servers", function()
    need("python3")
    local dir = tmpdir()
    spit(dir .. "/s.py", PY_SERVERS)
    local srv = start("python3 " .. q(dir .. "/s.py"), dir, "py")
    local tport, uport = wait_for(srv.out, "listening on 127%.0%.0%.1:(%d+) (%d+)\n", 15, srv.err)
    local out, code, err = run(bin() .. " 127.0.0.1 " .. tport .. " two words", dir)
    assert.equal(0, code, err)
    assert.equal("two words\n", out)
    local data = blob(300000)
    spit(dir .. "/in.bin", data)
    out, code, err = run(bin() .. " 127.0.0.1 " .. tport, dir, { stdin = dir .. "/in.bin" })
    assert.equal(0, code, err)
    assert.is_true(out == data, "the 300 kB echo differs")
    out, code, err = run(bin() .. " --udp 127.0.0.1 " .. uport .. " a datagram", dir)
    assert.equal(0, code, err)
    assert.equal("a datagram\n", out)
  end)

  it("fails with one line when nothing listens", function()
    local dir = tmpdir()
    -- A port that was free a moment ago: bound, read back, closed.
    local s = socket.socket()
    s:bind("127.0.0.1", 0)
    local _, port = s:getsockname()
    s:close()
    local out, code, err = run(bin() .. " 127.0.0.1 " .. port .. " x", dir)
    assert.equal(1, code)
    assert.equal("", out)
    assert.matches("^echo.lua: [^\n]*ECONNREFUSED[^\n]*\n$", err)
  end)
end)
