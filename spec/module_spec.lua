-- The module table: constants, the error metatable, the default timeout's
-- home and the clock.

local socket = require "lsock"

describe("the module", function()
  it("is what require returns, every time", function()
    assert.equal(socket, require "lsock")
    assert.equal("string", type(socket._VERSION))
  end)

  it("exports the platform's constants as integers", function()
    for _, name in ipairs{"AF_INET", "AF_INET6", "AF_UNIX", "SOCK_STREAM",
                          "SOCK_DGRAM", "SOL_SOCKET", "SO_REUSEADDR",
                          "IPPROTO_TCP", "TCP_NODELAY", "MSG_PEEK",
                          "SHUT_RDWR", "SOMAXCONN", "AI_PASSIVE",
                          "NI_NUMERICHOST"} do
      assert.equal("integer", math.type(socket[name]), name)
    end
    assert.equal(socket.SHUT_RD + 1, socket.SHUT_WR)
    assert.not_equal(socket.AF_INET, socket.AF_INET6)
  end)

  it("exports errno names with their values, aliases included", function()
    -- The values the errors carry, so a script can compare e.errno.
    local s = socket.socket()
    s:close()
    local ok, e = pcall(s.recv, s, 1)
    assert.is_false(ok)
    assert.equal(socket.EBADF, e.errno)
    assert.equal(socket.EAGAIN, socket.EWOULDBLOCK)
    assert.equal("integer", math.type(socket.ECONNREFUSED))
    assert.equal("integer", math.type(socket.EAI_NONAME))
  end)

  it("exports the error metatable as socket.error", function()
    assert.equal("table", type(socket.error))
    assert.equal("function", type(socket.error.__tostring))
  end)
end)

describe("monotonic", function()
  it("gives seconds as a float that never goes back", function()
    local a = socket.monotonic()
    assert.equal("float", math.type(a))
    local last = a
    for _ = 1, 1000 do
      local b = socket.monotonic()
      assert.is_true(b >= last)
      last = b
    end
  end)

  it("measures a timeout's length", function()
    local s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s:bind("127.0.0.1", 0)
    s:settimeout(0.2)
    local t0 = socket.monotonic()
    assert.is_false(pcall(s.recv, s, 1))
    local took = socket.monotonic() - t0
    s:close()
    assert.is_true(took >= 0.19 and took < 3, "took " .. took)
  end)
end)
