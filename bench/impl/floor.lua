-- bench/impl/floor.lua: the pingpong and connrate roles written with the
-- thinnest binding Lua can have (bench/c/floor.c), the floor under any
-- socket library for Lua 5.4. Run by the built lsock interpreter, which
-- does not load lsock for it:
--   lsock bench/impl/floor.lua FLOOR.SO ROLE [ARGS...]
-- The calls and loops are those of bench/impl/lsock.lua, line for line
-- (c:nodelay() stands for the setsockopt call).
local path, role = arg[1], arg[2]
local floor = assert(package.loadlib(path, "luaopen_floor"))()

local MSG = 64

local function result(count, secs)
  io.write(string.format("RESULT %d %.9f\n", count, secs))
end

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

local function connect_to(port)
  local s = floor.socket()
  s:connect("127.0.0.1", port)
  return s
end

function roles.pingpong_server()
  local ls = floor.listen(16)
  local c = ls:accept()
  c:nodelay()
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
  s:nodelay()
  local t0 = floor.monotonic()
  for _ = 1, n do
    s:sendall(msg)
    assert(recv_exact(s, MSG), "server closed early")
  end
  local t1 = floor.monotonic()
  result(n, t1 - t0)
  s:close()
end

function roles.connrate_server(n)
  local ls = floor.listen(128)
  for _ = 1, n do
    local c = ls:accept()
    assert(#c:recv(1) == 1)
    c:close()
  end
  ls:close()
end

function roles.connrate_client(port, n)
  local t0 = floor.monotonic()
  for _ = 1, n do
    local s = floor.socket()
    s:connect("127.0.0.1", port)
    s:sendall("x")
    assert(s:recv(1) == "", "expected the end of stream")
    s:close()
  end
  local t1 = floor.monotonic()
  result(n, t1 - t0)
end

local fn = role and roles[role:gsub("-", "_")]
if not (path and fn) then
  io.stderr:write("usage: floor.lua FLOOR.SO pingpong-server|connrate-server N|pingpong-client PORT N|connrate-client PORT N\n")
  os.exit(2)
end
local args = {}
for i = 3, #arg do args[#args + 1] = math.tointeger(tonumber(arg[i])) end
fn(table.unpack(args))
