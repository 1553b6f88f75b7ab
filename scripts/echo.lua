-- echo.lua: a TCP or UDP echo server and client.
--
--   lsock scripts/echo.lua --listen [--udp] [HOST] PORT    serve
--   lsock scripts/echo.lua [--udp] HOST PORT [MESSAGE...]  send, print the echo
--
-- The server echoes every byte of every TCP connection (one task per
-- client, so clients are served concurrently) or every UDP datagram back to
-- its sender. It prints "listening on HOST:PORT" (PORT as bound, so port 0
-- gives the port the kernel chose) as its first line of stdout.
local socket = require "lsock"

local PROG = "echo.lua"
local USAGE = [[
usage: echo.lua --listen [--udp] [HOST] PORT
       echo.lua [--udp] [-t SECONDS] HOST PORT [MESSAGE...]

TCP or UDP echo server and client.

  -l, --listen       serve: echo back what each client sends (TCP: every
                     byte of every connection, clients served concurrently;
                     UDP: every datagram to its sender). HOST defaults to
                     127.0.0.1; PORT 0 picks a free port. The first line on
                     stdout is "listening on HOST:PORT".
  -u, --udp          use UDP instead of TCP
  -t, --timeout S    client: give up after S seconds without progress
                     (default 5)
  -q, --quiet        server: do not log connections on stderr
  -h, --help         show this help

As a client, sends MESSAGE (the words joined by spaces, plus a newline) or,
without one, all of stdin; prints what comes back on stdout and exits 0 if
it equals what was sent, 1 otherwise. TCP: sends, half-closes, reads until
the server closes. UDP: sends one datagram and waits for one reply.
]]

local function die(msg, status)
  io.stderr:write(PROG, ": ", tostring(msg), "\n")
  os.exit(status or 1)
end

local function log(quiet, fmt, ...)
  if not quiet then io.stderr:write(fmt:format(...), "\n") end
end

-- "host:port", with brackets around an IPv6 host.
local function hostport(host, port)
  if host:find(":", 1, true) then return ("[%s]:%d"):format(host, port) end
  return ("%s:%d"):format(host, port)
end

local function parse(args)
  local o = { udp = false, listen = false, timeout = 5, quiet = false,
              rest = {} }
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "-h" or a == "--help" then
      io.stdout:write(USAGE)
      os.exit(0)
    elseif a == "-l" or a == "--listen" then o.listen = true
    elseif a == "-u" or a == "--udp" then o.udp = true
    elseif a == "-q" or a == "--quiet" then o.quiet = true
    elseif a == "-t" or a == "--timeout" then
      i = i + 1
      o.timeout = tonumber(args[i])
      if not o.timeout or o.timeout <= 0 then
        die("--timeout needs a positive number of seconds", 2)
      end
    elseif a == "--" then
      for j = i + 1, #args do o.rest[#o.rest + 1] = args[j] end
      break
    elseif a:sub(1, 1) == "-" and #a > 1 and #o.rest < 2 then
      die("unknown option " .. a .. " (try --help)", 2)
    else
      o.rest[#o.rest + 1] = a
    end
    i = i + 1
  end
  return o
end

local function port_arg(s)
  local p = math.tointeger(tonumber(s))
  if not p or p < 0 or p > 65535 then die("bad port: " .. tostring(s), 2) end
  return p
end

-- The first address getaddrinfo gives for host, port and the socket type.
local function resolve(host, port, stype, passive)
  local infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, stype, 0,
                                   passive and socket.AI_PASSIVE or 0)
  return infos
end

-- A client socket connected to host:port, trying each address in turn.
local function connect(host, port, stype, timeout)
  local last
  for _, ai in ipairs(resolve(host, port, stype)) do
    local s = socket.socket(ai.family, ai.type, ai.proto)
    s:settimeout(timeout)
    local ok, e = pcall(s.connect, s, table.unpack(ai.addr))
    if ok then return s end
    s:close()
    last = e
  end
  error(last or ("no address for " .. host))
end

