-- Specs for multicast and broadcast: the mreq/mreq6 builders and the
-- options they feed. Nothing here sends to a broadcast or multicast
-- address: joining a group on the loopback interface only sets an option.

local socket = require "lsock"
local helpers = require "spec.helpers"

local track = helpers.track

local GROUP = "239.255.77.1"
local GROUP6 = "ff02::77:1"
local LO_INDEX = 1 -- the loopback interface's index on Linux

local function udp(family)
  return track(socket.socket(family or socket.AF_INET, socket.SOCK_DGRAM))
end

describe("socket.mreq", function()
  it("builds an ip_mreq from a group and an interface address", function()
    local m = socket.mreq(GROUP, "127.0.0.1")
    assert.equal(8, #m)
    assert.equal(socket.inet_aton(GROUP), m:sub(1, 4))
    assert.equal(socket.inet_aton("127.0.0.1"), m:sub(5, 8))
    assert.equal(socket.inet_aton(GROUP) .. "\0\0\0\0", socket.mreq(GROUP))
  end)

  it("builds an ip_mreqn from a group and an interface index", function()
    local m = socket.mreq(GROUP, LO_INDEX)
    assert.equal(12, #m)
    assert.equal(socket.inet_aton(GROUP), m:sub(1, 4))
    assert.equal("\0\0\0\0", m:sub(5, 8))
    assert.equal(LO_INDEX, string.unpack("i4", m, 9))
  end)

  it("rejects what is not an IPv4 address", function()
    helpers.sockerr("EINVAL", "mreq", socket.mreq, "239.1.2")
    helpers.sockerr("EINVAL", "mreq", socket.mreq, "ff02::1")
    helpers.sockerr("EINVAL", "mreq", socket.mreq, GROUP, "lo")
    helpers.argerror("interface index out of range", socket.mreq, GROUP, -1)
    helpers.argerror("IPv4 address or interface index expected",
                     socket.mreq, GROUP, {})
    helpers.argerror("string expected", socket.mreq, nil)
  end)
end)

describe("socket.mreq6", function()
  it("builds an ipv6_mreq", function()
    local m = socket.mreq6(GROUP6, LO_INDEX)
    assert.equal(20, #m)
    assert.equal(socket.inet_pton(socket.AF_INET6, GROUP6), m:sub(1, 16))
    assert.equal(LO_INDEX, string.unpack("I4", m, 17))
    assert.equal(0, string.unpack("I4", socket.mreq6(GROUP6), 17))
  end)

  it("rejects what is not an IPv6 address and bad indexes", function()
    helpers.sockerr("EINVAL", "mreq6", socket.mreq6, GROUP)
    helpers.argerror("interface index out of range", socket.mreq6, GROUP6,
                     1 << 33)
    helpers.argerror("number expected", socket.mreq6, GROUP6, "lo")
  end)
end)

describe("multicast and broadcast options", function()
  after_each(helpers.cleanup)

  it("are exported as constants", function()
    for _, name in ipairs({ "SO_BROADCAST", "IP_ADD_MEMBERSHIP",
                            "IP_DROP_MEMBERSHIP", "IP_MULTICAST_TTL",
                            "IP_MULTICAST_LOOP", "IP_MULTICAST_IF",
                            "IPV6_JOIN_GROUP", "IPV6_LEAVE_GROUP",
                            "IPV6_MULTICAST_HOPS", "IPV6_MULTICAST_LOOP",
                            "IPV6_MULTICAST_IF" }) do
      assert.is_number(socket[name], name)
    end
  end)

  it("set and read SO_BROADCAST", function()
    local u = udp()
    assert.equal(0, u:getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST))
    u:setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, true)
    assert.equal(1, u:getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST))
  end)

  it("set and read the IPv4 multicast TTL, loop and interface", function()
    local u = udp()
    u:setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 5)
    assert.equal(5, u:getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL))
    u:setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    assert.equal(0, u:getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP))
    u:setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                 socket.inet_aton("127.0.0.1"))
    assert.equal(socket.inet_aton("127.0.0.1"),
      u:getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4))
  end)

  it("join and leave an IPv4 group on loopback", function()
    local u = udp()
    u:bind("127.0.0.1", 0)
    u:setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.mreq(GROUP, "127.0.0.1"))
    u:setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP,
                 socket.mreq(GROUP, "127.0.0.1"))
    u:setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.mreq(GROUP, LO_INDEX))
    -- Joining twice is the kernel's error, raised as an lsock error.
    local e = helpers.fails(u.setsockopt, u, socket.IPPROTO_IP,
                            socket.IP_ADD_MEMBERSHIP,
                            socket.mreq(GROUP, LO_INDEX))
    assert.equal(socket.error, getmetatable(e))
    assert.equal("setsockopt", e.op)
  end)

  it("refuse a group that is not multicast", function()
    local u = udp()
    local e = helpers.fails(u.setsockopt, u, socket.IPPROTO_IP,
                            socket.IP_ADD_MEMBERSHIP,
                            socket.mreq("127.0.0.1", "127.0.0.1"))
    assert.equal(socket.error, getmetatable(e))
  end)

  it("set and read the IPv6 options and join an IPv6 group", function()
    if not helpers.has_ipv6() then
      pending("no IPv6 on loopback")
      return
    end
    local u = udp(socket.AF_INET6)
    u:setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 7)
    assert.equal(7, u:getsockopt(socket.IPPROTO_IPV6,
                                 socket.IPV6_MULTICAST_HOPS))
    u:setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    assert.equal(0, u:getsockopt(socket.IPPROTO_IPV6,
                                 socket.IPV6_MULTICAST_LOOP))
    u:setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                 socket.mreq6(GROUP6, LO_INDEX))
    u:setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP,
                 socket.mreq6(GROUP6, LO_INDEX))
  end)
end)
