-- Conversions: inet_aton, inet_ntoa, inet_pton, inet_ntop (packed
-- addresses are binary strings) and the byte-order functions htons, ntohs,
-- htonl, ntohl with their range checks.

local socket = require "lsock"
local helpers = require "spec.helpers"

local V6_LOOPBACK = ("\0"):rep(15) .. "\1"

describe("inet_aton", function()
  it("packs dotted-quad text into 4 bytes, network order", function()
    assert.equal("\127\0\0\1", socket.inet_aton("127.0.0.1"))
    assert.equal("\255\255\255\255", socket.inet_aton("255.255.255.255"))
    assert.equal("\0\0\0\0", socket.inet_aton("0.0.0.0"))
  end)

  it("accepts the classic short forms, as C's inet_aton", function()
    assert.equal("\127\0\0\1", socket.inet_aton("127.1"))
    assert.equal("\10\0\1\2", socket.inet_aton("10.258"))
    assert.equal("\127\0\0\1", socket.inet_aton("0x7f.1"))
  end)

  it("raises an EINVAL error for text that is no address", function()
    for _, text in ipairs{"", "1.2.3.x", "256.1.1.1", "::1", "localhost"} do
      local e = helpers.sockerr("EINVAL", "inet_aton", socket.inet_aton,
                                text)
      assert.equal("error", e.kind)
    end
  end)

  it("raises argument errors for non-strings and zero bytes", function()
    helpers.argerror("bad argument #1", socket.inet_aton)
    helpers.argerror("bad argument #1", socket.inet_aton, {})
    helpers.argerror("zero byte", socket.inet_aton, "1.2.3.4\0")
  end)
end)

describe("inet_ntoa", function()
  it("formats 4 packed bytes as a dotted quad", function()
    assert.equal("127.0.0.1", socket.inet_ntoa("\127\0\0\1"))
    assert.equal("0.0.0.0", socket.inet_ntoa("\0\0\0\0"))
    assert.equal("1.2.3.255", socket.inet_ntoa("\1\2\3\255"))
  end)

  it("round-trips with inet_aton", function()
    for _, text in ipairs{"10.0.0.1", "192.168.255.254", "8.8.4.4"} do
      assert.equal(text, socket.inet_ntoa(socket.inet_aton(text)))
    end
  end)

  it("raises argument errors for wrong lengths and types", function()
    helpers.argerror("4 bytes", socket.inet_ntoa, "\1\2\3")
    helpers.argerror("4 bytes", socket.inet_ntoa, "\1\2\3\4\5")
    helpers.argerror("4 bytes", socket.inet_ntoa, "")
    -- A number is not packed bytes, even though Lua could make it "1234".
    helpers.argerror("bad argument #1", socket.inet_ntoa, 1234)
    helpers.argerror("bad argument #1", socket.inet_ntoa, nil)
  end)
end)

