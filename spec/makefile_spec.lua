-- s:makefile(): the file object, which follows io's file handles: read
-- formats, lines, write and its buffering modes, flush, close, setvbuf and
-- seek, the lifetime shared with the socket, timeouts and large transfers.

local socket = require "lsock"
local helpers = require "spec.helpers"

local TIMEOUT = helpers.TIMEOUT

-- A connected TCP pair over loopback, both with the helpers' timeout.
local function pair()
  local a, b = helpers.tcp_pair()
  return a, b
end

-- A file on s, closed in cleanup if the spec leaves it open.
local function file(s, ...)
  return helpers.track(s:makefile(...))
end

-- A pair whose first socket nothing but the caller holds, so that it can
-- become garbage: the helpers track every socket they make.
local function untracked_pair()
  local l, host, port = helpers.tcp_listener()
  local a = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
  a:settimeout(TIMEOUT)
  a:connect(host, port)
  local b = helpers.track((l:accept()))
  b:settimeout(TIMEOUT)
  return a, b
end

-- What peer s receives within `wait` seconds (0.1 by default): the bytes,
-- or nil when nothing arrives before the timeout.
local function arrival(s, wait)
  s:settimeout(wait or 0.1)
  local ok, data = pcall(s.recv, s, 1 << 20)
  s:settimeout(TIMEOUT)
  if ok then return data end
  assert(getmetatable(data) == socket.error and data.kind == "timeout",
         "expected a timeout, got " .. tostring(data))
  return nil
end

