-- s:makefile() inside tasks: every wait of f:read, f:lines' iterator,
-- f:write, f:flush and f:close suspends only its task (the task shows
-- "waiting" while the others run), so many tasks can talk through file
-- objects at once, a slow peer blocks nobody else, timeouts and closes
-- from other tasks end a wait with an error, and large writes keep their
-- bytes in order.

local socket = require "lsock"
local helpers = require "spec.helpers"

local TIMEOUT = helpers.TIMEOUT

local function spair()
  local a, b = helpers.track(socket.socketpair())
  a:settimeout(TIMEOUT)
  b:settimeout(TIMEOUT)
  return a, b
end

-- Runs fn as a task and waits for it (bounded), returning its results.
local function intask(fn, ...)
  return socket.spawn(fn, ...):join(30)
end

describe("makefile inside tasks", function()
  after_each(helpers.cleanup)

  it("serves 300 tasks doing line request/response at once", function()
    local N, ROUNDS = 300, 8
    local l = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    l:settimeout(TIMEOUT)
    l:bind("127.0.0.1", 0)
    l:listen(N)
    local _, port = l:getsockname()
    local t0 = socket.monotonic()
    local server = socket.spawn(function()
      local handlers = {}
      for i = 1, N do
        local c = helpers.track((l:accept()))
        c:settimeout(TIMEOUT)
        handlers[i] = socket.spawn(function()
          local f = c:makefile("rw")
          c:close() -- the file holds the descriptor now
          local n = 0
          for line in f:lines() do
            n = n + 1
            f:write("echo ", line, "\n")
            f:flush()
          end
          f:close()
          return n
        end)
      end
      local total = 0
      for i = 1, N do total = total + handlers[i]:join(30) end
      return total
    end)
    local clients = {}
    for i = 1, N do
      clients[i] = socket.spawn(function()
        local s = helpers.track(socket.socket())
        s:settimeout(TIMEOUT)
        s:connect("127.0.0.1", port)
        local f = s:makefile("rw")
        local got = {}
        for r = 1, ROUNDS do
          f:write(i, ":", r, "\n") -- buffered: the read flushes it
          got[r] = f:read("l")
        end
        f:close()
        s:close()
        return got
      end)
    end
    for i = 1, N do
      local got = clients[i]:join(30)
      for r = 1, ROUNDS do
        assert.equal(("echo %d:%d"):format(i, r), got[r])
      end
    end
    assert.equal(N * ROUNDS, server:join(30))
    assert.is_true(socket.monotonic() - t0 < 20)
  end)

  it("lets a main chunk talk as a blocking client to a server task",
     function()
    local a, b = spair()
    local server = socket.spawn(function()
      local f = b:makefile("rw")
      local n = 0
      for x, line in f:lines("n", "l") do
        n = n + 1
        f:write(x * 2, line, "\n"):flush()
      end
      f:close()
      return n
    end)
    local f = helpers.track(a:makefile("rw"))
    for i = 1, 50 do
      f:write(i, " tail", i, "\n")
      assert.equal(("%d tail%d"):format(2 * i, i), f:read("l"))
    end
    f:close()
    a:shutdown(socket.SHUT_WR)
    assert.equal(50, server:join(10))
  end)

  it("a task waiting in f:read blocks no other task", function()
    local a1, b1 = spair()
    local a2, b2 = spair()
    local f1, f2 = a1:makefile("r"), a2:makefile("r")
    local first = socket.spawn(function() return f1:read("l") end)
    local second = socket.spawn(function() return f2:read("l") end)
    -- A full exchange through files while both of those wait.
    local third = socket.spawn(function()
      local x, y = spair()
      local echo = socket.spawn(function()
        local g = y:makefile("rw")
        g:write((g:read("l")):upper(), "\n"):close()
      end)
      local g = x:makefile("rw")
      g:write("hello\n"):flush()
      local r = g:read("l")
      echo:join(5)
      g:close()
      return r
    end)
    assert.equal("HELLO", third:join(10))
    assert.equal("waiting", first:status())
    assert.equal("waiting", second:status())
    -- The first answered finishes although the second still waits: no
    -- task sits under another's frames.
    b1:sendall("one\n")
    assert.equal("one", first:join(10))
    assert.equal("waiting", second:status())
    b2:sendall("two\n")
    assert.equal("two", second:join(10))
  end)

  it("keeps a read's place across waits (formats fed byte by byte)",
     function()
    local a, b = spair()
    local f = a:makefile("r")
    local reader = socket.spawn(function()
      return table.pack(f:read("n", "l", 5, "L", "n", "a"))
    end)
    local input = "  12.5e1 rest of line\nabcdeline two\n0x1F tail"
    local feeder = socket.spawn(function()
      for i = 1, #input do
        b:sendall(input:sub(i, i))
        socket.sleep(0.001)
      end
      b:shutdown(socket.SHUT_WR)
    end)
    local seen
    local watcher = socket.spawn(function()
      socket.sleep(0.01)
      seen = reader:status()
    end)
    local r = reader:join(20)
    feeder:join(5)
    watcher:join(5)
    assert.equal("waiting", seen)
    assert.same({125.0, " rest of line", "abcde", "line two\n", 31, " tail",
                 n = 6}, r)
  end)

  it("shares one file between reading tasks without losing or doubling "
     .. "a line", function()
    local a, b = spair()
    local f = a:makefile("r")
    local LINES = 200
    local readers = {}
    for k = 1, 4 do
      readers[k] = socket.spawn(function()
        local got = {}
        for _ = 1, LINES + 1 do
          -- Half the readers take two lines per call.
          local two = k % 2 == 0
          local l1, l2
          if two then l1, l2 = f:read("l", "l") else l1 = f:read("l") end
          if l1 == nil then break end
          got[#got + 1] = l1
          if two and l2 == nil then break end
          got[#got + 1] = l2
        end
        return got
      end)
    end
    -- Each line in two halves: readers wait with part of a line (and of
    -- a call's answers) buffered while another reader takes it.
    local feeder = socket.spawn(function()
      for i = 1, LINES do
        b:sendall(("line %d"):format(i))
        if i % 3 == 0 then socket.sleep(0.001) end
        b:sendall("\n")
        if i % 5 == 0 then socket.sleep(0.001) end
      end
      b:shutdown(socket.SHUT_WR)
    end)
    feeder:join(10)
    local count = {}
    for k = 1, 4 do
      for _, line in ipairs(readers[k]:join(10)) do
        count[line] = (count[line] or 0) + 1
      end
    end
    for i = 1, LINES do
      assert.equal(1, count[("line %d"):format(i)], "line " .. i)
    end
  end)

  it("a read with a timeout inside a task raises a timeout and keeps "
     .. "the bytes", function()
    local a, b = spair()
    a:settimeout(0.2)
    local f = a:makefile("r")
    b:sendall("partial")
    local ticks = 0
    local reader = socket.spawn(function()
      local t0 = socket.monotonic()
      local ok, e = pcall(f.read, f, "l")
      return ok, e, socket.monotonic() - t0
    end)
    local seen
    socket.spawn(function()
      socket.sleep(0.05)
      seen = reader:status()
      for _ = 1, 10 do
        ticks = ticks + 1
        socket.sleep(0.005)
      end
    end)
    local ok, e, dt = reader:join(10)
    assert.is_false(ok)
    assert.equal(socket.error, getmetatable(e))
    assert.equal("timeout", e.kind)
    assert.equal("read", e.op)
    assert.is_true(dt >= 0.15 and dt < 3, "waited " .. dt)
    assert.equal("waiting", seen)
    assert.equal(10, ticks)
    -- Nothing was lost: the next read gets the whole line.
    a:settimeout(TIMEOUT)
    b:sendall(" line\n")
    assert.equal("partial line", intask(function() return f:read("l") end))
  end)

  it("closing the file from another task wakes a reader with EBADF",
     function()
    local a = spair()
    local f = a:makefile("r")
    a:close() -- the file alone holds the descriptor now
    local reader = socket.spawn(function() return pcall(f.read, f, "l") end)
    local seen
    local closer = socket.spawn(function()
      socket.sleep(0.05)
      seen = reader:status()
      f:close()
    end)
    local t0 = socket.monotonic()
    local ok, e = reader:join(10)
    closer:join(5)
    assert.equal("waiting", seen)
    assert.is_false(ok)
    assert.equal(socket.error, getmetatable(e))
    assert.equal("EBADF", e.name)
    assert.equal("read", e.op)
    assert.is_true(socket.monotonic() - t0 < TIMEOUT / 2)
  end)

  it("closing the socket from another task wakes a reader with EBADF",
     function()
    local a = spair()
    local f = a:makefile("r")
    local g = a:makefile("r")
    local r1 = socket.spawn(function() return pcall(f.read, f, "l") end)
    local r2 = socket.spawn(function()
      return pcall(function() for _ in g:lines() do end end)
    end)
    local closer = socket.spawn(function()
      socket.sleep(0.05)
      f:close()
      g:close()
      a:close() -- the last holder: the descriptor closes now
    end)
    local t0 = socket.monotonic()
    for _, t in ipairs { r1, r2 } do
      local ok, e = t:join(10)
      assert.is_false(ok)
      assert.equal(socket.error, getmetatable(e))
      assert.equal("EBADF", e.name)
      assert.equal("read", e.op)
    end
    closer:join(5)
    assert.is_true(socket.monotonic() - t0 < TIMEOUT / 2)
    -- The descriptor left the loop: a new socket on the same number works.
    local c, d = spair()
    local ff = c:makefile("r")
    local t = socket.spawn(function() return ff:read("l") end)
    d:sendall("fresh\n")
    assert.equal("fresh", t:join(5))
  end)

  it("writes larger than the socket buffer from several tasks deliver every "
     .. "byte in order", function()
    -- One connection per writer, each with a different buffering; the
    -- pieces mix small (buffered) and large (sent straight) writes.
    local setups = {
      { buffering = nil },
      { buffering = 0 },
      { buffering = 1 },
      { buffering = 100000 },
      { buffering = 8 * 2^20, closeonly = true }, -- close does the sending
      { buffering = nil, flushes = true },
    }
    local function pieces(k)
      local out, seed = {}, k
      for j = 1, 40 do
        seed = (seed * 1103515245 + 12345) % 2^31
        local size = j % 4 == 0 and 150000 + seed % 200000 or seed % 3000
        out[#out + 1] = ("<%d:%d>"):format(k, j)
        out[#out + 1] = string.rep(string.char(65 + (k + j) % 26), size)
        if j % 5 == 0 then out[#out + 1] = j * 1.5 end
        if j % 9 == 0 then out[#out + 1] = "\n" end
      end
      return out
    end
    local writers, readers, expect = {}, {}, {}
    local waited = false
    for k, setup in ipairs(setups) do
      local a, b = spair()
      a:setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
      local parts = pieces(k)
      local text = {}
      for i, p in ipairs(parts) do
        text[i] = type(p) == "number" and ("%.14g"):format(p) or p
      end
      expect[k] = table.concat(text)
      writers[k] = socket.spawn(function()
        local f = a:makefile("w", setup.buffering)
        for i = 1, #parts, 3 do
          f:write(table.unpack(parts, i, math.min(i + 2, #parts)))
          if setup.flushes then f:flush() end
        end
        f:close()
        a:close()
      end)
      readers[k] = socket.spawn(function()
        local f = b:makefile("r")
        local got
        if k % 2 == 0 then
          got = f:read("a")
        else
          local chunks = {}
          for _ = 1, #expect[k] + 1 do
            local c = f:read(65536)
            if not c then break end
            chunks[#chunks + 1] = c
          end
          got = table.concat(chunks)
        end
        f:close()
        return got
      end)
    end
    local watcher = socket.spawn(function()
      for _ = 1, 200 do
        local alive = false
        for k = 1, #setups do
          local st = writers[k]:status()
          if st == "waiting" then waited = true end
          if st ~= "done" and st ~= "failed" then alive = true end
        end
        if not alive then break end
        socket.sleep(0.001)
      end
    end)
    for k = 1, #setups do
      writers[k]:join(30)
      local got = readers[k]:join(30)
      assert.equal(#expect[k], #got, "writer " .. k)
      assert.is_true(got == expect[k], "writer " .. k .. ": bytes differ")
    end
    watcher:join(10)
    assert.is_true(waited, "no writer was ever seen waiting")
  end)

  it("a write that times out in a task keeps its bytes for a later flush",
     function()
    local a, b = spair()
    a:setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    a:settimeout(0.1)
    local f = a:makefile("w", 0)
    local big = string.rep("x", 2 * 2^20)
    local ok, e = intask(function() return pcall(f.write, f, big, "end") end)
    assert.is_false(ok)
    assert.equal("timeout", e.kind)
    assert.equal("write", e.op)
    a:settimeout(TIMEOUT)
    local reader = socket.spawn(function()
      local g = b:makefile("r")
      return g:read(#big + 3)
    end)
    intask(function() f:flush() end)
    assert.is_true(reader:join(10) == big .. "end")
  end)
end)
