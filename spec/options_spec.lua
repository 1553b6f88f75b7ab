-- setsockopt and getsockopt: integer, boolean and raw-bytes values, the
-- buflen form, and how bad options and bad arguments fail.

local socket = require "lsock"
local helpers = require "spec.helpers"

local SOL, IPT = socket.SOL_SOCKET, socket.IPPROTO_TCP

local function fresh(type_)
  return helpers.track(socket.socket(socket.AF_INET,
                                     type_ or socket.SOCK_STREAM))
end

describe("setsockopt", function()
  after_each(helpers.cleanup)

  it("sets SO_REUSEADDR from an integer and returns nothing", function()
    local s = fresh()
    assert.equal(0, s:getsockopt(SOL, socket.SO_REUSEADDR))
    assert.equal(0, select("#", s:setsockopt(SOL, socket.SO_REUSEADDR, 1)))
    local v = s:getsockopt(SOL, socket.SO_REUSEADDR)
    assert.equal("integer", math.type(v))
    assert.are_not.equal(0, v)
    s:setsockopt(SOL, socket.SO_REUSEADDR, 0)
    assert.equal(0, s:getsockopt(SOL, socket.SO_REUSEADDR))
  end)

  it("sets SO_KEEPALIVE from a boolean", function()
    local s = fresh()
    s:setsockopt(SOL, socket.SO_KEEPALIVE, true)
    assert.are_not.equal(0, s:getsockopt(SOL, socket.SO_KEEPALIVE))
    s:setsockopt(SOL, socket.SO_KEEPALIVE, false)
    assert.equal(0, s:getsockopt(SOL, socket.SO_KEEPALIVE))
  end)

  it("sets TCP_NODELAY", function()
    local s = fresh()
    s:setsockopt(IPT, socket.TCP_NODELAY, 1)
    assert.are_not.equal(0, s:getsockopt(IPT, socket.TCP_NODELAY))
    s:setsockopt(IPT, socket.TCP_NODELAY, 0)
    assert.equal(0, s:getsockopt(IPT, socket.TCP_NODELAY))
  end)

  it("sets SO_RCVBUF (which the kernel may round up)", function()
    local s = fresh()
    s:setsockopt(SOL, socket.SO_RCVBUF, 8192)
    local small = s:getsockopt(SOL, socket.SO_RCVBUF)
    s:setsockopt(SOL, socket.SO_RCVBUF, 262144)
    local big = s:getsockopt(SOL, socket.SO_RCVBUF)
    assert.is_true(small >= 8192 / 2, tostring(small))
    assert.is_true(big > small, ("%d then %d"):format(small, big))
  end)

  it("takes raw bytes for an integer option", function()
    local s = fresh()
    s:setsockopt(SOL, socket.SO_REUSEADDR, string.pack("i", 1))
    assert.are_not.equal(0, s:getsockopt(SOL, socket.SO_REUSEADDR))
  end)

  it("takes SO_LINGER as a packed struct", function()
    local s = fresh()
    s:setsockopt(SOL, socket.SO_LINGER, string.pack("ii", 1, 0))
    local raw = s:getsockopt(SOL, socket.SO_LINGER, 8)
    assert.equal(8, #raw)
    local onoff, linger = string.unpack("ii", raw)
    assert.are_not.equal(0, onoff)
    assert.equal(0, linger)
    s:setsockopt(SOL, socket.SO_LINGER, string.pack("ii", 1, 7))
    assert.equal(7, select(2, string.unpack("ii",
                                            s:getsockopt(SOL, socket.SO_LINGER,
                                                         8))))
    s:setsockopt(SOL, socket.SO_LINGER, string.pack("ii", 0, 0))
    assert.equal(0, (string.unpack("ii", s:getsockopt(SOL, socket.SO_LINGER,
                                                      8))))
  end)

  it("raises ENOPROTOOPT for an unknown option", function()
    local s = fresh()
    local e = helpers.sockerr("ENOPROTOOPT", "setsockopt",
                              function() s:setsockopt(SOL, 9999, 1) end)
    assert.equal("error", e.kind)
    assert.equal(socket.ENOPROTOOPT, e.errno)
    helpers.sockerr("ENOPROTOOPT", "setsockopt",
                    function() s:setsockopt(IPT, 9999, 1) end)
  end)

  it("raises an error object for an unknown level", function()
    local s = fresh()
    local e = helpers.fails(function() s:setsockopt(12345, 1, 1) end)
    assert.equal(socket.error, getmetatable(e))
    -- Linux says ENOPROTOOPT; some kernels (gVisor) say EOPNOTSUPP.
    assert.truthy(e.name == "ENOPROTOOPT" or e.name == "EOPNOTSUPP",
                  tostring(e))
    assert.equal("setsockopt", e.op)
  end)

  it("rejects bad argument types", function()
    local s = fresh()
    helpers.argerror("bad argument #1 to 'setsockopt'", function()
      s:setsockopt("SOL_SOCKET", socket.SO_REUSEADDR, 1)
    end)
    helpers.argerror("bad argument #2 to 'setsockopt'", function()
      s:setsockopt(SOL, {}, 1)
    end)
    helpers.argerror("bad argument #3 to 'setsockopt'", function()
      s:setsockopt(SOL, socket.SO_REUSEADDR, {})
    end)
    helpers.argerror("bad argument #3 to 'setsockopt'", function()
      s:setsockopt(SOL, socket.SO_REUSEADDR)
    end)
  end)
end)

describe("getsockopt", function()
  after_each(helpers.cleanup)

  it("reads SO_TYPE as an integer", function()
    local v = fresh():getsockopt(SOL, socket.SO_TYPE)
    assert.equal("integer", math.type(v))
    assert.equal(socket.SOCK_STREAM, v)
    assert.equal(socket.SOCK_DGRAM,
                 fresh(socket.SOCK_DGRAM):getsockopt(SOL, socket.SO_TYPE))
  end)

  it("returns raw bytes with buflen", function()
    local s = fresh(socket.SOCK_DGRAM)
    local raw = s:getsockopt(SOL, socket.SO_TYPE, 4)
    assert.equal("string", type(raw))
    assert.equal(string.pack("i", socket.SOCK_DGRAM), raw)
  end)

  it("returns at most buflen bytes", function()
    local s = fresh()
    s:setsockopt(SOL, socket.SO_LINGER, string.pack("ii", 1, 3))
    local raw = s:getsockopt(SOL, socket.SO_LINGER, 4)
    assert.is_true(#raw <= 4, ("%d bytes"):format(#raw))
    local big = s:getsockopt(SOL, socket.SO_LINGER, 64)
    assert.equal(8, #big) -- the kernel says how much it wrote
  end)

  it("raises ENOPROTOOPT for an unknown option", function()
    local s = fresh()
    local e = helpers.sockerr("ENOPROTOOPT", "getsockopt",
                              function() s:getsockopt(SOL, 9999) end)
    assert.equal(socket.ENOPROTOOPT, e.errno)
  end)

  it("raises an error object for an unknown level", function()
    local s = fresh()
    local e = helpers.fails(function() s:getsockopt(12345, 1) end)
    assert.equal(socket.error, getmetatable(e))
    assert.truthy(e.name == "ENOPROTOOPT" or e.name == "EOPNOTSUPP",
                  tostring(e))
    assert.equal("getsockopt", e.op)
  end)

  it("rejects bad argument types and a negative buflen", function()
    local s = fresh()
    helpers.argerror("bad argument #1 to 'getsockopt'", function()
      s:getsockopt(nil, socket.SO_TYPE)
    end)
    helpers.argerror("bad argument #2 to 'getsockopt'", function()
      s:getsockopt(SOL, "SO_TYPE")
    end)
    helpers.argerror("bad argument #3 to 'getsockopt'", function()
      s:getsockopt(SOL, socket.SO_TYPE, -1)
    end)
    helpers.argerror("bad argument #3 to 'getsockopt'", function()
      s:getsockopt(SOL, socket.SO_TYPE, {})
    end)
  end)
end)