-- Everything peer s receives up to the end of the stream (bounded).
local function drain(s)
  local parts = {}
  for _ = 1, 100000 do
    local chunk = s:recv(1 << 20)
    if chunk == "" then return table.concat(parts) end
    parts[#parts + 1] = chunk
  end
  error("the stream did not end")
end

-- n bytes that never repeat a 4-byte counter, so that a lost, duplicated
-- or reordered piece shows up in a comparison.
local function pattern(n)
  local seed, t = 12345, {}
  for i = 1, 256 do
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    t[i] = string.char(seed >> 16 & 0xff)
  end
  local block = table.concat(t)
  local parts, len, i = {}, 0, 0
  while len < n do
    i = i + 1
    local piece = string.pack("<I4", i) .. block:sub(i % 200 + 1)
    parts[i] = piece
    len = len + #piece
  end
  return table.concat(parts):sub(1, n)
end

-- Asserts two long strings are equal without printing megabytes.
local function same(expected, actual)
  if expected == actual then return end
  local i = 1
  while i <= #expected and expected:byte(i) == actual:byte(i) do
    i = i + 1
  end
  error(("strings differ: lengths %d and %d, first difference at byte %d")
        :format(#expected, #actual, i), 2)
end

local function now()
  return socket.monotonic()
end

describe("makefile", function()
  after_each(helpers.cleanup)

  it("returns a file object that prints as lsock.file", function()
    local a = pair()
    local f = file(a)
    assert.equal("userdata", type(f))
    assert.matches("^lsock%.file %(0x%x+%)$", tostring(f))
    assert.is_true(f:close())
    assert.equal("lsock.file (closed)", tostring(f))
  end)

  it("accepts r, w, rw and r+, with b anywhere", function()
    local a = pair()
    for _, mode in ipairs({"r", "w", "rw", "r+", "rb", "wb", "br", "rwb",
                           "r+b", "brw", "rb+"}) do
      local f = file(a, mode)
      assert.is_true(f:close())
    end
    assert.is_true(file(a):close()) -- mode defaults to "r"
  end)

  it("rejects other modes with argument errors", function()
    local a = pair()
    for _, mode in ipairs({"", "b", "x", "a", "w+", "rr", "wr+", "rw+",
                           "R", "r w"}) do
      helpers.argerror("bad argument #1 to 'makefile'",
                     function() a:makefile(mode) end)
    end
    helpers.argerror("bad argument #1 to 'makefile'",
                     function() a:makefile({}) end)
  end)

  it("rejects bad buffering with argument errors", function()
    local a = pair()
    helpers.argerror("bad argument #2 to 'makefile'",
                     function() a:makefile("r", -2) end)
    helpers.argerror("bad argument #2 to 'makefile'",
                     function() a:makefile("r", 1.5) end)
    helpers.argerror("bad argument #2 to 'makefile'",
                     function() a:makefile("r", "big") end)
    helpers.argerror("bad argument #2 to 'makefile'",
                     function() a:makefile("r", 1 << 40) end)
  end)

  it("raises EBADF on a closed socket", function()
    local a = pair()
    a:close()
    helpers.sockerr("EBADF", "makefile", a.makefile, a)
  end)

  it("refuses to read a write-only file and to write a read-only one",
     function()
    local a, b = pair()
    local w, r = file(a, "w"), file(a, "r")
    b:sendall("data\n")
    helpers.argerror("not open for reading", w.read, w)
    helpers.argerror("not open for reading", w.read, w, "a")
    helpers.argerror("not open for reading", w.lines, w)
    helpers.argerror("not open for writing", r.write, r, "x")
    assert.equal("data", r:read()) -- the refusals touched nothing
    assert.is_nil(arrival(b))
  end)

  it("cannot seek", function()
    local a = pair()
    local f = file(a, "rw")
    helpers.sockerr("ESPIPE", "seek", f.seek, f)
    helpers.sockerr("ESPIPE", "seek", f.seek, f, "set", 0)
    f:close()
    helpers.argerror("attempt to use a closed file", f.seek, f)
  end)
end)

describe("read", function()
  after_each(helpers.cleanup)

  it("reads lines with l (chopped) and L (kept), l by default", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("one\ntwo\nthree\n\nlast")
    b:close()
    assert.equal("one", f:read("l"))
    assert.equal("two\n", f:read("L"))
    assert.equal("three", f:read())
    assert.equal("", f:read("l")) -- an empty line is not the end
    assert.equal("last", f:read("l")) -- nor is a line with no newline
    assert.is_nil(f:read("l"))
    assert.is_nil(f:read("L"))
    assert.is_nil(f:read())
  end)

  it("keeps the order of buffered lines and other formats", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("a\n12 b\nc\r\nd")
    assert.equal("a", f:read("l")) -- the recv buffers it all
    assert.equal(12, f:read("n"))
    assert.equal(" b", f:read("*l"))
    assert.equal("c\r\n", f:read("L"))
    b:sendall("e\n")
    b:close()
    assert.equal("de", f:read("l")) -- a line split across two recvs
    assert.is_nil(f:read("l"))
  end)

  it("reads byte counts, at most what is left at the end", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("abcdefgh")
    b:close()
    assert.equal("abc", f:read(3))
    assert.equal("d", f:read(1))
    assert.equal("efgh", f:read(100))
    assert.is_nil(f:read(1))
  end)

  it("read(0) is \"\" while data remains and nil at the end", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("x")
    assert.equal("", f:read(0))
    assert.equal("x", f:read(1))
    b:close()
    assert.is_nil(f:read(0))
  end)

  it("reads everything with a, and \"\" at the end", function()
    local a, b = pair()
    local f = file(a)
    local data = "line 1\nline 2\n\0binary\255\0"
    b:sendall(data)
    b:close()
    assert.equal("line", f:read(4))
    assert.equal(data:sub(5), f:read("a"))
    assert.equal("", f:read("a"))
    assert.equal("", f:read("a"))
  end)

  it("reads numbers with n as io does", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("42 -7 3.5 0x10 1e3 +.5 \n\t 0X1p4 12abc")
    b:close()
    local n = f:read("n")
    assert.equal(42, n)
    assert.equal("integer", math.type(n))
    assert.equal(-7, f:read("n"))
    n = f:read("n")
    assert.equal(3.5, n)
    assert.equal("float", math.type(n))
    assert.equal(16, f:read("n"))
    assert.equal(1000.0, f:read("n"))
    assert.equal(0.5, f:read("n"))
    assert.equal(16.0, f:read("n")) -- spaces and newlines skipped
    assert.equal(12, f:read("n"))
    assert.is_nil(f:read("n")) -- "abc" is no numeral...
    assert.equal("abc", f:read("a")) -- ...and stays to be read
  end)

  it("fails n on an over-long numeral", function()
    local a, b = pair()
    local f = file(a)
    b:sendall(string.rep("1", 250) .. " 5")
    b:close()
    assert.is_nil(f:read("n"))
    assert.equal(string.rep("1", 50) .. " 5", f:read("a")) -- io takes 200
  end)

  it("fails n at the end of the stream", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("  \n ")
    b:close()
    assert.is_nil(f:read("n"))
  end)

  it("takes several formats in one call", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("head\n123 rest of line\nxyz12345")
    local r = table.pack(f:read("l", "n", "L", 3, 0, 2))
    assert.same({"head", 123, " rest of line\n", "xyz", "", "12", n = 6}, r)
  end)

  it("stops at the first format that fails, which gives nil", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("only\n")
    b:close()
    local r = table.pack(f:read("l", "l", "l"))
    assert.same({"only", n = 2}, r)
    r = table.pack(f:read("a", "l", 5))
    assert.same({"", n = 2}, r)
  end)

  it("accepts Lua 5.1's *l, *L, *n and *a", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("x\ny\n7 tail")
    b:close()
    assert.equal("x", f:read("*l"))
    assert.equal("y\n", f:read("*L"))
    assert.equal(7, f:read("*n"))
    assert.equal(" tail", f:read("*a"))
  end)

  it("carries embedded zeros in lines", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("a\0b\n\0\n")
    assert.equal("a\0b", f:read("l"))
    assert.equal("\0\n", f:read("L"))
  end)

  it("rejects bad formats with argument errors before reading", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("keep\n")
    helpers.argerror("bad argument #1 to 'read' (invalid format)",
                     function() f:read("x") end)
    helpers.argerror("bad argument #2 to 'read' (invalid format)",
                     function() f:read("l", "*") end)
    helpers.argerror("bad argument #1 to 'read' (invalid format)",
                     function() f:read(-1) end)
    helpers.argerror("bad argument #2 to 'read'",
                     function() f:read(1, {}) end)
    helpers.argerror("bad argument #1 to 'read'",
                     function() f:read(1.5) end)
    assert.equal("keep", f:read("l"))
  end)

  it("raises on a closed file", function()
    local a = pair()
    local f = file(a)
    f:close()
    helpers.argerror("attempt to use a closed file", f.read, f)
    helpers.argerror("attempt to use a closed file", f.read, f, "a")
    helpers.argerror("attempt to use a closed file", f.write, f, "x")
    helpers.argerror("attempt to use a closed file", f.lines, f)
    helpers.argerror("attempt to use a closed file", f.flush, f)
    helpers.argerror("attempt to use a closed file", f.setvbuf, f, "no")
    helpers.argerror("attempt to use a closed file", f.close, f)
  end)
end)

describe("lines", function()
  after_each(helpers.cleanup)

  it("iterates over the lines up to the end of the stream", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("alpha\nbeta\n\ngamma")
    b:close()
    local got = {}
    for line in f:lines() do
      got[#got + 1] = line
      assert.is_true(#got <= 4, "the iterator did not stop")
    end
    assert.same({"alpha", "beta", "", "gamma"}, got)
    assert.equal("", f:read("a")) -- the file is still open
    assert.is_true(f:close())
  end)

  it("takes read's formats", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("1 2 3\nab")
    b:close()
    local got = {}
    for n in f:lines("n") do
      got[#got + 1] = n
      assert.is_true(#got <= 3, "the iterator did not stop")
    end
    assert.same({1, 2, 3}, got)
    got = {}
    for c, z in f:lines(1, 0) do
      got[#got + 1] = c .. "|" .. tostring(z)
      assert.is_true(#got <= 3, "the iterator did not stop")
    end
    assert.same({"a|", "b|nil"}, got) -- the failed n took the "\n", as io
  end)

  it("keeps newlines with L", function()
    local a, b = pair()
    local f = file(a)
    b:sendall("x\ny\n")
    b:close()
    local got = {}
    for l in f:lines("*L") do
      got[#got + 1] = l
      assert.is_true(#got <= 2, "the iterator did not stop")
    end
    assert.same({"x\n", "y\n"}, got)
  end)

  it("checks formats when called, and the file at each step", function()
    local a, b = pair()
    local f = file(a)
    helpers.argerror("bad argument #2 to 'lines' (invalid format)",
                     function() f:lines("l", "q") end)
    b:sendall("1\n2\n")
    local it = f:lines()
    assert.equal("1", it())
    f:close()
    helpers.argerror("file is already closed", it)
  end)

  -- lines() and lines with one line format have their own iterator; a
  -- 3-byte buffer makes every line but the first arrive in pieces.
  it("reads lines in pieces with each line format", function()
    local cases = {
      { {}, {"alpha", "be", "", "gamma"} },
      { {"l"}, {"alpha", "be", "", "gamma"} },
      { {"*l"}, {"alpha", "be", "", "gamma"} },
      { {"L"}, {"alpha\n", "be\n", "\n", "gamma"} },
      { {"*L"}, {"alpha\n", "be\n", "\n", "gamma"} },
    }
    for _, case in ipairs(cases) do
      local a, b = pair()
      local f = file(a, "r", 3)
      b:sendall("alpha\nbe\n\ngamma")
      b:close()
      local got = {}
      for line in f:lines(table.unpack(case[1])) do
        got[#got + 1] = line
        assert.is_true(#got <= 4, "the iterator did not stop")
      end
      assert.same(case[2], got)
      assert.is_nil(f:read("l"))
      local it = f:lines(table.unpack(case[1]))
      f:close()
      helpers.argerror("file is already closed", it)
    end
  end)
end)

describe("write", function()
  after_each(helpers.cleanup)

  it("returns the file, so calls chain", function()
    local a, b = pair()
    local f = file(a, "w")
    assert.equal(f, f:write("a"))
    assert.equal(f, f:write("b", "c"):write():write("d"))
    assert.equal(f, f:flush())
    assert.equal("abcd", helpers.recv_exactly(b, 4))
  end)

  it("writes numbers as io.write does", function()
    local a, b = pair()
    local f = file(a, "w")
    local values = {1, -2, 2.5, 1.0, 1e100, 2^63, -0.0, math.pi, 0x7fffffff}
    local tmp = io.tmpfile()
    tmp:write(table.unpack(values))
    tmp:seek("set")
    local expected = tmp:read("a")
    tmp:close()
    f:write(table.unpack(values)):flush()
    assert.equal(expected, helpers.recv_exactly(b, #expected))
  end)

  it("carries binary data", function()
    local a, b = pair()
    local f = file(a, "w")
    local data = "\0\1\2\255\0\n\r\0"
    f:write(data):close()
    assert.equal(data, helpers.recv_exactly(b, #data))
  end)

  it("writes nothing when an argument is bad", function()
    local a, b = pair()
    local f = file(a, "w", 0)
    helpers.argerror("bad argument #2 to 'write'",
                     function() f:write("x", {}) end)
    helpers.argerror("bad argument #1 to 'write'",
                     function() f:write(true) end)
    assert.is_nil(arrival(b))
  end)
end)

describe("buffering", function()
  after_each(helpers.cleanup)

  it("is full by default: nothing is sent before flush", function()
    local a, b = pair()
    local f = file(a, "w")
    f:write("hello", "\n", "world\n")
    assert.is_nil(arrival(b))
    assert.equal(f, f:flush())
    assert.equal("hello\nworld\n", helpers.recv_exactly(b, 12))
  end)

  it("with a size, sends once the buffer would overflow", function()
    local a, b = pair()
    local f = file(a, "w", 16)
    f:write("0123456789")
    assert.is_nil(arrival(b))
    f:write("abcdefghij") -- 20 bytes do not fit in 16
    assert.equal("0123456789", arrival(b, TIMEOUT))
    f:write(string.rep("z", 40)) -- larger than the buffer: straight out
    assert.equal("abcdefghij" .. string.rep("z", 40),
                 helpers.recv_exactly(b, 50))
    assert.is_nil(arrival(b))
  end)

  it("sends at each newline when line buffered", function()
    local a, b = pair()
    local f = file(a, "w", 1)
    f:write("abc")
    assert.is_nil(arrival(b))
    f:write("def\nghi")
    assert.equal("abcdef\nghi", helpers.recv_exactly(b, 10))
    f:write("jkl")
    assert.is_nil(arrival(b))
    f:write(1, "\n")
    assert.equal("jkl1\n", helpers.recv_exactly(b, 5))
  end)

  it("sends at once when unbuffered", function()
    local a, b = pair()
    local f = file(a, "w", 0)
    f:write("abc")
    assert.equal("abc", arrival(b, TIMEOUT))
    f:write(42)
    assert.equal("42", arrival(b, TIMEOUT))
  end)

  it("changes with setvbuf, which flushes first and returns true", function()
    local a, b = pair()
    local f = file(a, "w")
    f:write("pending")
    assert.is_nil(arrival(b))
    assert.is_true(f:setvbuf("no"))
    assert.equal("pending", helpers.recv_exactly(b, 7))
    f:write("now")
    assert.equal("now", arrival(b, TIMEOUT))
    assert.is_true(f:setvbuf("full", 1024))
    f:write(string.rep("f", 1000))
    assert.is_nil(arrival(b))
    f:write(string.rep("g", 100)) -- 1100 > 1024: the first 1000 go
    assert.equal(string.rep("f", 1000), helpers.recv_exactly(b, 1000))
    assert.is_nil(arrival(b))
    assert.is_true(f:setvbuf("line"))
    assert.equal(string.rep("g", 100), helpers.recv_exactly(b, 100))
    f:write("x")
    assert.is_nil(arrival(b))
    f:write("\n")
    assert.equal("x\n", helpers.recv_exactly(b, 2))
  end)

  it("setvbuf rejects bad modes and sizes", function()
    local a = pair()
    local f = file(a, "w")
    helpers.argerror("bad argument #1 to 'setvbuf'",
                     function() f:setvbuf("some") end)
    helpers.argerror("bad argument #1 to 'setvbuf'",
                     function() f:setvbuf() end)
    helpers.argerror("bad argument #2 to 'setvbuf'",
                     function() f:setvbuf("full", 0) end)
    helpers.argerror("bad argument #2 to 'setvbuf'",
                     function() f:setvbuf("full", -5) end)
  end)

  it("flushes pending writes before a read waits on the socket",
     function()
    local a, b = pair()
    local f = file(a, "rw")
    b:sendall("pong\n")
    f:write("ping\n")
    assert.equal("pong", f:read("l"))
    assert.equal("ping\n", helpers.recv_exactly(b, 5))
  end)

  it("lets a read go on when pending writes cannot go out", function()
    local a, b = pair()
    local f = file(a, "rw")
    a:settimeout(0)
    local data = pattern(8 * 1024 * 1024) -- more than the socket holds
    helpers.sockerr("EAGAIN", "write", function() f:write(data) end)
    b:sendall("answer\n")
    assert.equal("answer", f:read("l")) -- no "flush: EAGAIN"
    helpers.sockerr("EAGAIN", "flush", function() f:flush() end)
  end)
end)

describe("close", function()
  after_each(helpers.cleanup)

  it("flushes and returns true", function()
    local a, b = pair()
    local f = file(a, "w")
    f:write("bye")
    assert.is_nil(arrival(b))
    assert.is_true(f:close())
    assert.equal("bye", helpers.recv_exactly(b, 3))
    helpers.argerror("attempt to use a closed file", f.close, f)
  end)

  it("happens for a <close> variable, flushing", function()
    local a, b = pair()
    local f
    do
      local g <close> = a:makefile("w")
      f = g
      g:write("scoped")
    end
    assert.equal("lsock.file (closed)", tostring(f))
    assert.equal("scoped", helpers.recv_exactly(b, 6))
  end)

  it("happens when the file is collected, flushing", function()
    local a, b = pair()
    do
      local g = a:makefile("w")
      g:write("collected")
    end
    collectgarbage()
    collectgarbage()
    assert.equal("collected", helpers.recv_exactly(b, 9))
    a:close()
    assert.equal("", b:recv(10)) -- no file holds the descriptor now
  end)
end)

describe("the descriptor", function()
  after_each(helpers.cleanup)

  it("outlives s:close() while a file is open", function()
    local a, b = pair()
    local fd = a:fileno()
    local f = file(a, "rw")
    a:close()
    assert.equal(-1, a:fileno())
    assert.is_true(helpers.fd_open(fd))
    b:sendall("still here\n")
    assert.equal("still here", f:read("l"))
    f:write("and writing\n"):flush()
    assert.equal("and writing\n", helpers.recv_exactly(b, 12))
    assert.is_nil(arrival(b)) -- no end of stream yet
    assert.is_true(f:close())
    assert.is_false(helpers.fd_open(fd))
    assert.equal("", b:recv(10))
  end)

  it("closes only when the socket and every file are closed", function()
    local a, b = pair()
    local fd = a:fileno()
    local f1, f2 = file(a, "r"), file(a, "w")
    f1:close()
    a:sendall("s") -- the socket itself is still open
    assert.equal("s", helpers.recv_exactly(b, 1))
    a:close()
    assert.is_true(helpers.fd_open(fd))
    f2:write("f2"):flush()
    assert.equal("f2", helpers.recv_exactly(b, 2))
    f2:close()
    assert.is_false(helpers.fd_open(fd))
    assert.equal("", b:recv(10))
  end)

  it("stays open while a file holds a socket the script dropped",
     function()
    local a, b = untracked_pair()
    local fd = a:fileno()
    local f = file(a, "rw")
    a = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    assert.is_true(helpers.fd_open(fd))
    b:sendall("alive\n")
    assert.equal("alive", f:read("l"))
    f:close()
    collectgarbage()
    collectgarbage()
    assert.is_false(helpers.fd_open(fd))
    assert.equal("", b:recv(10))
  end)

  it("closes when a closed socket's last file is collected", function()
    local a, b = pair()
    local fd = a:fileno()
    do
      local g = a:makefile("w")
      g:write("last words")
    end
    a:close()
    assert.is_true(helpers.fd_open(fd))
    collectgarbage()
    collectgarbage()
    assert.is_false(helpers.fd_open(fd))
    assert.equal("last words", drain(b))
  end)

  it("closes once when a socket and its files die together", function()
    for _ = 1, 5 do
      local a, b = untracked_pair()
      local fd = a:fileno()
      do
        local f1, f2 = a:makefile("w"), a:makefile("r", 0)
        f1:write("maybe")
        f2 = nil -- luacheck: ignore
      end
      a = nil -- luacheck: ignore
      collectgarbage()
      collectgarbage()
      assert.is_false(helpers.fd_open(fd))
      local rest = drain(b) -- the socket's __gc may have gone first
      assert.is_true(rest == "" or rest == "maybe", rest)
      b:close()
    end
  end)

  it("is not touched by a file after s:detach()", function()
    local a, b = pair()
    local f = file(a, "rw", 0)
    local fd = a:detach()
    assert.is_true(fd >= 0)
    helpers.sockerr("EBADF", "write", f.write, f, "x")
    helpers.sockerr("EBADF", "read", f.read, f, 1)
    assert.is_true(f:close())
    assert.is_true(helpers.fd_open(fd)) -- it belongs to the caller now
    assert.is_nil(arrival(b))
    -- The descriptor is left open: nothing in the API closes a bare fd.
  end)
end)

describe("timeouts", function()
  after_each(helpers.cleanup)

  it("bound a read on an idle socket", function()
    local a = pair()
    local f = file(a)
    a:settimeout(0.2)
    local t0 = now()
    local e = helpers.sockerr("ETIMEDOUT", "read", f.read, f, "l")
    local dt = now() - t0
    assert.equal("timeout", e.kind)
    assert.is_true(dt >= 0.15 and dt < 3, "took " .. dt .. " s")
  end)

  it("keep what arrived before a timed-out read", function()
    local a, b = pair()
    local f = file(a)
    a:settimeout(0.2)
    b:sendall("par")
    helpers.sockerr("ETIMEDOUT", "read", f.read, f, "l")
    helpers.sockerr("ETIMEDOUT", "read", f.read, f, 5)
    b:sendall("tial\n99")
    assert.equal("partial", f:read("l"))
    helpers.sockerr("ETIMEDOUT", "read", f.read, f, "n") -- 99 may go on
    b:close()
    assert.equal(99, f:read("n"))
  end)

  it("make a non-blocking read raise EAGAIN at once", function()
    local a, b = pair()
    local f = file(a)
    a:settimeout(0)
    local t0 = now()
    helpers.sockerr("EAGAIN", "read", f.read, f, "a")
    assert.is_true(now() - t0 < 1)
    b:sendall("ready\n")
    a:settimeout(TIMEOUT)
    assert.equal("ready", f:read("l"))
  end)

  it("bound a write to a peer that does not read, keeping the bytes",
     function()
    local a, b = pair()
    local f = file(a, "w", 0)
    local data = pattern(8 * 1024 * 1024)
    a:settimeout(0.2)
    local t0 = now()
    local e = helpers.sockerr("ETIMEDOUT", "write", f.write, f, data, "end")
    local dt = now() - t0
    assert.equal("timeout", e.kind)
    assert.is_true(dt >= 0.15 and dt < 5, "took " .. dt .. " s")
    -- Every byte not sent is still buffered: drain while flushing.
    a:settimeout(0)
    b:settimeout(0)
    local parts, flushed = {}, false
    for _ = 1, 200000 do
      if not flushed then flushed = pcall(f.flush, f) end
      local ok, chunk = pcall(b.recv, b, 1 << 20)
      if ok then
        parts[#parts + 1] = chunk
      elseif flushed then
        break
      end
    end
    assert.is_true(flushed)
    b:settimeout(TIMEOUT)
    f:close()
    a:close()
    parts[#parts + 1] = drain(b)
    same(data .. "end", table.concat(parts))
  end)
end)

describe("reads spanning many recv calls", function()
  after_each(helpers.cleanup)

  it("unbuffered, take from the socket only what they return", function()
    local a, b = pair()
    local f = file(a, "r", 0)
    local line = string.rep("0123456789", 200)
    b:sendall(line .. "\nthe rest")
    assert.equal(line, f:read("l")) -- one byte per recv
    assert.equal("the", f:read(3))
    assert.equal(" rest", helpers.recv_exactly(a, 5))
  end)

  it("resume a call as the peer writes in small pieces", function()
    local a, b = pair()
    local f = file(a)
    a:settimeout(0)
    local pieces = {"1", "2", ".", "5", "e", "1", " rest", " of line",
                    "\nab", "c"}
    for i = 1, #pieces - 1 do
      b:sendall(pieces[i])
      helpers.sockerr("EAGAIN", "read", f.read, f, "n", "l", 3)
    end
    b:sendall(pieces[#pieces])
    a:settimeout(TIMEOUT)
    local r = table.pack(f:read("n", "l", 3))
    assert.same({125.0, " rest of line", "abc", n = 3}, r)
  end)

  it("grow a small buffer for a long line", function()
    local a, b = pair()
    local f = file(a, "r", 4)
    local line = pattern(30000):gsub("\n", ".")
    b:sendall(line .. "\nnext\n")
    same(line, f:read("l"))
    assert.equal("next\n", f:read("L"))
  end)
end)

describe("large transfers", function()
  after_each(helpers.cleanup)

  -- Non-blocking both ways, so one process can be writer and reader:
  -- a write that would block keeps its bytes, a read that would block
  -- keeps what it has, and the loop goes on until everything is across.
  it("carry several megabytes through write and read(n)", function()
    local a, b = pair()
    local w, r = file(a, "w"), file(b, "r")
    local data = pattern(6 * 1024 * 1024)
    a:settimeout(0)
    b:settimeout(0)
    local wsizes = {1, 7, 100, 4095, 8191, 8192, 8193, 65536, 300001}
    local rsizes = {1, 13, 8192, 70000, 1 << 20, 5}
    local pos, got, parts, flushed, i = 1, 0, {}, false, 0
    local wblocked, rblocked = 0, 0
    for _ = 1, 10000 do
      -- Write until the socket is full (or everything is handed over)...
      for _ = 1, 100000 do
        if pos > #data then
          flushed = flushed or pcall(w.flush, w)
          break
        end
        i = i + 1
        local n = wsizes[i % #wsizes + 1]
        local ok, e = pcall(w.write, w, data:sub(pos, pos + n - 1))
        pos = pos + n -- taken, sent or not
        if not ok then
          assert.equal("EAGAIN", e.name)
          wblocked = wblocked + 1
          break
        end
      end
      -- ...then read until it is empty.
      for _ = 1, 100000 do
        if got == #data then break end
        i = i + 1
        local n = math.min(rsizes[i % #rsizes + 1], #data - got)
        local ok, chunk = pcall(r.read, r, n)
        if not ok then
          assert.equal("EAGAIN", chunk.name)
          rblocked = rblocked + 1
          break
        end
        assert.equal(n, #chunk)
        parts[#parts + 1] = chunk
        got = got + n
      end
      if got == #data then break end
    end
    same(data, table.concat(parts))
    assert.is_true(flushed)
    -- Both sides really met a full and an empty socket on the way.
    assert.is_true(wblocked > 0 and rblocked > 0)
    w:close()
    a:close()
    b:settimeout(TIMEOUT)
    assert.is_nil(r:read(1))
  end)

  it("carry several megabytes to read(\"a\")", function()
    local a, b = pair()
    local w, r = file(a, "w", 100000), file(b, "r")
    local data = pattern(5 * 1024 * 1024)
    a:settimeout(0)
    b:settimeout(0)
    local pos, result, closed = 1, nil, false
    for _ = 1, 1000000 do
      if pos <= #data then
        pcall(w.write, w, data:sub(pos, pos + 50000 - 1))
        pos = pos + 50000
      elseif not closed and pcall(w.flush, w) then
        w:close()
        a:close()
        closed = true
      end
      local ok, all = pcall(r.read, r, "a")
      if ok then
        result = all
        break
      end
      assert.equal("EAGAIN", all.name)
    end
    assert.is_true(closed)
    same(data, result)
    assert.equal("", r:read("a"))
  end)
end)
