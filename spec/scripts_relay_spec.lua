-- Runs scripts/relay.lua as a process ($LSOCK_BIN) against real peers on
-- loopback. Every process started here is killed in after_each, every wait
-- is bounded, every port comes from port 0.
local socket = require "lsock"

local proc = require "spec.proc"
local BIN, SPEC_DIR = proc.BIN, proc.SPEC_DIR
local bin = proc.for_script("relay.lua")
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

-- python3's http.server over a directory on port 0.
local PY_HTTP = [[
import http.server, sys
root = sys.argv[1]
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
    lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=root, **k))
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
]]

-- A python3 server that answers only once the client has ended its side:
-- it reads to EOF, then sends "<bytes> <sha256>\n" and closes. Only a relay
-- that carries the half-close through lets it answer at all.
local PY_DIGEST = [[
import hashlib, socketserver, sys
class H(socketserver.BaseRequestHandler):
    def handle(self):
        h, n = hashlib.sha256(), 0
        while True:
            d = self.request.recv(65536)
            if not d: break
            h.update(d); n += len(d)
        self.request.sendall(b"%d %s\n" % (n, h.hexdigest().encode()))
socketserver.ThreadingTCPServer.allow_reuse_address = True
srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
]]

describe("scripts/relay.lua", function()
  after_each(cleanup)

  it("prints its usage with --help and rejects bad arguments", function()
    local dir = tmpdir()
    local out, code = run(bin() .. " --help", dir)
    assert.equal(0, code)
    assert.matches("usage: relay.lua", out)
    local _, code2, err = run(bin() .. " onlyhost", dir)
    assert.equal(2, code2)
    assert.matches("^relay.lua: [^\n]+\n$", err)
  end)

  it("carries curl's requests to python3's http.server", function()
    need("python3"); need("curl")
    local dir = tmpdir()
    local root = dir .. "/root"
    assert(os.execute("mkdir " .. q(root)))
    spit(root .. "/hello.txt", "hello through the relay\n")
    assert(os.execute(("head -c %d /dev/urandom > %s"):format(5 * 1024 * 1024, q(root .. "/big.bin"))))
    spit(dir .. "/pyhttp.py", PY_HTTP)
    local py = start(("python3 %s %s"):format(q(dir .. "/pyhttp.py"), q(root)), dir, "py")
    local pport = port_of(py, 15)
    local relay = start(bin() .. " 127.0.0.1 " .. pport, dir, "relay")
    local rport = port_of(relay)
    local out, code = run(("curl -sS --max-time 20 http://127.0.0.1:%d/hello.txt"):format(rport), dir)
    assert.equal(0, code)
    assert.equal("hello through the relay\n", out)
    out = run(("for i in 1 2 3; do curl -sS --max-time 20 -o %s/dl$i http://127.0.0.1:%d/big.bin & done; wait; " ..
               "for i in 1 2 3; do cmp %s/dl$i %s || exit 1; done; echo same"):format(
      q(dir), rport, q(dir), q(root .. "/big.bin")), dir, { limit = 60 })
    assert.equal("same\n", out)
    -- python3 saw the relay as its client.
    assert.matches("\"GET /hello.txt HTTP/1.1\" 200", slurp(py.err))
  end)

  it("carries a half-close through in both directions", function()
    need("python3"); need("socat")
    local dir = tmpdir()
    spit(dir .. "/digest.py", PY_DIGEST)
    local py = start("python3 " .. q(dir .. "/digest.py"), dir, "py")
    local pport = port_of(py, 15)
    local relay = start(bin() .. " 127.0.0.1 " .. pport, dir, "relay")
    local rport = port_of(relay)
    assert(os.execute(("head -c %d /dev/urandom > %s"):format(3 * 1024 * 1024, q(dir .. "/in.bin"))))
    local want = run("sha256sum " .. q(dir .. "/in.bin"), dir):match("^(%x+)")
    -- socat shuts down its writing side at the end of its stdin, then waits
    -- (up to -t) for the answer.
    local out, code = run(("socat -t 20 - TCP:127.0.0.1:%d < %s"):format(rport, q(dir .. "/in.bin")), dir)
    assert.equal(0, code)
    assert.equal(("%d %s\n"):format(3 * 1024 * 1024, want), out)
    wait_for(relay.err, "closed: 3145728 bytes up, 73 down", 10, relay.err)
  end)

  it("drops a client cleanly when the target refuses, and keeps serving", function()
    need("python3")
    local dir = tmpdir()
    local s = socket.socket()
    s:bind("127.0.0.1", 0)
    local _, dead = s:getsockname()
    s:close()
    local relay = start(bin() .. " 127.0.0.1 " .. dead, dir, "relay")
    local rport = port_of(relay)
    for _ = 1, 2 do
      local c = socket.socket()
      c:settimeout(10)
      c:connect("127.0.0.1", rport)
      assert.equal("", c:recv(10))
      c:close()
    end
    wait_for(relay.err, "ECONNREFUSED.*ECONNREFUSED", 10)
  end)
end)
