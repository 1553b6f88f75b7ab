-- Runs scripts/http_serve.lua as a process ($LSOCK_BIN) against real peers on
-- loopback. Every process started here is killed in after_each, every wait
-- is bounded, every port comes from port 0.
local socket = require "lsock"

local proc = require "spec.proc"
local BIN, SPEC_DIR = proc.BIN, proc.SPEC_DIR
local bin = proc.for_script("http_serve.lua")
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

local GET = SPEC_DIR .. "/../scripts/http_get.lua"
local BIG = 10 * 1024 * 1024

-- A directory dir/root to serve, with dir/secret.txt beside it (outside the
-- root). Starts http_serve.lua on port 0; returns dir, base URL, process,
-- big.bin's bytes.
local function serve()
  local dir = tmpdir()
  local root = dir .. "/root"
  assert(os.execute(("mkdir -p %s/sub"):format(q(root))))
  spit(dir .. "/secret.txt", "TOP SECRET\n")
  spit(root .. "/index.html", "<h1>index</h1>\n")
  spit(root .. "/hello.txt", "hello from lsock\n")
  spit(root .. "/style.css", "body{}\n")
  spit(root .. "/sub/data.json", "{\"a\":1}\n")
  assert(os.execute(("head -c %d /dev/urandom > %s"):format(BIG, q(root .. "/big.bin"))))
  local srv = start(bin() .. " -p 0 " .. q(root), dir, "srv")
  local port = port_of(srv)
  return dir, "http://127.0.0.1:" .. port, srv, slurp(root .. "/big.bin")
end

-- curl: `args` appended; returns stdout, exit status.
local function curl(args, dir)
  need("curl")
  return run("curl -sS --max-time 20 " .. args, dir)
end

-- A python3 client holding a connection with half a request, to show the
-- server serves others meanwhile; prints "holding" once connected, then
-- waits for its stdin to close.
local PY_HOLD = [[
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
print("holding", flush=True)
import time
time.sleep(30)
]]

