-- socket.trace: one line per socket call on stderr, with hex dumps in
-- "hex" mode, nothing when off. Runs scripts in a child lsock to read its
-- stderr.

local socket = require "lsock"

local LSOCK = os.getenv("LSOCK_BIN")

-- Runs `code` in a child lsock; returns its stdout and stderr.
local function run(code)
  assert(LSOCK, "LSOCK_BIN is needed (the built lsock interpreter)")
  local script, errf = os.tmpname(), os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(code)
  f:close()
  local p = assert(io.popen(("%q %q 2>%q"):format(LSOCK, script, errf)))
  local out = p:read("a")
  p:close()
  f = assert(io.open(errf))
  local err = f:read("a")
  f:close()
  os.remove(script)
  os.remove(errf)
  return out, err
end

describe("socket.trace", function()
  it("prints each call with its arguments, result and time", function()
    local out, err = run [[
      local a, b = socket.socketpair()
      socket.trace(true)
      a:sendall("hi\0there")
      local got = b:recv(100)
      print(#got)
    ]]
    assert.equal("8\n", out)
    assert.matches('lsock: <socket fd=%d+>:sendall%("hi\\x00there"%) %-> ok %(%d+%.%d+ ms%)', err)
    assert.matches('lsock: <socket fd=%d+>:recv%(100%) %-> 8 bytes "hi\\x00there" %(', err)
  end)

  it("prints failures with the error and re-raises them unchanged", function()
    local out, err = run [[
      local a = socket.socketpair()
      socket.trace(true)
      a:settimeout(0.05)
      local ok, e = pcall(a.recv, a, 1)
      print(ok, e.kind, e.name)
    ]]
    assert.equal("false\ttimeout\tETIMEDOUT\n", out)
    assert.matches("recv%(1%) !! recv: %[ETIMEDOUT%] timed out", err)
  end)

  it("dumps the bytes in hex mode", function()
    local _, err = run [[
      local a, b = socket.socketpair()
      socket.trace("hex")
      a:send("ABC\1")
      b:recv(10)
    ]]
    assert.matches("sends 4 bytes", err)
    assert.matches("000000  41 42 43 01 +ABC%.", err)
  end)

  it("prints nothing once turned off, and calls work as before", function()
    local out, err = run [[
      local a, b = socket.socketpair()
      socket.trace(true)
      socket.trace(false)
      a:send("x")
      print(b:recv(1))
    ]]
    assert.equal("x\n", out)
    assert.equal("", err)
  end)

  it("covers sockets of every kind, made before or after it starts", function()
    local out, err = run [[
      local a, b = socket.socketpair()
      local u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
      socket.trace(true)
      local v = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
      local t = socket.socket()
      a:send("x")
      u:bind("127.0.0.1", 0)
      v:bind("127.0.0.1", 0)
      t:bind("127.0.0.1", 0)
      socket.trace(false)
      b:recv(1)
      u:close() v:close() t:close()
      print("done")
    ]]
    assert.equal("done\n", out)
    assert.matches(':send%("x"%) %-> 1', err)
    assert.equal(3, select(2, err:gsub(':bind%("127%.0%.0%.1", 0%) %-> ok', "")))
    assert.falsy(err:find(":recv", 1, true))
    assert.falsy(err:find(":close", 1, true))
  end)

  it("traces calls that wait inside tasks", function()
    local out, err = run [[
      local a, b = socket.socketpair()
      socket.trace(true)
      local t = socket.spawn(function() return b:recv(10) end)
      socket.spawn(function() socket.sleep(0.05) a:send("late") end)
      print(t:join())
    ]]
    assert.equal("late\n", out)
    local ms = tonumber(err:match('recv%(10%) %-> 4 bytes "late" %((%d+%.%d+) ms%)'))
    assert.is_number(ms)
    assert.is_true(ms >= 40, "the wait took " .. ms .. " ms")
  end)

  it("starts from the command line with lsock --trace", function()
    assert(LSOCK, "LSOCK_BIN is needed (the built lsock interpreter)")
    local errf = os.tmpname()
    local p = assert(io.popen(("%q --trace -e %q 2>%q"):format(LSOCK,
      "local a, b = socket.socketpair(); a:send('x'); print(b:recv(1))",
      errf)))
    local out = p:read("a")
    p:close()
    local f = assert(io.open(errf))
    local err = f:read("a")
    f:close()
    os.remove(errf)
    assert.equal("x\n", out)
    assert.matches(':send%("x"%) %-> 1 %(', err)
    assert.matches(':recv%(1%) %-> 1 bytes "x" %(', err)
  end)

  it("rejects other arguments", function()
    assert.has_error(function() socket.trace("loud") end)
    assert.has_error(function() socket.trace() end)
  end)
end)
