-- Bug: s:recv(0) with nothing waiting to be read does not return "" at
-- once, as Python's recv(0) does (CPython's sock_recv_guts returns 0 for a
-- zero-byte request without a system call). lsock passes the 0 to recv(2),
-- which on a non-blocking descriptor says EAGAIN, so the call waits for
-- data: a blocking socket hangs until the peer sends something, a socket
-- with a timeout raises ETIMEDOUT, a non-blocking one raises EAGAIN.
-- (bindings/l_socket.c, dorecv.)

local socket = require "lsock"
local helpers = require "spec.helpers"

describe("regression: recv(0) with nothing waiting", function()
  after_each(helpers.cleanup)

  it("returns \"\" at once on a socket with a timeout", function()
    local c = helpers.tcp_pair()
    c:settimeout(0.5)
    local t0 = helpers.now()
    local ok, r = pcall(c.recv, c, 0)
    local took = helpers.now() - t0
    assert.is_true(ok, tostring(r))
    assert.equal("", r)
    assert.is_true(took < 0.25, ("took %.3f s"):format(took))
  end)

  it("returns \"\" on a non-blocking socket", function()
    local c = helpers.tcp_pair()
    c:settimeout(0)
    local ok, r = pcall(c.recv, c, 0)
    assert.is_true(ok, tostring(r))
    assert.equal("", r)
  end)

  it("still raises EBADF on a closed socket", function()
    local c = helpers.tcp_pair()
    c:close()
    helpers.sockerr("EBADF", "recv", c.recv, c, 0)
  end)
end)
