-- send, recv, sendall, recvfrom and sendto over TCP, UDP, Unix stream and
-- Unix datagram sockets.

local socket = require "lsock"
local helpers = require "spec.helpers"

-- Every byte value, embedded zeros included.
local BINARY = "a\0b\0\0c" .. (function()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return table.concat(t)
end)() .. "\0"

local function udp_unix()
  local s = helpers.track(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
  s:settimeout(helpers.TIMEOUT)
  return s
end

describe("send and recv", function()
  after_each(helpers.cleanup)

  it("carry binary data over TCP both ways", function()
    local c, conn = helpers.tcp_pair()
    local n = c:send(BINARY)
    assert.equal("integer", math.type(n))
    assert.is_true(n >= 1 and n <= #BINARY)
    assert.equal(BINARY:sub(1, n), helpers.recv_exactly(conn, n))
    assert.equal(4, conn:send("pong"))
    assert.equal("pong", helpers.recv_exactly(c, 4))
  end)

  it("carry binary data over a Unix stream", function()
    local c, conn = helpers.unix_pair()
    local n = conn:send(BINARY)
    assert.equal(#BINARY, n) -- a small write to an empty buffer goes whole
    assert.equal(BINARY, helpers.recv_exactly(c, #BINARY))
  end)

  it("take flags", function()
    local c, conn = helpers.tcp_pair()
    assert.equal(3, c:send("abc", 0))
    assert.equal("abc", helpers.recv_exactly(conn, 3))
  end)

  it("recv returns at most bufsize bytes", function()
    local c, conn = helpers.tcp_pair()
    c:sendall("0123456789")
    local first = conn:recv(4)
    assert.is_true(#first >= 1 and #first <= 4)
    assert.equal("0123456789", first .. helpers.recv_exactly(conn, 10 - #first))
  end)

  it("recv returns \"\" at the end of the stream", function()
    local c, conn = helpers.tcp_pair()
    c:sendall("last")
    c:close()
    assert.equal("last", helpers.recv_exactly(conn, 4))
    assert.equal("", conn:recv(10))
    assert.equal("", conn:recv(10))
  end)

  it("recv returns \"\" after the peer shuts down writing", function()
    local c, conn = helpers.unix_pair()
    c:shutdown(socket.SHUT_WR)
    assert.equal("", conn:recv(10))
    conn:sendall("still open")
    assert.equal("still open", helpers.recv_exactly(c, 10))
  end)

  it("recv(0) returns \"\" and leaves the data queued", function()
    local c, conn = helpers.tcp_pair()
    c:sendall("queued")
    -- wait until it has arrived
    assert.equal("q", conn:recv(1, socket.MSG_PEEK))
    assert.equal("", conn:recv(0))
    assert.equal("queued", helpers.recv_exactly(conn, 6))
  end)

  it("recv with MSG_PEEK leaves the data for the next recv", function()
    local c, conn = helpers.tcp_pair()
    c:sendall("peekaboo")
    local peeked
    for _ = 1, 100 do -- the bytes may arrive in more than one piece
      peeked = conn:recv(8, socket.MSG_PEEK)
      if #peeked == 8 then break end
    end
    assert.equal("peekaboo", peeked)
    assert.equal("peekaboo", helpers.recv_exactly(conn, 8))
  end)

  it("send raises EPIPE or ECONNRESET once the peer has gone", function()
    local c, conn = helpers.tcp_pair()
    conn:close()
    local chunk = ("x"):rep(1024)
    local deadline = helpers.now() + 5
    local e
    for _ = 1, 10000 do
      local ok, err = pcall(c.send, c, chunk)
      if not ok then e = err break end
      if helpers.now() > deadline then break end
    end
    assert.is_not_nil(e, "send never failed")
    assert.equal(socket.error, getmetatable(e))
    assert.truthy(e.name == "EPIPE" or e.name == "ECONNRESET", tostring(e))
    assert.equal("send", e.op)
    -- Reaching this line means no SIGPIPE killed the process.
  end)

  it("sendall raises EPIPE or ECONNRESET once the peer has gone", function()
    local c, conn = helpers.unix_pair()
    conn:close()
    local e = helpers.fails(function()
      for _ = 1, 100 do c:sendall(("y"):rep(65536)) end
    end)
    assert.equal(socket.error, getmetatable(e))
    assert.truthy(e.name == "EPIPE" or e.name == "ECONNRESET", tostring(e))
  end)
end)

describe("sendall", function()
  after_each(helpers.cleanup)

  it("sends everything and returns nothing", function()
    local c, conn = helpers.tcp_pair()
    local data = BINARY:rep(160) -- about 42 KB: fits the socket buffers
    assert.equal(0, select("#", c:sendall(data)))
    assert.equal(data, helpers.recv_exactly(conn, #data))
  end)

  it("takes flags", function()
    local c, conn = helpers.unix_pair()
    c:sendall("flagged", 0)
    assert.equal("flagged", helpers.recv_exactly(conn, 7))
  end)

  it("sends several MB to a reader in another process", function()
    -- The reader is bash with /dev/tcp and awk checking that every numbered
    -- line arrives once and in order; `timeout` bounds it.
    local l, _, port = helpers.tcp_listener()
    l:settimeout(20)
    local lines = 400000 -- 9 bytes each: 3.6 MB
    local child = assert(io.popen(("timeout 60 bash -c " ..
      "'exec 3<>/dev/tcp/127.0.0.1/%d && " ..
      "awk \"\\$1 != NR - 1 { bad++ } END { print NR, bad + 0 }\" <&3'"):format(
        port)))
    local ok, err = pcall(function()
      local conn = helpers.track((l:accept()))
      conn:settimeout(30)
      local t = {}
      for i = 0, lines - 1 do t[#t + 1] = ("%08d\n"):format(i) end
      local data = table.concat(t)
      assert.equal(lines * 9, #data)
      conn:sendall(data)
      conn:close()
    end)
    local out = child:read("a")
    child:close()
    assert.is_true(ok, tostring(err))
    assert.equal(("%d 0\n"):format(lines), out)
  end)
end)

describe("recvfrom and sendto over UDP", function()
  after_each(helpers.cleanup)

  it("carry a datagram and give the sender's address", function()
    local a, b, pa, pb = helpers.udp_pair()
    local n = a:sendto(BINARY, "127.0.0.1", pb)
    assert.equal(#BINARY, n)
    local r = table.pack(b:recvfrom(1024))
    assert.equal(3, r.n)
    assert.equal(BINARY, r[1])
    assert.equal("127.0.0.1", r[2])
    assert.equal(pa, r[3])
  end)

  it("sendto takes optional flags before the address", function()
    local a, b, _, pb = helpers.udp_pair()
    assert.equal(5, a:sendto("first", 0, "127.0.0.1", pb))
    assert.equal(6, a:sendto("second", "127.0.0.1", pb))
    assert.equal("first", (b:recvfrom(100)))
    assert.equal("second", (b:recvfrom(100)))
  end)

  it("keep datagram boundaries and truncate to bufsize", function()
    local a, b, _, pb = helpers.udp_pair()
    a:sendto("hello", "127.0.0.1", pb)
    a:sendto("world", "127.0.0.1", pb)
    assert.equal("he", b:recv(2))
    assert.equal("world", b:recv(100))
  end)

  it("deliver the largest UDP datagram whole to a large bufsize", function()
    local a, b, _, pb = helpers.udp_pair()
    local data = BINARY:rep(300):sub(1, 65507)
    assert.equal(65507, a:sendto(data, "127.0.0.1", pb))
    assert.equal(data, b:recv(200000))
  end)

  it("carry an empty datagram", function()
    local a, b, pa, pb = helpers.udp_pair()
    assert.equal(0, a:sendto("", "127.0.0.1", pb))
    assert.are.same({"", "127.0.0.1", pa}, {b:recvfrom(100)})
  end)

  it("recvfrom with MSG_PEEK leaves the datagram queued", function()
    local a, b, pa, pb = helpers.udp_pair()
    a:sendto("peek", "127.0.0.1", pb)
    assert.are.same({"peek", "127.0.0.1", pa},
                    {b:recvfrom(100, socket.MSG_PEEK)})
    assert.are.same({"peek", "127.0.0.1", pa}, {b:recvfrom(100)})
  end)

  it("give each sender's own host when senders alternate", function()
    -- 127.0.0.0/8 is all loopback: three senders on three hosts.
    local _, b, _, pb = helpers.udp_pair()
    local senders = {}
    for i, host in ipairs({ "127.0.0.2", "127.0.0.1", "127.0.0.3" }) do
      local s = helpers.track(socket.socket(socket.AF_INET,
                                            socket.SOCK_DGRAM))
      s:bind(host, 0)
      senders[i] = { s, host, select(2, s:getsockname()) }
    end
    for _, k in ipairs({ 1, 1, 2, 3, 2, 2, 1, 3, 3 }) do
      local s, host, port = table.unpack(senders[k])
      s:sendto("x" .. k, "127.0.0.1", pb)
      assert.are.same({ "x" .. k, host, port }, { b:recvfrom(100) })
    end
  end)

  it("send and recv work on a connected UDP socket", function()
    local a, b, pa, pb = helpers.udp_pair()
    a:connect("127.0.0.1", pb)
    assert.equal(4, a:send("ping"))
    assert.are.same({"ping", "127.0.0.1", pa}, {b:recvfrom(100)})
    b:sendto("pong", "127.0.0.1", pa)
    assert.equal("pong", a:recv(100))
  end)
end)

describe("recvfrom and sendto over Unix datagrams", function()
  after_each(helpers.cleanup)

  it("give \"\" as the address of an unnamed sender", function()
    local path = helpers.unix_path()
    local server = udp_unix()
    server:bind(path)
    local client = udp_unix()
    assert.equal(#BINARY, client:sendto(BINARY, path))
    local r = table.pack(server:recvfrom(1024))
    assert.equal(2, r.n)
    assert.equal(BINARY, r[1])
    assert.equal("", r[2])
  end)

  it("give the path of a bound sender, which can be answered", function()
    local path, cpath = helpers.unix_path(), helpers.unix_path("client")
    local server = udp_unix()
    server:bind(path)
    local client = udp_unix()
    client:bind(cpath)
    client:sendto("ping", 0, path)
    local data, from = server:recvfrom(100)
    assert.equal("ping", data)
    assert.equal(cpath, from)
    assert.equal(4, server:sendto("pong", from))
    assert.are.same({"pong", path}, {client:recvfrom(100)})
  end)

  it("deliver a datagram larger than 64 KB whole", function()
    local path = helpers.unix_path()
    local server = udp_unix()
    server:bind(path)
    local client = udp_unix()
    local data = BINARY:rep(400):sub(1, 100000)
    assert.equal(#data, client:sendto(data, path))
    assert.equal(data, server:recv(1024 * 1024))
  end)

  it("send and recv work once connected", function()
    local path = helpers.unix_path()
    local server = udp_unix()
    server:bind(path)
    local client = udp_unix()
    client:connect(path)
    assert.equal(3, client:send("a\0b"))
    assert.equal("a\0b", server:recv(100))
  end)
end)

describe("recvfrom over streams", function()
  after_each(helpers.cleanup)

  it("returns the data first", function()
    local c, conn = helpers.tcp_pair()
    c:sendall("stream")
    local data = conn:recvfrom(6)
    assert.equal("stream", data .. helpers.recv_exactly(conn, 6 - #data))
  end)
end)

describe("shutdown", function()
  after_each(helpers.cleanup)

  it("SHUT_WR ends the peer's stream and leaves the other direction open",
     function()
    local c, conn = helpers.tcp_pair()
    c:sendall("last words")
    c:shutdown(socket.SHUT_WR)
    assert.equal("last words", helpers.recv_exactly(conn, 10))
    assert.equal("", conn:recv(10))
    conn:sendall("reply")
    assert.equal("reply", helpers.recv_exactly(c, 5))
    helpers.sockerr("EPIPE", "send", c.send, c, "more")
  end)

  it("SHUT_RD makes local reads see end of stream", function()
    local c = helpers.unix_pair()
    c:shutdown(socket.SHUT_RD)
    assert.equal("", c:recv(10))
  end)

  it("SHUT_RDWR on a Unix stream ends both directions", function()
    local c, conn = helpers.unix_pair()
    c:shutdown(socket.SHUT_RDWR)
    assert.equal("", conn:recv(10))
    assert.equal("", c:recv(10))
  end)

  it("raises ENOTCONN on a socket that is not connected", function()
    local s = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    helpers.sockerr("ENOTCONN", "shutdown", s.shutdown, s, socket.SHUT_RDWR)
  end)

  it("rejects a bad how with an argument error", function()
    local c = helpers.tcp_pair()
    helpers.argerror("bad argument #1 to 'shutdown'", function()
      c:shutdown(7)
    end)
    helpers.argerror("bad argument #1 to 'shutdown'", function()
      c:shutdown("x")
    end)
  end)
end)
