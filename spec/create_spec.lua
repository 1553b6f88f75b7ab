-- Specs for create_connection (address lists, timeouts, source addresses,
-- racing attempts as RFC 8305 describes, in and out of tasks) and
-- create_server. Loopback only: a stalled address is a listener whose
-- backlog is full, so that its SYNs go unanswered.

local socket = require "lsock"
local helpers = require "spec.helpers"

local track = helpers.track

-- A listener on `host` with listen(0) and one connection nobody accepts:
-- further connection attempts to it stall. Returns the listener.
local function stall(l, family, host, port)
  l:listen(0)
  local filler = track(socket.socket(family, socket.SOCK_STREAM))
  filler:settimeout(helpers.TIMEOUT)
  filler:connect(host, port)
  return l
end

-- A good listener on 127.0.0.1 and a stalled one on ::1 with the same port
-- number (port 0 picks it; retried when ::1 has it taken). Returns the good
-- listener and the port, or nil without IPv6.
local function split_ports()
  if not helpers.has_ipv6() then return nil end
  for _ = 1, 20 do
    local good = track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    good:bind("127.0.0.1", 0)
    good:listen()
    local _, port = good:getsockname()
    local bad = track(socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
    if pcall(bad.bind, bad, "::1", port) then
      stall(bad, socket.AF_INET6, "::1", port)
      return good, port
    end
    good:close()
    bad:close()
  end
  error("no port free on both 127.0.0.1 and ::1 in 20 tries")
end

-- A port refused on both 127.0.0.1 and ::1 (nothing listens there).
local function refused_port()
  return helpers.free_port()
end

describe("create_connection", function()
  after_each(helpers.cleanup)

  it("connects to 127.0.0.1 and returns a working socket", function()
    local l, _, port = helpers.tcp_listener()
    local c = track(socket.create_connection("127.0.0.1", port))
    local conn = track((l:accept()))
    c:sendall("ping")
    assert.equal("ping", helpers.recv_exactly(conn, 4))
    assert.equal(socket.AF_INET, c.family)
    assert.equal(socket.SOCK_STREAM, c.type)
    local _, p = c:getpeername()
    assert.equal(port, p)
    assert.is_nil(c:gettimeout())
  end)

  it("connects to localhost, trying what the name resolves to", function()
    local l, _, port = helpers.tcp_listener()
    local c = track(socket.create_connection("localhost", port, 5))
    track((l:accept()))
    assert.equal("127.0.0.1", (c:getpeername()))
  end)

  it("gives the socket the timeout, or the module default", function()
    local _, _, port = helpers.tcp_listener()
    local c = track(socket.create_connection("127.0.0.1", port, 2.5))
    assert.equal(2.5, c:gettimeout())
    socket.setdefaulttimeout(3)
    c = track(socket.create_connection("127.0.0.1", port))
    assert.equal(3, c:gettimeout())
    c = track(socket.create_connection("127.0.0.1", port, { timeout = 1 }))
    assert.equal(1, c:gettimeout())
  end)

  it("binds the source address first", function()
    local l, _, port = helpers.tcp_listener()
    local c = track(socket.create_connection("127.0.0.1", port, nil,
                                             "127.0.0.1", 0))
    local conn = track((l:accept()))
    local host, sport = c:getsockname()
    assert.equal("127.0.0.1", host)
    assert.equal(sport, select(2, conn:getpeername()))
    local want = helpers.free_port()
    c = track(socket.create_connection("127.0.0.1", port,
      { source_host = "127.0.0.1", source_port = want, timeout = 5 }))
    assert.equal(want, select(2, c:getsockname()))
  end)

  it("names every address tried when all are refused", function()
    local port = refused_port()
    local e = helpers.sockerr("ECONNREFUSED", "create_connection",
                              socket.create_connection, "127.0.0.1", port)
    assert.equal("error", e.kind)
    assert.equal("127.0.0.1:" .. port, e.address)
    assert.equal(1, #e.errors)
    assert.equal("ECONNREFUSED", e.errors[1].name)
    assert.equal("connect", e.errors[1].op)
    assert.matches("create_connection 127.0.0.1:" .. port, tostring(e),
                   1, true)
    if helpers.has_ipv6() then
      e = helpers.sockerr("ECONNREFUSED", "create_connection",
                          socket.create_connection, { "::1", "127.0.0.1" },
                          port, 5)
      assert.equal("[::1]:" .. port .. ", 127.0.0.1:" .. port, e.address)
      assert.equal(2, #e.errors)
      assert.equal("[::1]:" .. port, e.errors[1].address)
      assert.equal("127.0.0.1:" .. port, e.errors[2].address)
    end
  end)

  it("raises a gaierror for a name that does not resolve", function()
    local e = helpers.fails(socket.create_connection, "nonexistent.invalid",
                            80, 5)
    assert.equal(socket.error, getmetatable(e))
    assert.equal("gaierror", e.kind)
    assert.equal("create_connection", e.op)
    assert.equal("nonexistent.invalid:80", e.address)
  end)

  it("times out over the whole attempt", function()
    local l = track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    l:bind("127.0.0.1", 0)
    local _, port = l:getsockname()
    stall(l, socket.AF_INET, "127.0.0.1", port)
    local t0 = helpers.now()
    local e = helpers.sockerr("ETIMEDOUT", "create_connection",
                              socket.create_connection, "127.0.0.1", port,
                              0.3)
    local dt = helpers.now() - t0
    assert.equal("timeout", e.kind)
    assert.is_true(dt >= 0.25 and dt < 2, "took " .. dt)
    assert.equal("ETIMEDOUT", e.errors[1].name)
  end)

  it("checks its arguments", function()
    helpers.argerror("port must be 0-65535", socket.create_connection,
                     "127.0.0.1", 70000)
    helpers.argerror("number expected", socket.create_connection,
                     "127.0.0.1", "http")
    helpers.argerror("timeout must be non-negative",
                     socket.create_connection, "127.0.0.1", 80, -1)
    helpers.argerror("unknown option 'timout'", socket.create_connection,
                     "127.0.0.1", 80, { timout = 1 })
    helpers.argerror("happy_eyeballs_delay", socket.create_connection,
                     "127.0.0.1", 80, { happy_eyeballs_delay = "x" })
    helpers.argerror("host list must hold 1-64 hosts",
                     socket.create_connection, {}, 80)
    helpers.argerror("host 2 must be a string", socket.create_connection,
                     { "127.0.0.1", 5 }, 80)
    helpers.argerror("zero bytes", socket.create_connection, "a\0b", 80)
    helpers.argerror("source port must be 0-65535",
                     socket.create_connection, "127.0.0.1", 80, nil,
                     "127.0.0.1", 99999)
  end)

  it("works inside a task, suspending only the task", function()
    local l, _, port = helpers.tcp_listener()
    local ticks = 0
    local ticker = socket.spawn(function()
      for _ = 1, 5 do
        socket.sleep(0.01)
        ticks = ticks + 1
      end
    end)
    local t = socket.spawn(function()
      local c = socket.create_connection("localhost", port, 5)
      c:sendall("from a task")
      return c
    end)
    local c = track(t:join(5))
    local conn = track((l:accept()))
    assert.equal("from a task", helpers.recv_exactly(conn, 11))
    ticker:join(5)
    assert.equal(5, ticks)
    assert.equal(5, c:gettimeout())
  end)

  it("times out inside a task while the others run", function()
    local l = track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    l:bind("127.0.0.1", 0)
    local _, port = l:getsockname()
    stall(l, socket.AF_INET, "127.0.0.1", port)
    local ticks = 0
    local ticker = socket.spawn(function()
      for _ = 1, 5 do
        socket.sleep(0.02)
        ticks = ticks + 1
      end
    end)
    local t = socket.spawn(function()
      return pcall(socket.create_connection, "127.0.0.1", port, 0.3)
    end)
    local ok, e = t:join(5)
    assert.is_false(ok)
    assert.equal("timeout", e.kind)
    ticker:join(5)
    assert.equal(5, ticks)
  end)

  describe("racing addresses (RFC 8305)", function()
    -- "localhost" resolves to 127.0.0.1 alone on many hosts, so these use
    -- a host list (::1 first) to choose what is raced.

    it("falls back to 127.0.0.1 when ::1 stalls, after the delay", function()
      local good, port = split_ports()
      if not good then
        pending("no IPv6 on loopback")
        return
      end
      local before = helpers.fd_count()
      local t0 = helpers.now()
      local c = socket.create_connection({ "::1", "127.0.0.1" }, port,
                                         { timeout = 5 })
      local dt = helpers.now() - t0
      assert.equal(socket.AF_INET, c.family)
      assert.equal("127.0.0.1", (c:getpeername()))
      assert.is_true(dt >= 0.2 and dt < 2, "took " .. dt)
      -- The loser (the stalled ::1 attempt) is closed: one new descriptor.
      assert.equal(before + 1, helpers.fd_count())
      c:close()
      track((good:accept()))
    end)

    it("uses the delay it is given", function()
      local good, port = split_ports()
      if not good then
        pending("no IPv6 on loopback")
        return
      end
      local t0 = helpers.now()
      local c = track(socket.create_connection({ "::1", "127.0.0.1" }, port,
        { timeout = 5, happy_eyeballs_delay = 0.05 }))
      local dt = helpers.now() - t0
      assert.equal(socket.AF_INET, c.family)
      assert.is_true(dt >= 0.04 and dt < 0.2, "took " .. dt)
    end)

    it("interleaves families: 127.0.0.1 goes second, not third", function()
      local good, port = split_ports()
      if not good then
        pending("no IPv6 on loopback")
        return
      end
      local t0 = helpers.now()
      local c = track(socket.create_connection({ "::1", "::1", "127.0.0.1" },
        port, { timeout = 5, happy_eyeballs_delay = 0.3 }))
      local dt = helpers.now() - t0
      assert.equal(socket.AF_INET, c.family)
      assert.is_true(dt >= 0.25 and dt < 0.55, "took " .. dt)
    end)

    it("starts the next attempt at once when one is refused", function()
      if not helpers.has_ipv6() then
        pending("no IPv6 on loopback")
        return
      end
      local l, _, port = helpers.tcp_listener()
      local t0 = helpers.now()
      -- Nothing listens on ::1 at that port (refused at once).
      local ok, c = pcall(socket.create_connection, { "::1", "127.0.0.1" },
                          port, { timeout = 5, happy_eyeballs_delay = 2 })
      if not ok and c.name == "EADDRINUSE" then error(c) end
      assert.is_true(ok, tostring(c))
      track(c)
      assert.is_true(helpers.now() - t0 < 1)
      assert.equal(socket.AF_INET, c.family)
      track((l:accept()))
    end)

    it("tries one address at a time with happy_eyeballs_delay = false",
       function()
      local good, port = split_ports()
      if not good then
        pending("no IPv6 on loopback")
        return
      end
      local e = helpers.sockerr("ETIMEDOUT", "create_connection",
        socket.create_connection, { "::1", "127.0.0.1" }, port,
        { timeout = 0.4, happy_eyeballs_delay = false })
      -- 127.0.0.1 was never tried: only ::1 is named.
      assert.equal("[::1]:" .. port, e.address)
      assert.equal(1, #e.errors)
    end)

    it("races inside a task while other tasks run", function()
      local good, port = split_ports()
      if not good then
        pending("no IPv6 on loopback")
        return
      end
      local ticks = 0
      local ticker = socket.spawn(function()
        for _ = 1, 5 do
          socket.sleep(0.02)
          ticks = ticks + 1
        end
      end)
      local t = socket.spawn(function()
        local c = socket.create_connection({ "::1", "127.0.0.1" }, port,
                                           { timeout = 5 })
        return c.family, c
      end)
      local family, c = t:join(5)
      track(c)
      assert.equal(socket.AF_INET, family)
      ticker:join(5)
      assert.equal(5, ticks)
    end)
  end)
end)

describe("create_server", function()
  after_each(helpers.cleanup)

  it("listens on 127.0.0.1 with SO_REUSEADDR on", function()
    local s = track(socket.create_server("127.0.0.1", 0))
    assert.equal(socket.AF_INET, s.family)
    assert.is_true(s:getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) ~= 0)
    assert.equal(1, s:getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    local _, port = s:getsockname()
    local c = track(socket.create_connection("127.0.0.1", port, 5))
    s:settimeout(5)
    local conn = track((s:accept()))
    c:sendall("hi")
    assert.equal("hi", helpers.recv_exactly(conn, 2))
  end)

  it("takes backlog and reuse_port", function()
    local s = track(socket.create_server("127.0.0.1", 0,
                                         { backlog = 1, reuse_port = true }))
    assert.is_true(s:getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) ~= 0)
    local _, port = s:getsockname()
    -- A second server on the same port is fine with reuse_port on both.
    track(socket.create_server("127.0.0.1", port, { reuse_port = true }))
  end)

  it("is IPv6 only on AF_INET6 unless dualstack_ipv6", function()
    if not helpers.has_ipv6() then
      pending("no IPv6 on loopback")
      return
    end
    local s = track(socket.create_server("::1", 0,
                                         { family = socket.AF_INET6 }))
    assert.equal(socket.AF_INET6, s.family)
    assert.equal(1, s:getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
    assert.is_boolean(socket.has_dualstack_ipv6())
    if not socket.has_dualstack_ipv6() then return end
    -- A v4-mapped loopback address keeps the test on loopback.
    local d = track(socket.create_server("::ffff:127.0.0.1", 0,
      { family = socket.AF_INET6, dualstack_ipv6 = true }))
    assert.equal(0, d:getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
    local _, port = d:getsockname()
    local c = track(socket.create_connection("127.0.0.1", port, 5))
    d:settimeout(5)
    local conn, host = d:accept()
    track(conn)
    assert.equal("::ffff:127.0.0.1", host)
    c:sendall("v4")
    assert.equal("v4", helpers.recv_exactly(conn, 2))
  end)

  it("raises create_server errors naming the address", function()
    local s = track(socket.create_server("127.0.0.1", 0))
    local _, port = s:getsockname()
    local before = helpers.fd_count()
    local e = helpers.sockerr("EADDRINUSE", "create_server",
                              socket.create_server, "127.0.0.1", port)
    assert.equal("127.0.0.1:" .. port, e.address)
    assert.equal(before, helpers.fd_count()) -- the failed socket is closed
    e = helpers.fails(socket.create_server, "nonexistent.invalid", 0)
    assert.equal("gaierror", e.kind)
  end)

  it("checks its arguments", function()
    helpers.argerror("family must be AF_INET or AF_INET6",
                     socket.create_server, "127.0.0.1", 0,
                     { family = socket.AF_UNIX })
    helpers.argerror("dualstack_ipv6 requires AF_INET6 family",
                     socket.create_server, "127.0.0.1", 0,
                     { dualstack_ipv6 = true })
    helpers.argerror("unknown option 'backlg'", socket.create_server,
                     "127.0.0.1", 0, { backlg = 1 })
    helpers.argerror("port must be 0-65535", socket.create_server,
                     "127.0.0.1", -1)
    helpers.argerror("backlog must be an integer", socket.create_server,
                     "127.0.0.1", 0, { backlog = "x" })
    helpers.argerror("table expected", socket.create_server, "127.0.0.1", 0,
                     5)
  end)
end)
