-- Error objects (kind, errno, name, message, op, tostring, the shared
-- socket.error metatable) and plain Lua argument errors for misuse.

local socket = require "lsock"
local helpers = require "spec.helpers"

local function refused()
  local port = helpers.free_port()
  local s = helpers.track(socket.socket())
  s:settimeout(helpers.TIMEOUT)
  local ok, e = pcall(s.connect, s, "127.0.0.1", port)
  return ok, e, port, s
end

describe("an error object", function()
  after_each(helpers.cleanup)

  it("comes back from pcall(s.connect, s, host, port) as false, e",
     function()
    local port = helpers.free_port()
    local s = helpers.track(socket.socket())
    local r = table.pack(pcall(s.connect, s, "127.0.0.1", port))
    assert.equal(2, r.n)
    assert.is_false(r[1])
    assert.truthy(type(r[2]) == "table" or type(r[2]) == "userdata")
  end)

  it("has kind, errno, name, message and op", function()
    local _, e = refused()
    assert.equal("error", e.kind)
    assert.equal("integer", math.type(e.errno))
    assert.equal(socket.ECONNREFUSED, e.errno)
    assert.equal("ECONNREFUSED", e.name)
    assert.equal("Connection refused", e.message)
    assert.equal("connect", e.op)
  end)

  it("has socket.error as its metatable", function()
    local _, e = refused()
    assert.is_not_nil(socket.error)
    assert.equal(socket.error, getmetatable(e))
    local _, e2 = pcall(function() socket.socket():getpeername() end)
    assert.equal(getmetatable(e), getmetatable(e2))
  end)

  it("turns into one line: op address: [NAME] message", function()
    local _, e, port = refused()
    local str = tostring(e)
    assert.equal(("connect 127.0.0.1:%d: [ECONNREFUSED] Connection refused")
                 :format(port), str)
    assert.is_nil(str:find("\n"))
  end)

  it("turns into op: [NAME] message without an address", function()
    local _, conn = helpers.tcp_pair()
    conn:settimeout(0.05)
    local ok, e = pcall(conn.recv, conn, 10)
    assert.is_false(ok)
    assert.equal("recv: [ETIMEDOUT] timed out", tostring(e))
    local s = helpers.track(socket.socket())
    local _, e2 = pcall(s.getpeername, s)
    assert.equal("getpeername: [ENOTCONN] " .. e2.message, tostring(e2))
    assert.equal(socket.ENOTCONN, e2.errno)
  end)

  it("names a timeout ETIMEDOUT with kind timeout", function()
    local _, conn = helpers.tcp_pair()
    conn:settimeout(0.05)
    local _, e = pcall(conn.recv, conn, 10)
    assert.equal("timeout", e.kind)
    assert.equal("ETIMEDOUT", e.name)
    assert.equal(socket.ETIMEDOUT, e.errno)
    assert.equal("timed out", e.message)
    assert.equal("recv", e.op)
  end)

  it("uses the canonical name EAGAIN for would-block", function()
    local _, conn = helpers.tcp_pair()
    conn:settimeout(0)
    assert.equal(0, conn:gettimeout()) -- or the recv below could hang
    local _, e = pcall(conn.recv, conn, 10)
    assert.equal("EAGAIN", e.name)
    assert.equal(socket.EAGAIN, e.errno)
  end)

  it("passes through error() and pcall unchanged", function()
    local _, e = refused()
    local ok, again = pcall(error, e)
    assert.is_false(ok)
    assert.equal(e, again)
  end)

  it("of kind gaierror comes from an unresolvable name", function()
    -- .invalid never resolves (RFC 6761).
    local s = helpers.track(socket.socket())
    local ok, e = pcall(s.connect, s, "nonexistent.invalid", 80)
    assert.is_false(ok)
    assert.equal(socket.error, getmetatable(e))
    assert.equal("gaierror", e.kind)
    assert.equal("string", type(e.name))
    assert.truthy(e.name:find("^EAI_"), e.name)
    assert.equal("integer", math.type(e.errno))
    assert.equal(socket[e.name], e.errno)
    assert.equal("string", type(e.message))
    assert.is_true(#e.message > 0)
    assert.truthy(tostring(e):find("[" .. e.name .. "]", 1, true), tostring(e))
    local b = helpers.track(socket.socket())
    local e2 = helpers.fails(function() b:bind("nonexistent.invalid", 0) end)
    assert.equal("gaierror", e2.kind)
  end)
end)

describe("argument errors", function()
  after_each(helpers.cleanup)

  it("are plain messages naming the method and argument", function()
    local s = helpers.track(socket.socket())
    local msg = helpers.argerror("bad argument #2 to 'bind'", function()
      s:bind("127.0.0.1", {})
    end)
    assert.truthy(msg:find("bad argument #2 to 'bind' (number expected, got table)",
                           1, true), msg)
  end)

  it("reject ports out of range", function()
    local s = helpers.track(socket.socket())
    helpers.argerror("bad argument #2 to 'bind'",
                     function() s:bind("127.0.0.1", 70000) end)
    helpers.argerror("bad argument #2 to 'bind'",
                     function() s:bind("127.0.0.1", -1) end)
    helpers.argerror("bad argument #2 to 'connect'",
                     function() s:connect("127.0.0.1", 65536) end)
    helpers.argerror("bad argument #3 to 'sendto'", function()
      local u = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
      u:sendto("x", "127.0.0.1", 70000)
    end)
  end)

  it("reject a port string that is not a number", function()
    local s = helpers.track(socket.socket())
    helpers.argerror("bad argument #2 to 'bind'",
                     function() s:bind("127.0.0.1", "http") end)
  end)

  it("reject a host of the wrong type", function()
    local s = helpers.track(socket.socket())
    helpers.argerror("bad argument #1 to 'connect'",
                     function() s:connect({}, 80) end)
  end)

  it("reject a negative bufsize", function()
    local _, conn = helpers.tcp_pair()
    helpers.argerror("bad argument #1 to 'recv'",
                     function() conn:recv(-1) end)
    helpers.argerror("bad argument #1 to 'recvfrom'",
                     function() conn:recvfrom(-5) end)
  end)

  it("reject data that is not a string", function()
    local c = helpers.tcp_pair()
    helpers.argerror("bad argument #1 to 'send'", function() c:send({}) end)
    helpers.argerror("bad argument #1 to 'sendall'",
                     function() c:sendall(nil) end)
  end)

  it("reject a non-socket self", function()
    local s = helpers.track(socket.socket())
    local msg = helpers.argerror("bad argument #1 to 'recv'",
                                 function() s.recv({}, 10) end)
    assert.truthy(msg:find("lsock.socket expected", 1, true), msg)
    helpers.argerror("bad argument #1 to 'close'",
                     function() s.close("nope") end)
    helpers.argerror("bad argument #1 to 'getsockname'",
                     function() s.getsockname(io.stdout) end)
    assert.is_true(s:fileno() >= 0)
  end)

  it("are not error objects", function()
    local s = helpers.track(socket.socket())
    local _, msg = pcall(function() s:bind("127.0.0.1", {}) end)
    assert.equal("string", type(msg))
    assert.are_not.equal(socket.error, getmetatable(msg))
  end)
end)
