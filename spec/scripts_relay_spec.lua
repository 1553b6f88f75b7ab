-- Runs scripts/relay.lua as a process ($LSOCK_BIN) against real peers on
-- loopback. Every process started here is killed in after_each, every wait
-- is bounded, every port comes from port 0.
local socket = require "lsock"

local BIN = os.getenv("LSOCK_BIN")
local SPEC_DIR = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local SCRIPT = SPEC_DIR .. "/../scripts/relay.lua"

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
