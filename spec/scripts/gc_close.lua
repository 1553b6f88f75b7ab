-- A finalizer (__gc) closes a socket, or its file object, in the middle of
-- a C method (run as a child by spec/fault_spec.lua and
-- spec/regress/makefile_closed_in_read_spec.lua): lsock gc_close.lua WHAT,
-- WHAT one of recv, accept, close, detach (s:close() or s:detach() during
-- a makefile read), fclose (f:close() during that read) and fline (the
-- same during f:read("l") served from the buffer). arm() leaves
-- finalizers pending with the collector taking a small step at every
-- allocation, so the method's first allocation runs some. Results are long
-- lines, as short strings are interned and allocate nothing. Prints
-- whether finalizers ran inside the call and how the 20 calls ended.
local socket = require "lsock"
local what = arg[1]
local current, inside, ran, hits = nil, false, false, 0
local mt = { __gc = function()
  ran = true
  if not inside then return end
  hits = hits + 1
  if what == "detach" then pcall(current.c.detach, current.c)
  elseif what == "fclose" or what == "fline" then
    pcall(current.f.close, current.f)
  else pcall(current.c.close, current.c) pcall(current.l.close, current.l)
  end
end }
local function arm()
  collectgarbage()
  collectgarbage("incremental", 100, 100, 1) -- tiny steps
  collectgarbage("stop")
  ran = false
  for _ = 1, 200 do setmetatable({}, mt) end
  for _ = 1, 1e6 do
    collectgarbage("step", 0)
    if ran then break end
  end
  assert(ran, "no finalizer ran")
  collectgarbage("restart")
end
local L1, L2, L3 = ("1"):rep(60), ("2"):rep(60), ("3"):rep(60)
local DATA = L1 .. "\n" .. L2 .. "\n" .. L3 .. "\n"
local counts = {}
for _ = 1, 20 do
  local l = socket.socket()
  l:bind("127.0.0.1", 0)
  l:listen()
  local c = socket.socket()
  c:settimeout(5)
  c:connect(l:getsockname())
  local s = l:accept()
  local x = socket.socket() -- a connection waiting for l:accept()
  x:connect(l:getsockname())
  -- A file holds the descriptor open after s:close(): only the read
  -- cases make one.
  local f = (what ~= "recv" and what ~= "accept") and c:makefile("r")
  s:sendall(DATA)
  current = { c = c, l = l, f = f }
  local first
  if what == "fline" then
    -- The first line fills the buffer; the armed read finds the second
    -- one there (f:read("l") alone, with a whole line buffered, skips
    -- the general read path).
    first = f:read("L")
    assert(first == L1 .. "\n", "first line: " .. tostring(first))
  end
  arm()
  inside = true
  local ok, a, b, d
  if what == "recv" then ok, a = pcall(c.recv, c, 200000)
  elseif what == "accept" then ok, a = pcall(l.accept, l)
  elseif what == "fline" then
    ok, a = pcall(f.read, f, "l")
    b, d = ok and f:read("l"), nil
  else ok, a, b, d = pcall(f.read, f, "l", "l", "l") end
  inside = false
  collectgarbage("incremental", 200, 100, 13)
  local result
  if not ok then
    assert(getmetatable(a) == socket.error and a.name == "EBADF" or
           (what == "fclose" or what == "fline") and type(a) == "string",
           "not a clear error: " .. tostring(a))
    result = tostring(a)
  elseif what == "recv" then
    assert(a == DATA, "recv gave " .. tostring(a))
    result = "data"
  elseif what == "accept" then
    assert(tostring(a):find("^<lsock.socket fd="), tostring(a))
    result = "socket"
    a:close()
  elseif what == "fline" then
    assert(a == L2 and b == L3, ("read gave %q, %q"):format(tostring(a),
                                                            tostring(b)))
    result = "lines"
  else
    assert(a == L1 and b == L2 and d == L3,
           ("read gave %q, %q, %q"):format(tostring(a), tostring(b),
                                            tostring(d)))
    result = "lines"
  end
  counts[result] = (counts[result] or 0) + 1
  if f then pcall(f.close, f) end
  pcall(c.close, c) s:close() l:close() x:close()
end
collectgarbage()
local names = {}
for k, v in pairs(counts) do names[#names + 1] = k .. " x" .. v end
table.sort(names)
print(hits > 0 and "finalizers ran inside the call" or "no finalizer ran")
print(table.concat(names, ", "))
