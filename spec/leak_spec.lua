-- Descriptor leaks: many sockets closed explicitly or left to the garbage
-- collector must leave /proc/self/fd as it was.

local socket = require "lsock"
local helpers = require "spec.helpers"

-- Settles garbage from earlier specs, so that its collection does not
-- land in the middle of a measurement.
local function settle()
  collectgarbage()
  collectgarbage()
end

describe("descriptors", function()
  after_each(helpers.cleanup)

  it("are counted by the helper (so the checks below can fail)", function()
    settle()
    local before = helpers.fd_count()
    local held = {}
    for i = 1, 10 do held[i] = socket.socket() end
    assert.equal(before + 10, helpers.fd_count())
    for i = 1, 10 do held[i]:close() end
    assert.equal(before, helpers.fd_count())
  end)

  it("do not leak over 10,000 sockets created and closed", function()
    settle()
    local before = helpers.fd_count()
    local t0 = helpers.now()
    for i = 1, 10000 do
      local s = socket.socket(i % 2 == 0 and socket.AF_INET or socket.AF_UNIX,
                              i % 3 == 0 and socket.SOCK_DGRAM
                                         or socket.SOCK_STREAM)
      s:close()
      if helpers.now() - t0 > 120 then error("too slow at socket " .. i) end
    end
    settle()
    assert.equal(before, helpers.fd_count())
  end)

  it("do not leak over 5,000 sockets dropped to the collector", function()
    settle()
    local before = helpers.fd_count()
    local t0 = helpers.now()
    for i = 1, 5000 do
      local _ = socket.socket()
      if helpers.now() - t0 > 120 then error("too slow at socket " .. i) end
    end
    settle()
    assert.equal(before, helpers.fd_count())
  end)

  it("do not leak through <close> variables", function()
    settle()
    local before = helpers.fd_count()
    for _ = 1, 1000 do
      local s <close> = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
      s:bind("127.0.0.1", 0)
    end
    assert.equal(before, helpers.fd_count())
  end)

  it("do not leak over connections accepted and closed", function()
    settle()
    local before = helpers.fd_count()
    local l, host, port = helpers.tcp_listener()
    local baseline = helpers.fd_count()
    assert.equal(before + 1, baseline)
    for _ = 1, 300 do
      local c = socket.socket()
      c:settimeout(helpers.TIMEOUT)
      c:connect(host, port)
      local conn = l:accept()
      conn:sendall("x")
      assert.equal("x", c:recv(1))
      c:close()
      conn:close()
    end
    assert.equal(baseline, helpers.fd_count())
    l:close()
    assert.equal(before, helpers.fd_count())
  end)

  it("do not leak over failures", function()
    settle()
    local before = helpers.fd_count()
    local port = helpers.free_port()
    for _ = 1, 300 do
      local s = socket.socket()
      assert.is_false(pcall(s.connect, s, "127.0.0.1", port))
      assert.is_false(pcall(s.getpeername, s))
      s:close()
    end
    for _ = 1, 300 do -- and failures left to the collector
      local s = socket.socket()
      pcall(s.connect, s, "127.0.0.1", port)
    end
    settle()
    assert.equal(before, helpers.fd_count())
  end)
end)