-- A python3 client sending a raw request line; prints the status line.
local PY_RAW = [[
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
c.sendall(sys.argv[2].encode() + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    d = c.recv(65536)
    if not d: break
    data += d
sys.stdout.write(data.decode("latin-1"))
]]

describe("scripts/http_serve.lua", function()
  after_each(cleanup)

  it("prints its usage with --help and refuses a missing directory", function()
    local dir = tmpdir()
    local out, code = run(bin() .. " --help", dir)
    assert.equal(0, code)
    assert.matches("usage: http_serve.lua", out)
    local _, code2, err = run(bin() .. " -p 0 " .. q(dir .. "/nope"), dir)
    assert.equal(1, code2)
    assert.matches("^http_serve.lua: [^\n]*not a directory\n$", err)
  end)

  it("serves files to curl with Content-Type and Content-Length", function()
    local dir, base, _, big = serve()
    local out, code = curl("-i " .. base .. "/", dir)
    assert.equal(0, code)
    assert.matches("^HTTP/1.1 200 OK\r\n", out)
    assert.matches("\r\nContent%-Type: text/html; charset=utf%-8\r\n", out)
    assert.matches("\r\nContent%-Length: 15\r\n", out)
    assert.matches("\r\n\r\n<h1>index</h1>\n$", out)
    out = curl("-w '%{content_type}|%{http_code}' " .. base .. "/hello.txt", dir)
    assert.equal("hello from lsock\ntext/plain; charset=utf-8|200", out)
    out = curl("-w '%{content_type}' -o /dev/null " .. base .. "/style.css " ..
               "-o /dev/null " .. base .. "/sub/data.json " ..
               "-o /dev/null " .. base .. "/big.bin", dir)
    assert.equal("text/css; charset=utf-8application/jsonapplication/octet-stream", out)
    out, code = curl(base .. "/big.bin", dir)
    assert.equal(0, code)
    assert.equal(#big, #out)
    assert.is_true(out == big, "big.bin differs")
  end)

  it("answers HEAD with the headers only, and 404 for what is missing", function()
    local dir, base = serve()
    local out = curl("-I " .. base .. "/big.bin", dir)
    assert.matches("^HTTP/1.1 200 OK\r\n", out)
    assert.matches("\r\nContent%-Length: " .. BIG .. "\r\n", out)
    assert.matches("\r\n\r\n$", out)
    out = curl("-w '%{http_code}' -o /dev/null " .. base .. "/missing.txt", dir)
    assert.equal("404", out)
    out = curl("-w '%{http_code} %{redirect_url}' -o /dev/null " .. base .. "/sub", dir)
    assert.equal("301 " .. base .. "/sub/", out)
  end)

  it("never serves a file outside its root", function()
    local dir, base = serve()
    for _, path in ipairs({ "/../secret.txt", "/sub/../../secret.txt",
                            "/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt",
                            "/%2E%2E%2Fsecret.txt", "/..%5csecret.txt" }) do
      local out = curl("--path-as-is -w ' %{http_code}' " .. base .. path, dir)
      local status = out:match(" (%d+)$")
      assert.is_truthy(status == "403" or status == "404",
                       path .. " answered " .. tostring(status))
      assert.is_falsy(out:find("SECRET", 1, true), path .. " leaked the file")
    end
    need("python3")
    spit(dir .. "/raw.py", PY_RAW)
    local port = base:match("(%d+)$")
    for _, line in ipairs({ "GET ../secret.txt HTTP/1.1", "GET /..\\secret.txt HTTP/1.1" }) do
      local out = run(("python3 %s %s %s"):format(q(dir .. "/raw.py"), port, q(line)), dir)
      assert.matches("^HTTP/1.1 40[034] ", out)
      assert.is_falsy(out:find("SECRET", 1, true), line .. " leaked the file")
    end
  end)

  it("keeps connections alive and serves clients concurrently", function()
    local dir, base, srv = serve()
    local out = run(("curl -sv --max-time 20 %s/hello.txt %s/sub/data.json 2>&1"):format(base, base), dir)
    assert.matches("Re%-using existing connection", out)
    assert.matches("hello from lsock\n", out)
    -- A client stuck in the middle of its request holds its own task only.
    need("python3")
    spit(dir .. "/hold.py", PY_HOLD)
    local hold = start(("python3 %s %s"):format(q(dir .. "/hold.py"), base:match("(%d+)$")), dir, "hold")
    wait_for(hold.out, "holding", 15, hold.err)
    local t0 = socket.monotonic()
    out = curl(base .. "/hello.txt", dir)
    assert.equal("hello from lsock\n", out)
    assert.is_true(socket.monotonic() - t0 < 5)
    -- Three 10 MiB downloads at once.
    local outs = run(("for i in 1 2 3; do curl -s --max-time 30 -o %s/dl$i %s/big.bin & done; wait; " ..
                      "cmp %s/dl1 %s/root/big.bin && cmp %s/dl2 %s/root/big.bin && cmp %s/dl3 %s/root/big.bin && echo same"):format(
      q(dir), base, q(dir), q(dir), q(dir), q(dir), q(dir), q(dir)), dir, { limit = 60 })
    assert.equal("same\n", outs)
    assert.matches("GET /big.bin HTTP/1.1\" 200 " .. BIG, slurp(srv.err))
  end)

  it("serves http_get.lua: small, 10 MiB and several URLs on one connection", function()
    local dir, base, srv, big = serve()
    local get = q(BIN) .. " " .. q(GET)
    local out, code, err = run(get .. " " .. base .. "/hello.txt", dir)
    assert.equal(0, code, err)
    assert.equal("hello from lsock\n", out)
    out, code, err = run(get .. " -o " .. q(dir .. "/big.out") .. " " .. base .. "/big.bin", dir)
    assert.equal(0, code, err)
    assert.is_true(slurp(dir .. "/big.out") == big, "big.bin differs")
    out, code, err = run(get .. " " .. base .. "/hello.txt " .. base .. "/sub " ..
                         base .. "/hello.txt", dir)
    assert.equal(0, code, err)
    assert.matches("^hello from lsock\n.*data%.json.*hello from lsock\n$", out)
    -- The server's log: the three requests (and the redirect) from one port.
    local log = slurp(srv.err)
    local peers = {}
    for peer in log:gmatch("(127%.0%.0%.1:%d+) \"GET /[hs]") do peers[peer] = (peers[peer] or 0) + 1 end
    local found = false
    for _, n in pairs(peers) do if n == 4 then found = true end end
    assert.is_true(found, "no connection carried the 4 requests:\n" .. log)
  end)
end)
