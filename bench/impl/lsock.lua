-- bench/impl/lsock.lua: the benchmark's roles written with lsock, run by the
-- built lsock interpreter:   lsock bench/impl/lsock.lua ROLE [ARGS...]
-- Same roles and protocols as bench/c/ref.c (see there); plain, idiomatic
-- lsock code, the way a script would be written.
local socket = require "lsock"

local CHUNK, MSG, LINE = 65536, 64, 80

local function result(count, secs)
  io.write(string.format("RESULT %d %.9f\n", count, secs))
end

-- A socket bound to 127.0.0.1 port 0, listening if a stream; prints the port.
local function server_socket(type, backlog)
  local s = socket.socket(socket.AF_INET, type)
  s:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
  s:bind("127.0.0.1", 0)
  if type == socket.SOCK_STREAM then s:listen(backlog) end
  local _, port = s:getsockname()
  io.write(port, "\n")
  io.stdout:flush()
  return s
end

local function connect_to(port)
  local s = socket.socket()
  s:connect("127.0.0.1", port)
  return s
end

-- recv until n bytes have come; nil at the end of stream before the first.
local function recv_exact(s, n)
  local data = s:recv(n)
  if data == "" then return nil end
  while #data < n do
    local more = s:recv(n - #data)
    if more == "" then error("end of stream inside a message") end
    data = data .. more
  end
  return data
end

local roles = {}

function roles.bulk_server()
  local ls = server_socket(socket.SOCK_STREAM, 16)
  local c = ls:accept()
  local total = 0
  while true do
    local data = c:recv(CHUNK)
    if data == "" then break end
    total = total + #data
  end
  c:sendall(tostring(total))
  c:close()
  ls:close()
end

function roles.bulk_client(port, bytes)
  local chunk = string.rep("x", CHUNK)
  local s = connect_to(port)
  local t0 = socket.monotonic()
  local left = bytes
  while left > 0 do
    s:sendall(left >= CHUNK and chunk or chunk:sub(1, left))
    left = left - CHUNK
  end
  s:shutdown(socket.SHUT_WR)
  local ack = ""
  while true do
    local data = s:recv(32)
    if data == "" then break end
    ack = ack .. data
  end
  local t1 = socket.monotonic()
  assert(tonumber(ack) == bytes, "server got " .. ack .. " bytes")
  result(bytes, t1 - t0)
  s:close()
end

function roles.pingpong_server()
  local ls = server_socket(socket.SOCK_STREAM, 16)
  local c = ls:accept()
  c:setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
  while true do
    local data = recv_exact(c, MSG)
    if not data then break end
    c:sendall(data)
  end
  c:close()
  ls:close()
end

function roles.pingpong_client(port, n)
  local msg = string.rep("x", MSG)
  local s = connect_to(port)
  s:setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
  local t0 = socket.monotonic()
  for _ = 1, n do
    s:sendall(msg)
    assert(recv_exact(s, MSG), "server closed early")
  end
  local t1 = socket.monotonic()
  result(n, t1 - t0)
  s:close()
end

function roles.connrate_server(n)
  local ls = server_socket(socket.SOCK_STREAM, 128)
  for _ = 1, n do
    local c = ls:accept()
    assert(#c:recv(1) == 1)
    c:close()
  end
  ls:close()
end

function roles.connrate_client(port, n)
  local t0 = socket.monotonic()
  for _ = 1, n do
    local s = socket.socket()
    s:connect("127.0.0.1", port)
    s:sendall("x")
    assert(s:recv(1) == "", "expected the end of stream")
    s:close()
  end
  local t1 = socket.monotonic()
  result(n, t1 - t0)
end

function roles.udp_server()
  local s = server_socket(socket.SOCK_DGRAM)
  while true do
    local data, host, port = s:recvfrom(MSG)
    if #data ~= MSG then break end
    s:sendto(data, host, port)
  end
  s:close()
end

function roles.udp_client(port, n)
  local s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
  local msg = string.rep("x", MSG)
  local t0 = socket.monotonic()
  for _ = 1, n do
    s:sendto(msg, "127.0.0.1", port)
    assert(#s:recv(MSG) == MSG)
  end
  local t1 = socket.monotonic()
  s:sendto("END", "127.0.0.1", port)
  result(n, t1 - t0)
  s:close()
end

-- The concurrent workload's server: socket.epoll and non-blocking sockets,
-- the way Python's server uses selectors: a connection costs a socket and
-- a table slot. Runs until killed.
function roles.echo_server()
  local ls = server_socket(socket.SOCK_STREAM, 4096)
  ls:setblocking(false)
  local IN, OUT = socket.EPOLLIN, socket.EPOLLOUT
  local ep = socket.epoll()
  local lfd = ls:fileno()
  ep:register(lfd, IN)
  local conns, pending = {}, {} -- by descriptor: socket, unsent reply

  local function close(fd)
    ep:unregister(fd)
    conns[fd]:close()
    conns[fd], pending[fd] = nil, nil
  end

  local function write_rest(fd, c, data)
    local ok, n = pcall(c.send, c, data)
    if not ok then
      if n.name ~= "EAGAIN" then return close(fd) end
      n = 0
    end
    if n < #data then
      if not pending[fd] then ep:modify(fd, OUT) end
      pending[fd] = data:sub(n + 1)
    elseif pending[fd] then
      pending[fd] = nil
      ep:modify(fd, IN)
    end
  end

  local function accept_all()
    while true do
      local ok, c = pcall(ls.accept, ls)
      if not ok then return end -- EAGAIN: no more for now
      c:setblocking(false)
      c:setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
      local fd = c:fileno()
      conns[fd] = c
      ep:register(fd, IN)
    end
  end

  while true do
    for _, ev in ipairs(ep:poll(nil, 512)) do -- 512 at most, as ref.c
      local fd = ev[1]
      local c = conns[fd]
      if fd == lfd then
        accept_all()
      elseif pending[fd] then
        write_rest(fd, c, pending[fd])
      else
        local ok, data = pcall(c.recv, c, 4096)
        if not ok then
          if data.name ~= "EAGAIN" then close(fd) end
        elseif data == "" then
          close(fd)
        else
          write_rest(fd, c, data)
        end
      end
    end
  end
end

-- The same server with one task per connection, written as blocking code;
-- the accept loop is a task too (the "lsock tasks" implementation).
function roles.echo_tasks_server()
  assert(socket.spawn, "this lsock has no socket.spawn (no event loop)")
  local ls = server_socket(socket.SOCK_STREAM, 4096)
  local function serve(c)
    c:setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while true do
      local data = c:recv(4096)
      if data == "" then break end
      c:sendall(data)
    end
    c:close()
  end
  socket.spawn(function()
    while true do
      local c = ls:accept()
      socket.spawn(serve, c)
    end
  end)
  socket.run()
end

function roles.lines_server(bytes)
  local ls = server_socket(socket.SOCK_STREAM, 16)
  local c = ls:accept()
  local per = CHUNK // LINE
  local t = {}
  for i = 0, per - 1 do
    t[#t + 1] = string.rep(string.char(97 + i % 26), LINE - 1) .. "\n"
  end
  local chunk = table.concat(t)
  local lines = bytes // LINE
  while lines > 0 do
    c:sendall(lines >= per and chunk or chunk:sub(1, lines * LINE))
    lines = lines - per
  end
  c:close()
  ls:close()
end

function roles.lines_client(port, bytes)
  local s = connect_to(port)
  local t0 = socket.monotonic()
  local f = s:makefile("r")
  local lines, total = 0, 0
  for line in f:lines() do
    lines = lines + 1
    total = total + #line + 1
  end
  local t1 = socket.monotonic()
  assert(lines == bytes // LINE and total == lines * LINE,
         "got " .. lines .. " lines")
  result(total, t1 - t0)
  f:close()
  s:close()
end

local role = arg[1] and roles[arg[1]:gsub("-", "_")]
if not role then
  io.stderr:write("usage: lsock lsock.lua ROLE [ARGS...] (see bench/c/ref.c)\n")
  os.exit(2)
end
local args = {}
for i = 2, #arg do args[#args + 1] = math.tointeger(tonumber(arg[i])) end
role(table.unpack(args))