describe("inet_pton", function()
  it("packs IPv4 text into 4 bytes", function()
    assert.equal("\1\2\3\4", socket.inet_pton(socket.AF_INET, "1.2.3.4"))
  end)

  it("packs IPv6 text into 16 bytes", function()
    assert.equal(V6_LOOPBACK, socket.inet_pton(socket.AF_INET6, "::1"))
    assert.equal(("\0"):rep(10) .. "\255\255\1\2\3\4",
                 socket.inet_pton(socket.AF_INET6, "::ffff:1.2.3.4"))
    local packed = socket.inet_pton(socket.AF_INET6,
                                    "2001:db8::8:800:200c:417a")
    assert.equal(16, #packed)
    assert.equal("\32\1\13\184", packed:sub(1, 4))
  end)

  it("raises an EINVAL error for text that is no address", function()
    local cases = {
      {socket.AF_INET, "127.1"},  -- inet_pton is strict, unlike inet_aton
      {socket.AF_INET, "1.2.3.4.5"},
      {socket.AF_INET, "::1"},
      {socket.AF_INET6, "1:2:3"},
      {socket.AF_INET6, "1.2.3.4"},
      {socket.AF_INET6, ":::"},
      {socket.AF_INET6, ""},
    }
    for _, c in ipairs(cases) do
      helpers.sockerr("EINVAL", "inet_pton", socket.inet_pton, c[1], c[2])
    end
  end)

  it("raises an EAFNOSUPPORT error for another family", function()
    helpers.sockerr("EAFNOSUPPORT", "inet_pton", socket.inet_pton,
                    socket.AF_UNIX, "1.2.3.4")
  end)

  it("raises argument errors for bad arguments", function()
    helpers.argerror("bad argument #1", socket.inet_pton, "inet", "1.2.3.4")
    helpers.argerror("bad argument #2", socket.inet_pton, socket.AF_INET)
    helpers.argerror("zero byte", socket.inet_pton, socket.AF_INET6,
                     "::1\0")
  end)
end)

describe("inet_ntop", function()
  it("formats packed IPv4 and IPv6 addresses", function()
    assert.equal("1.2.3.4", socket.inet_ntop(socket.AF_INET, "\1\2\3\4"))
    assert.equal("::1", socket.inet_ntop(socket.AF_INET6, V6_LOOPBACK))
    assert.equal("::", socket.inet_ntop(socket.AF_INET6, ("\0"):rep(16)))
  end)

  it("round-trips with inet_pton", function()
    for _, text in ipairs{"::1", "fe80::1", "2001:db8::1:0:0:1",
                          "::ffff:10.0.0.1"} do
      local packed = socket.inet_pton(socket.AF_INET6, text)
      assert.equal(text, socket.inet_ntop(socket.AF_INET6, packed))
    end
    assert.equal("10.1.2.3", socket.inet_ntop(socket.AF_INET,
      socket.inet_pton(socket.AF_INET, "10.1.2.3")))
  end)

  it("raises argument errors for wrong lengths", function()
    helpers.argerror("wrong length", socket.inet_ntop, socket.AF_INET,
                     "\1\2\3")
    helpers.argerror("wrong length", socket.inet_ntop, socket.AF_INET,
                     V6_LOOPBACK)
    helpers.argerror("wrong length", socket.inet_ntop, socket.AF_INET6,
                     "\1\2\3\4")
  end)

  it("raises argument errors for unknown families and types", function()
    helpers.argerror("unknown address family", socket.inet_ntop,
                     socket.AF_UNIX, "\1\2\3\4")
    helpers.argerror("bad argument #2", socket.inet_ntop, socket.AF_INET,
                     1234)
    helpers.argerror("bad argument #1", socket.inet_ntop, nil, "\1\2\3\4")
  end)
end)

describe("byte order", function()
  -- What the host's order makes of a big-endian value.
  local function swap16(x)
    return (string.unpack("=I2", string.pack(">I2", x)))
  end
  local function swap32(x)
    return (string.unpack("=I4", string.pack(">I4", x)))
  end

  it("htons and ntohs convert 16-bit values", function()
    for _, x in ipairs{0, 1, 0x1234, 0xff00, 65535} do
      assert.equal(swap16(x), socket.htons(x))
      assert.equal(swap16(x), socket.ntohs(x))
      assert.equal(x, socket.ntohs(socket.htons(x)))
    end
  end)

  it("htonl and ntohl convert 32-bit values", function()
    for _, x in ipairs{0, 1, 0x12345678, 0x7f000001, 0xffffffff} do
      assert.equal(swap32(x), socket.htonl(x))
      assert.equal(swap32(x), socket.ntohl(x))
      assert.equal(x, socket.ntohl(socket.htonl(x)))
    end
    assert.equal("integer", math.type(socket.htonl(1)))
  end)

  it("raises argument errors out of range", function()
    for _, f in ipairs{socket.htons, socket.ntohs} do
      helpers.argerror("0-65535", f, 65536)
      helpers.argerror("0-65535", f, 70000)
      helpers.argerror("0-65535", f, -1)
    end
    for _, f in ipairs{socket.htonl, socket.ntohl} do
      helpers.argerror("0-4294967295", f, 2^32)
      helpers.argerror("0-4294967295", f, 0x100000000)
      helpers.argerror("0-4294967295", f, -1)
    end
  end)

  it("raises argument errors for non-integers", function()
    helpers.argerror("bad argument #1", socket.htons, 1.5)
    helpers.argerror("bad argument #1", socket.htonl, "x")
    helpers.argerror("bad argument #1", socket.ntohl)
  end)
end)
