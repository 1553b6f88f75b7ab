-- relay.lua: a TCP port forwarder. Listens here, connects there for each
-- client, and copies both ways at once; when one side ends its stream
-- (shutdown SHUT_WR or close), the other side's write half is shut down in
-- turn, so request/response protocols that rely on half-close still work.
--
--   lsock scripts/relay.lua -p 8080 example.internal 80
local socket = require "lsock"

local PROG = "relay.lua"
local USAGE = [[
usage: relay.lua [-b HOST] [-p PORT] [-t SECONDS] [-q] TARGET_HOST TARGET_PORT

Accepts TCP connections on HOST:PORT and relays each one to
TARGET_HOST:TARGET_PORT, both directions at once, every connection in its
own tasks. The end of one direction (the client or the target shuts down
its writing side) is carried through with shutdown(SHUT_WR) on the other
connection; the pair is closed once both directions have ended. An error
(a reset) on either side ends both. The first line on stdout is
"listening on HOST:PORT".

  -b, --bind HOST       address to listen on (default 127.0.0.1)
  -p, --port PORT       port to listen on (default 0: a free one)
  -t, --timeout S       connect timeout for the target (default 10)
  -q, --quiet           do not log connections on stderr
  -h, --help            show this help
]]

local function die(msg, status)
  io.stderr:write(PROG, ": ", tostring(msg), "\n")
  os.exit(status or 1)
end

local opts = { host = "127.0.0.1", port = 0, timeout = 10, quiet = false }

local function port_arg(s)
  local p = math.tointeger(tonumber(s))
  if not p or p < 0 or p > 65535 then die("bad port: " .. tostring(s), 2) end
  return p
end

local function parse(args)
  local rest = {}
  local i = 1
  local function value(name)
    i = i + 1
    if args[i] == nil then die(name .. " needs a value", 2) end
    return args[i]
  end
  while i <= #args do
    local a = args[i]
    if a == "-h" or a == "--help" then
      io.stdout:write(USAGE)
      os.exit(0)
    elseif a == "-b" or a == "--bind" then opts.host = value(a)
    elseif a == "-p" or a == "--port" then opts.port = port_arg(value(a))
    elseif a == "-t" or a == "--timeout" then
      opts.timeout = tonumber(value(a))
      if not opts.timeout or opts.timeout <= 0 then
        die("--timeout needs a positive number of seconds", 2)
      end
    elseif a == "-q" or a == "--quiet" then opts.quiet = true
    elseif a:sub(1, 1) == "-" then
      die("unknown option " .. a .. " (try --help)", 2)
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  if #rest ~= 2 then die("give TARGET_HOST TARGET_PORT (try --help)", 2) end
  opts.target_host, opts.target_port = rest[1], port_arg(rest[2])
end

local function log(fmt, ...)
  if not opts.quiet then io.stderr:write(fmt:format(...), "\n") end
end

local function hostport(h, p)
  if h:find(":", 1, true) then return ("[%s]:%d"):format(h, p) end
  return ("%s:%d"):format(h, p)
end

local function connect(host, port)
  local last
  for _, ai in ipairs(socket.getaddrinfo(host, port, socket.AF_UNSPEC,
                                         socket.SOCK_STREAM)) do
    local s = socket.socket(ai.family, ai.type, ai.proto)
    s:settimeout(opts.timeout)
    local ok, e = pcall(s.connect, s, table.unpack(ai.addr))
    if ok then
      s:settimeout(nil) -- an idle relayed connection may stay as long as it likes
      return s
    end
    s:close()
    last = e
  end
  error(last or ("no address for " .. host))
end

-- Copies from a to b until a's stream ends, then ends b's writing side.
-- Returns the byte count. On an error (a reset) it shuts both sockets down
-- completely, which ends the other direction's copy too, and re-raises.
local function pump(a, b)
  local n = 0
  local ok, err = pcall(function()
    while true do
      local data = a:recv(65536)
      if data == "" then break end
      b:sendall(data)
      n = n + #data
    end
    b:shutdown(socket.SHUT_WR)
  end)
  if not ok then
    pcall(a.shutdown, a, socket.SHUT_RDWR)
    pcall(b.shutdown, b, socket.SHUT_RDWR)
    error(err, 0)
  end
  return n
end

local function relay(client, peer)
  local ok, target = pcall(connect, opts.target_host, opts.target_port)
  if not ok then
    log("%s: %s", peer, tostring(target))
    client:close()
    return
  end
  log("%s connected, relaying to %s", peer,
      hostport(opts.target_host, opts.target_port))
  local up = socket.spawn(pump, client, target)
  local down = socket.spawn(pump, target, client)
  local ok_up, sent = pcall(up.join, up)
  local ok_down, received = pcall(down.join, down)
  client:close()
  target:close()
  if ok_up and ok_down then
    log("%s closed: %d bytes up, %d down", peer, sent, received)
  else
    log("%s closed: %s", peer, tostring(ok_up and received or sent))
  end
end

local function main(args)
  parse(args)
  local ai = socket.getaddrinfo(opts.host, opts.port, socket.AF_UNSPEC,
                                socket.SOCK_STREAM, 0, socket.AI_PASSIVE)[1]
  local l = socket.socket(ai.family, ai.type, ai.proto)
  l:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, true)
  l:bind(table.unpack(ai.addr))
  l:listen()
  local h, p = l:getsockname()
  io.stdout:write("listening on ", hostport(h, p), "\n")
  io.stdout:flush()
  while true do
    local ok, conn, ch, cp = pcall(l.accept, l)
    if ok then
      socket.spawn(relay, conn, hostport(ch, cp))
    else
      log("accept: %s", tostring(conn))
      socket.sleep(0.1)
    end
  end
end

local ok, err = pcall(main, arg)
if not ok then die(err) end
