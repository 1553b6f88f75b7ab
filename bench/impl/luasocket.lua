-- bench/impl/luasocket.lua: the benchmark's roles written with LuaSocket
-- (Debian's lua-socket) under stock lua5.4:
--   lua5.4 bench/impl/luasocket.lua ROLE [ARGS...]
-- Same roles and protocols as bench/c/ref.c (see there), in LuaSocket's own
-- idiom: receive(n) reads exactly n bytes (or what came before the end of
-- stream), send(data) sends all of it, receive("*l") reads a line.
local socket = require "socket"

local CHUNK, MSG, LINE = 65536, 64, 80

local function result(count, secs)
  io.write(string.format("RESULT %d %.9f\n", count, secs))
end

local function check(ok, err, ...)
  if not ok then error(err, 2) end
  return ok, err, ...
end

-- A TCP server on 127.0.0.1 port 0 (socket.bind sets SO_REUSEADDR);
-- prints the port.
local function tcp_server(backlog)
  local s = check(socket.bind("127.0.0.1", 0, backlog))
  local _, port = s:getsockname()
  io.write(port, "\n")
  io.stdout:flush()
  return s
end

local function connect_to(port)
  local s = socket.tcp()
  check(s:connect("127.0.0.1", port))
  return s
end

local roles = {}

function roles.bulk_server()
  local ls = tcp_server(16)
  local c = check(ls:accept())
  local total = 0
  while true do
    local data, err, partial = c:receive(CHUNK)
    if not data then
      if err ~= "closed" then error(err) end
      total = total + #partial
      break
    end
    total = total + #data
  end
  check(c:send(tostring(total)))
  c:close()
  ls:close()
end

function roles.bulk_client(port, bytes)
  local chunk = string.rep("x", CHUNK)
  local s = connect_to(port)
  local t0 = socket.gettime()
  local left = bytes
  while left > 0 do
    check(s:send(left >= CHUNK and chunk or chunk:sub(1, left)))
    left = left - CHUNK
  end
  s:shutdown("send")
  local ack = check(s:receive("*a"))
  local t1 = socket.gettime()
  assert(tonumber(ack) == bytes, "server got " .. ack .. " bytes")
  result(bytes, t1 - t0)
  s:close()
end

function roles.pingpong_server()
  local ls = tcp_server(16)
  local c = check(ls:accept())
  c:setoption("tcp-nodelay", true)
  while true do
    local data, err = c:receive(MSG)
    if not data then
      if err ~= "closed" then error(err) end
      break
    end
    check(c:send(data))
  end
  c:close()
  ls:close()
end

function roles.pingpong_client(port, n)
  local msg = string.rep("x", MSG)
  local s = connect_to(port)
  s:setoption("tcp-nodelay", true)
  local t0 = socket.gettime()
  for _ = 1, n do
    check(s:send(msg))
    check(s:receive(MSG))
  end
  local t1 = socket.gettime()
  result(n, t1 - t0)
  s:close()
end

function roles.connrate_server(n)
  local ls = tcp_server(128)
  for _ = 1, n do
    local c = check(ls:accept())
    check(c:receive(1))
    c:close()
  end
  ls:close()
end

function roles.connrate_client(port, n)
  local t0 = socket.gettime()
  for _ = 1, n do
    local s = socket.tcp()
    check(s:connect("127.0.0.1", port))
    check(s:send("x"))
    local data, err = s:receive(1)
    assert(not data and err == "closed", "expected the end of stream")
    s:close()
  end
  local t1 = socket.gettime()
  result(n, t1 - t0)
end

function roles.udp_server()
  local s = socket.udp()
  check(s:setsockname("127.0.0.1", 0))
  local _, port = s:getsockname()
  io.write(port, "\n")
  io.stdout:flush()
  while true do
    local data, ip, port = check(s:receivefrom(MSG))
    if #data ~= MSG then break end
    check(s:sendto(data, ip, port))
  end
  s:close()
end

function roles.udp_client(port, n)
  local s = socket.udp()
  local msg = string.rep("x", MSG)
  local t0 = socket.gettime()
  for _ = 1, n do
    check(s:sendto(msg, "127.0.0.1", port))
    assert(#check(s:receive(MSG)) == MSG)
  end
  local t1 = socket.gettime()
  s:sendto("END", "127.0.0.1", port)
  result(n, t1 - t0)
  s:close()
end

-- The concurrent workload's server: a socket.select loop over non-blocking
-- sockets (timeout 0). select() works on an fd_set, so this server cannot
-- hold a descriptor numbered FD_SETSIZE (1024) or more. Runs until killed.
function roles.echo_server()
  local ls = tcp_server(4096)
  ls:settimeout(0)
  local reading = {ls}   -- the sockets select() watches for reading
  local writing = {}     -- ... and for writing (a reply half sent)
  local pending = {}     -- socket -> the rest of its reply

  local function remove(list, s)
    for i = #list, 1, -1 do
      if list[i] == s then
        list[i] = list[#list]
        list[#list] = nil
        return
      end
    end
  end

  local function drop(c)
    remove(reading, c)
    if pending[c] then remove(writing, c); pending[c] = nil end
    c:close()
  end

  local function reply(c, data)
    local last, err, sent = c:send(data)
    if not last then
      if err ~= "timeout" then return drop(c) end
      last = sent
    end
    if last < #data then
      if not pending[c] then
        remove(reading, c)
        writing[#writing + 1] = c
      end
      pending[c] = data:sub(last + 1)
    elseif pending[c] then
      pending[c] = nil
      remove(writing, c)
      reading[#reading + 1] = c
    end
  end

  while true do
    local readable, writable = socket.select(reading, writing)
    for _, s in ipairs(readable) do
      if s == ls then
        while true do
          local c = ls:accept()
          if not c then break end
          c:settimeout(0)
          c:setoption("tcp-nodelay", true)
          reading[#reading + 1] = c
        end
      else
        local data, err, partial = s:receive(4096)
        data = data or partial
        if #data > 0 then reply(s, data) end
        if err == "closed" then drop(s) end
      end
    end
    for _, c in ipairs(writable) do
      if pending[c] then reply(c, pending[c]) end
    end
  end
end

function roles.lines_server(bytes)
  local ls = tcp_server(16)
  local c = check(ls:accept())
  local per = CHUNK // LINE
  local t = {}
  for i = 0, per - 1 do
    t[#t + 1] = string.rep(string.char(97 + i % 26), LINE - 1) .. "\n"
  end
  local chunk = table.concat(t)
  local lines = bytes // LINE
  while lines > 0 do
    check(c:send(lines >= per and chunk or chunk:sub(1, lines * LINE)))
    lines = lines - per
  end
  c:close()
  ls:close()
end

function roles.lines_client(port, bytes)
  local s = connect_to(port)
  local t0 = socket.gettime()
  local lines, total = 0, 0
  while true do
    local line, err = s:receive("*l")
    if not line then
      if err ~= "closed" then error(err) end
      break
    end
    lines = lines + 1
    total = total + #line + 1
  end
  local t1 = socket.gettime()
  assert(lines == bytes // LINE and total == lines * LINE,
         "got " .. lines .. " lines")
  result(total, t1 - t0)
  s:close()
end

local role = arg[1] and roles[arg[1]:gsub("-", "_")]
if not role then
  io.stderr:write("usage: lua5.4 luasocket.lua ROLE [ARGS...] (see bench/c/ref.c)\n")
  os.exit(2)
end
local args = {}
for i = 2, #arg do args[#args + 1] = math.tointeger(tonumber(arg[i])) end
role(table.unpack(args))
