-- The module table: constants, the error metatable, the default timeout's
-- home and the clock.

local socket = require "lsock"

describe("the module", function()
  it("is what require returns, every time", function()
    assert.equal(socket, require "lsock")
    assert.equal("string", type(socket._VERSION))
  end)

  it("opened again, keeps its sockets, tasks and default timeout", function()
    local a, b = socket.socketpair()
    socket.setdefaulttimeout(7)
    local loaded = package.loaded.lsock
    package.loaded.lsock = nil
    local ok, again = pcall(require, "lsock")
    package.loaded.lsock = loaded
    local t = ok and again.socket():gettimeout()
    socket.setdefaulttimeout(nil)
    assert.is_true(ok, again)
    assert.not_equal(socket, again)
    assert.equal(7, t)
    -- a task spawned through either table runs under the other's loop
    local got
    again.spawn(function() got = b:recv(1) end)
    socket.spawn(function() a:sendall("x") end)
    socket.run()
    assert.equal("x", got)
    assert.equal(socket.AF_UNIX, a.family)
    a:close()
    b:close()
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

describe("the generated constants", function()
  it("cover every group Python's socket module has", function()
    local groups = {"AF_", "SOCK_", "SOL_", "SO_", "IPPROTO_", "IPV6_", "IP_",
                    "TCP_", "MSG_", "SHUT_", "AI_", "NI_", "EAI_", "SCM_",
                    "INADDR_"}
    local seen = {}
    for name, value in pairs(socket) do
      for _, g in ipairs(groups) do
        if name:sub(1, #g) == g then
          seen[g] = (seen[g] or 0) + 1
          assert.equal("integer", math.type(value), name)
        end
      end
    end
    for _, g in ipairs(groups) do
      assert.is_true((seen[g] or 0) > 0, "no " .. g .. " constants")
    end
    assert.is_true(seen.SO_ > 20 and seen.IPPROTO_ > 10 and seen.AF_ > 10)
  end)

  it("include the options the socket methods take", function()
    for _, name in ipairs{"SO_BROADCAST", "SO_KEEPALIVE", "SO_RCVBUF",
                          "IP_ADD_MEMBERSHIP", "IP_MULTICAST_TTL",
                          "IPV6_JOIN_GROUP", "IPV6_V6ONLY", "TCP_KEEPIDLE",
                          "SCM_RIGHTS", "MSG_DONTWAIT", "MSG_NOSIGNAL",
                          "AI_CANONNAME", "NI_NAMEREQD", "NI_MAXHOST",
                          "EAI_SERVICE", "SOCK_NONBLOCK", "INADDR_ANY"} do
      assert.equal("integer", math.type(socket[name]), name)
    end
    assert.equal(0xffffffff, socket.INADDR_BROADCAST)
    assert.equal(0x7f000001, socket.INADDR_LOOPBACK)
    assert.is_true(socket.SOMAXCONN > 0)
  end)

  it("hold the values the system calls use", function()
    local s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    assert.equal(socket.AF_UNIX, s.family)
    assert.equal(socket.SOCK_DGRAM, s.type)
    assert.equal(socket.SOCK_DGRAM,
                 s:getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
    s:close()
    assert.equal(socket.IPPROTO_TCP, socket.getprotobyname("tcp"))
  end)
end)

describe("has_ipv6", function()
  it("is a boolean: whether an AF_INET6 socket can be made", function()
    assert.equal("boolean", type(socket.has_ipv6))
    local ok, s = pcall(socket.socket, socket.AF_INET6)
    if ok then s:close() end
    assert.equal(ok, socket.has_ipv6)
  end)
end)

describe("socketpair", function()
  local helpers = require "spec.helpers"
  after_each(helpers.cleanup)

  it("makes a connected AF_UNIX stream pair by default", function()
    local a, b = helpers.track(socket.socketpair())
    assert.equal(socket.AF_UNIX, a.family)
    assert.equal(socket.SOCK_STREAM, b.type)
    assert.not_equal(a:fileno(), b:fileno())
    a:settimeout(helpers.TIMEOUT)
    b:settimeout(helpers.TIMEOUT)
    a:sendall("ping\0pong")
    assert.equal("ping\0pong", helpers.recv_exactly(b, 9))
    b:sendall("back")
    assert.equal("back", helpers.recv_exactly(a, 4))
    assert.equal("", a:getpeername())
  end)

  it("makes datagram pairs", function()
    local a, b = helpers.track(socket.socketpair(socket.AF_UNIX,
                                                 socket.SOCK_DGRAM))
    assert.equal(socket.SOCK_DGRAM, a.type)
    b:settimeout(helpers.TIMEOUT)
    a:send("one")
    a:send("two")
    assert.equal("one", b:recv(100))
    assert.equal("two", b:recv(100))
  end)

  it("gives both sockets the default timeout", function()
    socket.setdefaulttimeout(2.5)
    local a, b = helpers.track(socket.socketpair())
    assert.equal(2.5, a:gettimeout())
    assert.equal(2.5, b:gettimeout())
    socket.setdefaulttimeout(nil)
    a, b = helpers.track(socket.socketpair(socket.AF_UNIX,
                         socket.SOCK_STREAM | socket.SOCK_NONBLOCK))
    assert.equal(0, a:gettimeout())
    assert.equal(0, b:gettimeout())
    helpers.sockerr("EAGAIN", "recv", a.recv, a, 1)
    helpers.sockerr("EAGAIN", "recv", b.recv, b, 1)
  end)

  it("raises the system's error for a family without pairs", function()
    local e = helpers.sockerr("EOPNOTSUPP", "socketpair", socket.socketpair,
                              socket.AF_INET)
    assert.equal("error", e.kind)
  end)

  it("raises argument errors for bad arguments", function()
    helpers.argerror("bad argument #1", socket.socketpair, "unix")
    helpers.argerror("unknown address family", socket.socketpair, -1)
    helpers.argerror("unknown socket type", socket.socketpair,
                     socket.AF_UNIX, 999)
    helpers.argerror("protocol out of range", socket.socketpair,
                     socket.AF_UNIX, socket.SOCK_STREAM, -1)
  end)

  it("leaks no descriptors", function()
    local before = helpers.fd_count()
    for _ = 1, 20 do
      local a, b = socket.socketpair()
      a:close()
      b:close()
      pcall(socket.socketpair, socket.AF_INET)
    end
    assert.equal(before, helpers.fd_count())
  end)
end)

describe("fromfd", function()
  local helpers = require "spec.helpers"
  local lfs = require "lfs"
  after_each(helpers.cleanup)

  it("makes a socket on a duplicate of the descriptor", function()
    local a, b = helpers.track(socket.socketpair())
    b:settimeout(helpers.TIMEOUT)
    local c = helpers.track(socket.fromfd(a:fileno(), socket.AF_UNIX,
                                          socket.SOCK_STREAM))
    assert.not_equal(a:fileno(), c:fileno())
    assert.equal(socket.AF_UNIX, c.family)
    assert.equal(socket.SOCK_STREAM, c.type)
    c:sendall("via copy")
    assert.equal("via copy", helpers.recv_exactly(b, 8))
    -- The original descriptor stays the caller's.
    c:close()
    assert.is_true(helpers.fd_open(a:fileno()))
    a:sendall("via original")
    assert.equal("via original", helpers.recv_exactly(b, 12))
  end)

  it("shares the socket: a copy of a listener accepts", function()
    local l, host, port = helpers.tcp_listener()
    local l2 = helpers.track(socket.fromfd(l:fileno(), socket.AF_INET,
                                           socket.SOCK_STREAM))
    l2:settimeout(helpers.TIMEOUT)
    assert.equal(socket.AF_INET, l2.family)
    assert.same({host, port}, {l2:getsockname()})
    local c = helpers.track(socket.socket())
    c:settimeout(helpers.TIMEOUT)
    c:connect(host, port)
    local conn = helpers.track((l2:accept()))
    conn:settimeout(helpers.TIMEOUT)
    c:sendall("hello")
    assert.equal("hello", helpers.recv_exactly(conn, 5))
  end)

  it("gives the socket the default timeout", function()
    local a = helpers.track(socket.socketpair())
    socket.setdefaulttimeout(1.5)
    local c = helpers.track(socket.fromfd(a:fileno(), socket.AF_UNIX,
                                          socket.SOCK_STREAM))
    assert.equal(1.5, c:gettimeout())
  end)

  it("raises EBADF for a closed descriptor", function()
    local s = socket.socket()
    local fd = s:fileno()
    s:close()
    helpers.sockerr("EBADF", "fromfd", socket.fromfd, fd, socket.AF_INET,
                    socket.SOCK_STREAM)
  end)

  it("raises ENOTSOCK for a descriptor that is no socket", function()
    local fd
    for name in lfs.dir("/proc/self/fd") do
      local a = lfs.symlinkattributes("/proc/self/fd/" .. name)
      if a and a.target and not a.target:match("^socket:") and
         not a.target:match("^/proc/") then
        fd = tonumber(name)
        break
      end
    end
    assert.is_not_nil(fd, "no descriptor that is not a socket")
    local before = helpers.fd_count()
    helpers.sockerr("ENOTSOCK", "fromfd", socket.fromfd, fd, socket.AF_INET,
                    socket.SOCK_STREAM)
    assert.equal(before, helpers.fd_count())
  end)

  it("raises argument errors for bad arguments", function()
    helpers.argerror("bad file descriptor", socket.fromfd, -1,
                     socket.AF_INET, socket.SOCK_STREAM)
    helpers.argerror("bad argument #2", socket.fromfd, 0)
    helpers.argerror("bad argument #3", socket.fromfd, 0, socket.AF_INET)
    helpers.argerror("bad argument #1", socket.fromfd, "x", socket.AF_INET,
                     socket.SOCK_STREAM)
  end)
end)
