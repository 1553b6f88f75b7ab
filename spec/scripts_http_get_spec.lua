-- Runs scripts/http_get.lua as a process ($LSOCK_BIN) against real peers on
-- loopback. Every process started here is killed in after_each, every wait
-- is bounded, every port comes from port 0.
local socket = require "lsock"

local proc = require "spec.proc"
local BIN, SPEC_DIR = proc.BIN, proc.SPEC_DIR
local bin = proc.for_script("http_get.lua")
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

-- python3's http.server over a directory, speaking HTTP/1.1 (so keep-alive),
-- on port 0, plus /chunked/NAME (NAME sent with Transfer-Encoding: chunked,
-- chunks of varying sizes with extensions and a trailer) and /redirect/N
-- (a chain of N 302s ending at /small.txt). Each request is logged on
-- stderr with the client's port.
local PY_SERVER = [[
import http.server, os, sys
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, fmt, *args):
        sys.stderr.write("port=%d %s\n" % (self.client_address[1], fmt % args))
        sys.stderr.flush()
    def do_GET(self):
        if self.path.startswith("/chunked/"):
            name = os.path.join(self.directory, self.path[len("/chunked/"):])
            data = open(name, "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            i, n = 0, 1
            while i < len(data):
                part = data[i:i + n]
                i += n
                n = n * 3 % 70001 + 1
                self.wfile.write(b"%x;ext=1\r\n" % len(part) + part + b"\r\n")
            self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
            return
        if self.path.startswith("/redirect/"):
            k = int(self.path.split("/")[2])
            self.send_response(302)
            self.send_header("Location", "/redirect/%d" % (k - 1) if k > 1 else "/small.txt")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        return super().do_GET()
root = sys.argv[1]
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
    lambda *a, **k: H(*a, directory=root, **k))
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
]]

local BIG = 10 * 1024 * 1024

-- Starts the python3 server over a fresh directory holding small.txt and
-- big.bin (10 MiB). Returns dir, base URL, the server's process record,
-- big.bin's bytes.
local function python_server()
  need("python3")
  local dir = tmpdir()
  local root = dir .. "/root"
  assert(os.execute("mkdir " .. q(root)))
  spit(root .. "/small.txt", "hello from python\n")
  assert(os.execute(("head -c %d /dev/urandom > %s"):format(BIG, q(root .. "/big.bin"))))
  spit(dir .. "/server.py", PY_SERVER)
  local py = start("python3 " .. q(dir .. "/server.py") .. " " .. q(root), dir, "py")
  local port = port_of(py, 15)
  return dir, "http://127.0.0.1:" .. port, py, slurp(root .. "/big.bin")
end

describe("scripts/http_get.lua", function()
  after_each(cleanup)

  it("prints its usage with --help and refuses what it cannot fetch", function()
    local dir = tmpdir()
    local out, code = run(bin() .. " --help", dir)
    assert.equal(0, code)
    assert.matches("usage: http_get.lua", out)
    local _, code2, err = run(bin() .. " https://127.0.0.1/", dir)
    assert.is_not.equal(0, code2)
    assert.matches("^http_get.lua: [^\n]*only http[^\n]*\n$", err)
    local _, code3, err3 = run(bin(), dir)
    assert.equal(2, code3)
    assert.matches("^http_get.lua: [^\n]+\n$", err3)
  end)

  it("fetches a small file and a 10 MiB file from python3's http.server", function()
    local dir, base, _, big = python_server()
    local out, code, err = run(bin() .. " " .. base .. "/small.txt", dir)
    assert.equal(0, code, err)
    assert.equal("hello from python\n", out)
    local file = dir .. "/big.out"
    out, code, err = run(bin() .. " -o " .. q(file) .. " " .. base .. "/big.bin", dir)
    assert.equal(0, code, err)
    assert.equal("", out)
    assert.equal("", err) -- no progress bar when stderr is not a terminal
    local got = slurp(file)
    assert.equal(#big, #got)
    assert.is_true(got == big, "big.bin differs")
  end)

  it("decodes a 10 MiB chunked body", function()
    local dir, base, _, big = python_server()
    local out, code, err = run(bin() .. " " .. base .. "/chunked/big.bin", dir)
    assert.equal(0, code, err)
    assert.equal(#big, #out)
    assert.is_true(out == big, "the chunked body differs")
    out = run(bin() .. " " .. base .. "/chunked/small.txt", dir)
    assert.equal("hello from python\n", out)
  end)

  it("follows redirects up to the limit", function()
    local dir, base = python_server()
    local out, code, err = run(bin() .. " " .. base .. "/redirect/3", dir)
    assert.equal(0, code, err)
    assert.equal("hello from python\n", out)
    out, code, err = run(bin() .. " -L 2 " .. base .. "/redirect/3", dir)
    assert.equal(1, code)
    assert.equal("", out)
    assert.matches("^http_get.lua: [^\n]*redirects\n$", err)
  end)

  it("keeps one connection alive for several URLs on the host", function()
    local dir, base, py = python_server()
    local out, code, err = run(bin() .. " " .. base .. "/small.txt " .. base ..
                               "/chunked/small.txt " .. base .. "/redirect/1", dir)
    assert.equal(0, code, err)
    assert.equal(("hello from python\n"):rep(3), out)
    local log = wait_for(py.err, "^(.*GET /small.txt.*GET /chunked/small.txt.*GET /redirect/1.*GET /small.txt[^\n]*\n)", 5)
    local ports = {}
    for port in log:gmatch("port=(%d+) \"GET") do ports[port] = true end
    local n = 0
    for _ in pairs(ports) do n = n + 1 end
    assert.equal(1, n, "requests came on " .. n .. " connections:\n" .. log)
  end)

  it("fails on a 404 with one line and no output", function()
    local dir, base = python_server()
    local out, code, err = run(bin() .. " " .. base .. "/missing.txt", dir)
    assert.equal(1, code)
    assert.equal("", out)
    assert.matches("^http_get.lua: [^\n]*404[^\n]*\n$", err)
  end)

  it("shows a progress bar with bytes, rate and ETA on a terminal", function()
    need("script")
    local dir, base, _, big = python_server()
    local file = dir .. "/big.out"
    -- script(1) gives the command a terminal for stdin, stdout and stderr.
    local out, code = run(("script -qec %s /dev/null"):format(
      q(bin() .. " -o " .. q(file) .. " " .. base .. "/big.bin")), dir)
    assert.equal(0, code, out)
    assert.matches("100%% %[=+%] 10%.0 MiB / 10%.0 MiB +[%d.]+ [KMG]?i?B/s +ETA 0:00", out)
    assert.is_true(slurp(file) == big, "big.bin differs")
  end)
end)
