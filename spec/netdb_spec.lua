-- Name services: getaddrinfo, getnameinfo, gethostname, gethostbyname,
-- gethostbyname_ex, gethostbyaddr, getservbyname, getservbyport and
-- getprotobyname. No network: numeric addresses, "localhost" (/etc/hosts),
-- "http"/80 and "domain"/53 (/etc/services), "tcp"/6 (/etc/protocols), and
-- names under .invalid (RFC 6761) for the failures.

local socket = require "lsock"
local helpers = require "spec.helpers"

local INVALID = "no-such-host.lsock-spec.invalid"

-- Checks that e is a resolver error object of `kind` from `op`, with an
-- EAI_* (gaierror) or h_errno (herror) name whose value e.errno carries.
local function resolver_error(kind, op, f, ...)
  local e = helpers.fails(f, ...)
  assert.equal(socket.error, getmetatable(e), tostring(e))
  assert.equal(kind, e.kind)
  assert.equal(op, e.op)
  assert.equal("integer", math.type(e.errno))
  assert.equal("string", type(e.message))
  assert.is_true(#e.message > 0)
  if kind == "gaierror" then
    assert.truthy(e.name:match("^EAI_"), e.name)
    assert.equal(socket[e.name], e.errno)
  else
    local herrno = {HOST_NOT_FOUND = 1, TRY_AGAIN = 2, NO_RECOVERY = 3,
                    NO_DATA = 4}
    assert.equal(herrno[e.name], e.errno, e.name)
  end
  assert.truthy(tostring(e):find("^" .. op .. ".-: %[" .. e.name .. "%] "),
                tostring(e))
  return e
end

local function contains(list, value)
  for _, v in ipairs(list) do
    if v == value then return true end
  end
  return false
end

describe("getaddrinfo", function()
  after_each(helpers.cleanup)

  it("gives an array of entries for a numeric IPv4 host", function()
    local r = socket.getaddrinfo("127.0.0.1", 80)
    assert.equal("table", type(r))
    assert.is_true(#r >= 1)
    for _, e in ipairs(r) do
      assert.equal(socket.AF_INET, e.family)
      assert.equal("integer", math.type(e.type))
      assert.equal("integer", math.type(e.proto))
      assert.equal("", e.canonname)
      assert.same({"127.0.0.1", 80}, e.addr)
    end
  end)

  it("gives IPv6 addresses as the socket methods return them", function()
    local r = socket.getaddrinfo("::1", 8080, socket.AF_INET6,
                                 socket.SOCK_STREAM)
    assert.equal(1, #r)
    assert.equal(socket.AF_INET6, r[1].family)
    assert.equal(socket.SOCK_STREAM, r[1].type)
    assert.equal(socket.IPPROTO_TCP, r[1].proto)
    assert.same({"::1", 8080, 0, 0}, r[1].addr)
  end)

  it("filters by family, type and protocol", function()
    local r = socket.getaddrinfo("127.0.0.1", 53, socket.AF_INET,
                                 socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    assert.equal(1, #r)
    assert.equal(socket.SOCK_DGRAM, r[1].type)
    assert.equal(socket.IPPROTO_UDP, r[1].proto)
    local all = socket.getaddrinfo("127.0.0.1", 53)
    assert.is_true(#all > #r)  -- one entry per socket type by default
  end)

  it("takes a port as an integer, a numeric string, a name or nil",
     function()
    local function port(p)
      local r = socket.getaddrinfo("127.0.0.1", p, socket.AF_INET,
                                   socket.SOCK_STREAM)
      return r[1].addr[2]
    end
    assert.equal(80, port(80))
    assert.equal(80, port("80"))
    assert.equal(80, port("http"))
    assert.equal(0, port(nil))
    assert.equal(65535, port(65535))
  end)

  it("resolves localhost and a nil host", function()
    local r = socket.getaddrinfo("localhost", "http", socket.AF_INET,
                                 socket.SOCK_STREAM)
    assert.same({"127.0.0.1", 80}, r[1].addr)
    r = socket.getaddrinfo(nil, 0, socket.AF_INET, socket.SOCK_STREAM)
    assert.same({"127.0.0.1", 0}, r[1].addr)
    r = socket.getaddrinfo(nil, 0, socket.AF_INET, socket.SOCK_STREAM, 0,
                           socket.AI_PASSIVE)
    assert.same({"0.0.0.0", 0}, r[1].addr)
  end)

  it("gives the canonical name with AI_CANONNAME", function()
    local r = socket.getaddrinfo("localhost", nil, socket.AF_INET,
                                 socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
    assert.equal("localhost", r[1].canonname)
  end)

  it("returns addresses that bind works with", function()
    local r = socket.getaddrinfo("127.0.0.1", 0, socket.AF_INET,
                                 socket.SOCK_STREAM)
    local s = helpers.track(socket.socket(r[1].family, r[1].type,
                                          r[1].proto))
    s:bind(table.unpack(r[1].addr))
    local host, port = s:getsockname()
    assert.equal("127.0.0.1", host)
    assert.is_true(port > 0)
  end)

  it("raises a gaierror for an unknown host", function()
    local e = resolver_error("gaierror", "getaddrinfo", socket.getaddrinfo,
                             INVALID, 80)
    assert.truthy(tostring(e):find(INVALID, 1, true))
  end)

  it("raises EAI_SERVICE for an unknown service", function()
    local e = resolver_error("gaierror", "getaddrinfo", socket.getaddrinfo,
                             "127.0.0.1", "no-such-service")
    assert.equal("EAI_SERVICE", e.name)
  end)

  it("raises EAI_NONAME for a name under AI_NUMERICHOST", function()
    local e = resolver_error("gaierror", "getaddrinfo", socket.getaddrinfo,
                             "localhost", 80, socket.AF_INET, 0, 0,
                             socket.AI_NUMERICHOST)
    assert.equal("EAI_NONAME", e.name)
    e = resolver_error("gaierror", "getaddrinfo", socket.getaddrinfo, nil,
                       nil)
    assert.equal("EAI_NONAME", e.name)
  end)

  it("raises EAI_FAMILY for a family the resolver does not know", function()
    local e = resolver_error("gaierror", "getaddrinfo", socket.getaddrinfo,
                             "127.0.0.1", 80, socket.AF_UNIX)
    assert.equal("EAI_FAMILY", e.name)
    -- A v4 address asked for as v6 has no such address.
    e = resolver_error("gaierror", "getaddrinfo", socket.getaddrinfo,
                       "127.0.0.1", 80, socket.AF_INET6, 0, 0,
                       socket.AI_NUMERICHOST)
    assert.truthy(e.name == "EAI_ADDRFAMILY" or e.name == "EAI_NONAME" or
                  e.name == "EAI_FAMILY", e.name)
  end)

  it("raises argument errors for bad arguments", function()
    helpers.argerror("port must be 0-65535", socket.getaddrinfo,
                     "127.0.0.1", 70000)
    helpers.argerror("port must be 0-65535", socket.getaddrinfo,
                     "127.0.0.1", -1)
    helpers.argerror("port must be 0-65535", socket.getaddrinfo,
                     "127.0.0.1", "70000")
    helpers.argerror("bad argument #2", socket.getaddrinfo, "127.0.0.1", {})
    helpers.argerror("bad argument #2", socket.getaddrinfo, "127.0.0.1",
                     1.5)
    helpers.argerror("bad argument #1", socket.getaddrinfo, {}, 80)
    helpers.argerror("zero byte", socket.getaddrinfo, "127.0.0.1\0x", 80)
    helpers.argerror("bad argument #3", socket.getaddrinfo, "127.0.0.1",
                     80, "inet")
    helpers.argerror("bad argument #6", socket.getaddrinfo, "127.0.0.1",
                     80, 0, 0, 0, 2^40)
  end)
end)

describe("getnameinfo", function()
  it("gives numeric host and service on request", function()
    local flags = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
    local host, serv = socket.getnameinfo(flags, "127.0.0.1", 80)
    assert.equal("127.0.0.1", host)
    assert.equal("80", serv)
    host, serv = socket.getnameinfo(flags, "::1", 8080, 0, 0)
    assert.equal("::1", host)
    assert.equal("8080", serv)
  end)

  it("looks names up in /etc/hosts and /etc/services", function()
    local host, serv = socket.getnameinfo(0, "127.0.0.1", 80)
    assert.equal("string", type(host))
    assert.equal(host, (socket.gethostbyaddr("127.0.0.1")))
    assert.equal("http", serv)
    local _, dgram = socket.getnameinfo(socket.NI_DGRAM, "127.0.0.1", 53)
    assert.equal("domain", dgram)
  end)

  it("takes what getpeername returns", function()
    local c = helpers.tcp_pair()
    local host, serv = socket.getnameinfo(
      socket.NI_NUMERICHOST | socket.NI_NUMERICSERV, c:getpeername())
    assert.equal("127.0.0.1", host)
    assert.equal(select(2, c:getpeername()), tonumber(serv))
    helpers.cleanup()
  end)

  it("refuses a name: the host must be numeric, as in Python", function()
    local e = resolver_error("gaierror", "getnameinfo", socket.getnameinfo,
                             0, "localhost", 80)
    assert.equal("EAI_NONAME", e.name)
    resolver_error("gaierror", "getnameinfo", socket.getnameinfo, 0,
                   INVALID, 80)
  end)

  it("raises argument errors for bad addresses", function()
    helpers.argerror("host and port only", socket.getnameinfo, 0,
                     "127.0.0.1", 80, 0, 0)
    helpers.argerror("port must be 0-65535", socket.getnameinfo, 0,
                     "127.0.0.1", 65536)
    helpers.argerror("flowinfo", socket.getnameinfo, 0, "::1", 80, -1)
    helpers.argerror("flowinfo", socket.getnameinfo, 0, "::1", 80, 2^20)
    helpers.argerror("bad argument #1", socket.getnameinfo, "x",
                     "127.0.0.1", 80)
    helpers.argerror("bad argument #3", socket.getnameinfo, 0, "127.0.0.1")
  end)
end)

describe("gethostname", function()
  it("gives this host's name", function()
    local name = socket.gethostname()
    assert.equal("string", type(name))
    assert.is_true(#name > 0)
    local f = io.open("/proc/sys/kernel/hostname")
    if f then
      assert.equal(f:read("l"), name)
      f:close()
    end
  end)
end)

describe("gethostbyname", function()
  it("gives the IPv4 address of a name or numeric text", function()
    assert.equal("127.0.0.1", socket.gethostbyname("localhost"))
    assert.equal("127.0.0.1", socket.gethostbyname("127.0.0.1"))
    assert.equal("0.0.0.0", socket.gethostbyname(""))
    assert.equal("255.255.255.255", socket.gethostbyname("<broadcast>"))
  end)

  it("raises a gaierror for an unknown name, as Python does", function()
    resolver_error("gaierror", "gethostbyname", socket.gethostbyname,
                   INVALID)
  end)

  it("raises argument errors for non-strings", function()
    helpers.argerror("bad argument #1", socket.gethostbyname)
    helpers.argerror("bad argument #1", socket.gethostbyname, {})
    helpers.argerror("zero byte", socket.gethostbyname, "local\0host")
  end)
end)

describe("gethostbyname_ex", function()
  it("gives the name, the aliases and the IPv4 addresses", function()
    local name, aliases, addrs = socket.gethostbyname_ex("localhost")
    assert.equal("localhost", name)
    assert.same({}, aliases)
    assert.is_true(contains(addrs, "127.0.0.1"))
    for _, a in ipairs(addrs) do
      assert.truthy(a:match("^%d+%.%d+%.%d+%.%d+$"), a)
    end
    name, aliases, addrs = socket.gethostbyname_ex("127.0.0.1")
    assert.equal("127.0.0.1", name)
    assert.same({}, aliases)
    assert.same({"127.0.0.1"}, addrs)
  end)

  it("raises an herror for an unknown name", function()
    local e = resolver_error("herror", "gethostbyname_ex",
                             socket.gethostbyname_ex, INVALID)
    assert.truthy(e.name == "HOST_NOT_FOUND" or e.name == "TRY_AGAIN" or
                  e.name == "NO_DATA", e.name)
  end)

  it("raises argument errors for non-strings", function()
    helpers.argerror("bad argument #1", socket.gethostbyname_ex, nil)
    helpers.argerror("zero byte", socket.gethostbyname_ex, "a\0b")
  end)
end)

describe("gethostbyaddr", function()
  it("gives the name of an address, its aliases and the address",
     function()
    local name, aliases, addrs = socket.gethostbyaddr("127.0.0.1")
    assert.equal("string", type(name))
    assert.is_true(#name > 0)
    assert.equal("table", type(aliases))
    assert.same({"127.0.0.1"}, addrs)
  end)

  it("resolves a name first", function()
    local _, _, addrs = socket.gethostbyaddr("localhost")
    assert.equal(1, #addrs)
    assert.truthy(addrs[1] == "127.0.0.1" or addrs[1] == "::1", addrs[1])
  end)

  it("raises an herror for an unknown host", function()
    local e = resolver_error("herror", "gethostbyaddr",
                             socket.gethostbyaddr, INVALID)
    assert.truthy(e.name == "HOST_NOT_FOUND" or e.name == "TRY_AGAIN" or
                  e.name == "NO_DATA", e.name)
    assert.truthy(tostring(e):find(INVALID, 1, true))
  end)

  it("raises argument errors for non-strings", function()
    helpers.argerror("bad argument #1", socket.gethostbyaddr, nil)
    helpers.argerror("bad argument #1", socket.gethostbyaddr, true)
  end)
end)

describe("getservbyname", function()
  it("gives the port of a service", function()
    assert.equal(80, socket.getservbyname("http"))
    assert.equal(80, socket.getservbyname("http", "tcp"))
    assert.equal(53, socket.getservbyname("domain", "udp"))
  end)

  it("raises EAI_SERVICE for an unknown service or protocol", function()
    local e = resolver_error("gaierror", "getservbyname",
                             socket.getservbyname, "no-such-service")
    assert.equal("EAI_SERVICE", e.name)
    e = resolver_error("gaierror", "getservbyname", socket.getservbyname,
                       "http", "no-such-proto")
    assert.equal("EAI_SERVICE", e.name)
  end)

  it("raises argument errors for bad arguments", function()
    helpers.argerror("bad argument #1", socket.getservbyname)
    helpers.argerror("bad argument #2", socket.getservbyname, "http", {})
  end)
end)

describe("getservbyport", function()
  it("gives the name of a port's service", function()
    assert.equal("http", socket.getservbyport(80))
    assert.equal("http", socket.getservbyport(80, "tcp"))
    assert.equal("domain", socket.getservbyport(53, "udp"))
  end)

  it("raises EAI_SERVICE when no service has the port", function()
    local e = resolver_error("gaierror", "getservbyport",
                             socket.getservbyport, 80, "no-such-proto")
    assert.equal("EAI_SERVICE", e.name)
  end)

  it("raises argument errors for ports out of range", function()
    helpers.argerror("port must be 0-65535", socket.getservbyport, 65536)
    helpers.argerror("port must be 0-65535", socket.getservbyport, -1)
    helpers.argerror("bad argument #1", socket.getservbyport, "http")
  end)
end)

describe("getprotobyname", function()
  it("gives a protocol's number", function()
    assert.equal(socket.IPPROTO_TCP, socket.getprotobyname("tcp"))
    assert.equal(socket.IPPROTO_UDP, socket.getprotobyname("udp"))
    assert.equal(6, socket.getprotobyname("tcp"))
  end)

  it("raises EPROTONOSUPPORT for an unknown protocol", function()
    local e = helpers.sockerr("EPROTONOSUPPORT", "getprotobyname",
                              socket.getprotobyname, "no-such-proto")
    assert.equal("error", e.kind)
    assert.equal(socket.EPROTONOSUPPORT, e.errno)
  end)

  it("raises argument errors for non-strings", function()
    helpers.argerror("bad argument #1", socket.getprotobyname, {})
  end)
end)