local function bound(host, port, stype)
  local ai = resolve(host, port, stype, true)[1]
  local s = socket.socket(ai.family, ai.type, ai.proto)
  if stype == socket.SOCK_STREAM then
    s:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, true)
  end
  s:bind(table.unpack(ai.addr))
  return s
end

local function announce(s)
  local h, p = s:getsockname()
  io.stdout:write("listening on ", hostport(h, p), "\n")
  io.stdout:flush()
end

-- One TCP client: copy everything it sends back to it until it closes.
local function echo_conn(conn, peer, quiet)
  local ok, e = pcall(function()
    while true do
      local data = conn:recv(65536)
      if data == "" then break end
      conn:sendall(data)
    end
  end)
  conn:close()
  if ok then
    log(quiet, "%s closed", peer)
  else
    log(quiet, "%s: %s", peer, tostring(e))
  end
end

local function serve_tcp(host, port, quiet)
  local l = bound(host, port, socket.SOCK_STREAM)
  l:listen()
  announce(l)
  while true do
    local ok, conn, h, p = pcall(l.accept, l)
    if ok then
      local peer = hostport(h, p)
      log(quiet, "%s connected", peer)
      socket.spawn(echo_conn, conn, peer, quiet)
    else
      -- EMFILE and friends: say so, breathe, keep serving.
      log(false, "accept: %s", tostring(conn))
      socket.sleep(0.1)
    end
  end
end

local function serve_udp(host, port, quiet)
  local s = bound(host, port, socket.SOCK_DGRAM)
  announce(s)
  while true do
    local ok, e = pcall(function()
      local data, h, p, flow, scope = s:recvfrom(65536)
      s:sendto(data, h, p, flow, scope)
      log(quiet, "%s: %d bytes", hostport(h, p), #data)
    end)
    if not ok then log(false, "%s", tostring(e)) end
  end
end

local function client_tcp(host, port, message, timeout)
  local s = connect(host, port, socket.SOCK_STREAM, timeout)
  -- Read in a task while the main flow sends, so that a large message
  -- cannot deadlock with both directions' buffers full.
  local reader = socket.spawn(function()
    local parts = {}
    while true do
      local data = s:recv(65536)
      if data == "" then break end
      parts[#parts + 1] = data
    end
    return table.concat(parts)
  end)
  s:sendall(message)
  s:shutdown(socket.SHUT_WR)
  local reply = reader:join()
  s:close()
  return reply
end

local function client_udp(host, port, message, timeout)
  if #message > 65507 then die("a UDP message holds at most 65507 bytes") end
  local ai = resolve(host, port, socket.SOCK_DGRAM)[1]
  local s = socket.socket(ai.family, ai.type, ai.proto)
  s:settimeout(timeout)
  s:connect(table.unpack(ai.addr))  -- replies from anyone else are dropped
  s:send(message)
  local reply = s:recv(65536)
  s:close()
  return reply
end

local function main(args)
  local o = parse(args)
  local stype = o.udp and socket.SOCK_DGRAM or socket.SOCK_STREAM
  if o.listen then
    local host, port = "127.0.0.1", o.rest[1]
    if #o.rest == 2 then host, port = o.rest[1], o.rest[2] end
    if #o.rest < 1 or #o.rest > 2 then die("--listen takes [HOST] PORT", 2) end
    port = port_arg(port)
    if o.udp then serve_udp(host, port, o.quiet)
    else serve_tcp(host, port, o.quiet) end
    return 0
  end
  if #o.rest < 2 then die("a client needs HOST PORT (try --help)", 2) end
  local host, port = o.rest[1], port_arg(o.rest[2])
  local message
  if #o.rest > 2 then
    message = table.concat(o.rest, " ", 3) .. "\n"
  else
    message = io.stdin:read("a")
  end
  local reply
  if o.udp then reply = client_udp(host, port, message, o.timeout)
  else reply = client_tcp(host, port, message, o.timeout) end
  io.stdout:write(reply)
  io.stdout:flush()
  if reply ~= message then
    die(("the echo differs: sent %d bytes, got %d back"):format(#message,
                                                               #reply))
  end
  return 0
end

local ok, err = pcall(main, arg)
if not ok then die(err) end
os.exit(err)
