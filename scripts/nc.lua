-- nc.lua: a netcat. Connects to (or listens for) one TCP, UDP or Unix
-- stream peer and copies stdin to the socket and the socket to stdout.
--
--   lsock scripts/nc.lua HOST PORT          connect
--   lsock scripts/nc.lua -l [HOST] PORT     listen, serve one peer
--   lsock scripts/nc.lua -U [-l] PATH       Unix stream socket
local socket = require "lsock"

local PROG = "nc.lua"
local USAGE = [[
usage: nc.lua [-46u] [-w SECONDS] [-v] HOST PORT
       nc.lua -l [-46u] [-w SECONDS] [-v] [HOST] PORT
       nc.lua -U [-l] [-w SECONDS] [-v] PATH

Copies stdin to the socket and the socket to stdout, in both directions at
once. At the end of stdin it half-closes the connection (shutdown SHUT_WR)
and goes on copying the socket to stdout; it exits when the peer has ended
its side and stdin has been sent (or at once when the peer ends its side and
stdin is a terminal).

  -l            listen for one peer instead of connecting; HOST defaults to
                every address (0.0.0.0, or :: with -6); PORT 0 picks a free
                port. "listening on HOST:PORT" goes to stderr (stdout
                carries the data).
  -u            UDP: each chunk of stdin is one datagram; with -l the first
                datagram's sender becomes the peer. After the end of stdin
                it prints replies until none comes for the -w time (1 s by
                default).
  -U            a Unix stream socket at PATH (with -l: bound, and removed
                at exit)
  -4, -6        IPv4 or IPv6 only
  -w SECONDS    the connect timeout, and the idle timeout: exit with an
                error when no data moves either way for that long
  -v            report the connection on stderr
  -h, --help    show this help

Exit status: 0 when the session ended normally, 1 on an error (refused,
reset, timed out), 2 on bad arguments.
]]

local function die(msg, status)
  io.stderr:write(PROG, ": ", tostring(msg), "\n")
  os.exit(status or 1)
end

local function hostport(host, port)
  if type(port) ~= "number" then return host end -- a Unix path
  if host:find(":", 1, true) then return ("[%s]:%d"):format(host, port) end
  return ("%s:%d"):format(host, port)
end

local function parse(args)
  local o = { listen = false, udp = false, unix = false, family = socket.AF_UNSPEC,
              wait = nil, verbose = false, rest = {} }
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "-h" or a == "--help" then
      io.stdout:write(USAGE)
      os.exit(0)
    elseif a == "--" then
      for j = i + 1, #args do o.rest[#o.rest + 1] = args[j] end
      break
    elseif a:match("^%-%w+$") then
      -- Bundled flags (-lu, -lv); -w takes the next word.
      for c in a:sub(2):gmatch(".") do
        if c == "l" then o.listen = true
        elseif c == "u" then o.udp = true
        elseif c == "U" then o.unix = true
        elseif c == "4" then o.family = socket.AF_INET
        elseif c == "6" then o.family = socket.AF_INET6
        elseif c == "v" then o.verbose = true
        elseif c == "w" then
          i = i + 1
          o.wait = tonumber(args[i])
          if not o.wait or o.wait <= 0 then
            die("-w needs a positive number of seconds", 2)
          end
        else
          die("unknown option -" .. c .. " (try --help)", 2)
        end
      end
    elseif a:match("^%-.") then
      die("unknown option " .. a .. " (try --help)", 2)
    else
      o.rest[#o.rest + 1] = a
    end
    i = i + 1
  end
  if o.unix and o.udp then die("-U and -u do not go together", 2) end
  return o
end

local function port_arg(s)
  local p = math.tointeger(tonumber(s))
  if not p or p < 0 or p > 65535 then die("bad port: " .. tostring(s), 2) end
  return p
end

local function verbose(o, fmt, ...)
  if o.verbose then io.stderr:write(PROG, ": ", fmt:format(...), "\n") end
end

local unix_path_to_remove

local function finish(status)
  io.stdout:flush()
  if unix_path_to_remove then os.remove(unix_path_to_remove) end
  os.exit(status)
end

-- The socket to talk over, connected to the peer (UDP listen: not yet).
local function open(o)
  local stype = o.udp and socket.SOCK_DGRAM or socket.SOCK_STREAM
  if o.unix then
    if #o.rest ~= 1 then die("-U takes one PATH", 2) end
    local path = o.rest[1]
    local s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if o.listen then
      s:bind(path)
      unix_path_to_remove = path
      s:listen(1)
      io.stderr:write("listening on ", path, "\n")
      s:settimeout(o.wait)
      local conn = s:accept()
      s:close()
      verbose(o, "connection on %s", path)
      return conn
    end
    s:settimeout(o.wait)
    s:connect(path)
    verbose(o, "connected to %s", path)
    return s
  end

  if o.listen then
    local host, port
    if #o.rest == 1 then
      host = o.family == socket.AF_INET6 and "::" or "0.0.0.0"
      port = o.rest[1]
    elseif #o.rest == 2 then
      host, port = o.rest[1], o.rest[2]
    else
      die("-l takes [HOST] PORT", 2)
    end
    local ai = socket.getaddrinfo(host, port_arg(port), o.family, stype, 0,
                                  socket.AI_PASSIVE)[1]
    local s = socket.socket(ai.family, ai.type, ai.proto)
    if not o.udp then
      s:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, true)
    end
    s:bind(table.unpack(ai.addr))
    local h, p = s:getsockname()
    io.stderr:write("listening on ", hostport(h, p), "\n")
    if o.udp then return s end
    s:listen(1)
    s:settimeout(o.wait)
    local conn, ph, pp = s:accept()
    s:close()
    verbose(o, "connection from %s", hostport(ph, pp))
    return conn
  end

  if #o.rest ~= 2 then die("give HOST PORT (try --help)", 2) end
  local host, port = o.rest[1], port_arg(o.rest[2])
  local last
  for _, ai in ipairs(socket.getaddrinfo(host, port, o.family, stype)) do
    local s = socket.socket(ai.family, ai.type, ai.proto)
    s:settimeout(o.wait)
    local ok, e = pcall(s.connect, s, table.unpack(ai.addr))
    if ok then
      verbose(o, "connected to %s", hostport(table.unpack(ai.addr)))
      return s
    end
    s:close()
    last = e
  end
  error(last or ("no address for " .. host))
end

-- How stdin is read. Lua's io.read blocks the whole process, tasks
-- included, so stdin is read according to what it is:
--  * a socket (nc.lua run by inetd, socat, another nc): socket.fromfd and
--    recv, which suspend only the reading flow like any socket call;
--  * a seekable file (a regular file, /dev/null): io.stdin:read(65536)
--    never waits on another process, it returns what the file has;
--  * a pipe or a terminal: socket.select on descriptor 0 waits (running the
--    loop, so the socket-to-stdout task goes on) until input is there, then
--    io.stdin:read("L") takes one line. stdin is unbuffered
--    (setvbuf "no"), so read("L") reads up to the newline and not a byte
--    further: nothing can sit in stdio's buffer where select cannot see it.
--    A terminal delivers whole lines; a pipe may make read("L") wait for the
--    rest of a line that has begun, which only delays the other direction
--    while the writer is mid-line. One read(2) per byte makes this the slow
--    path: redirect large binary input from a file, or pass a socket.
local function stdin_reader(chunk)
  local ok, s = pcall(socket.fromfd, 0, socket.AF_UNIX, socket.SOCK_STREAM)
  if ok then
    return function() return s:recv(chunk) end, "socket"
  end
  if io.stdin:seek("cur") then
    return function() return io.stdin:read(chunk) or "" end, "file"
  end
  io.stdin:setvbuf("no")
  return function()
    socket.select({ 0 }, nil, nil)
    return io.stdin:read("L") or ""
  end, "stream"
end

local function is_tty()
  -- A terminal answers os.execute("test -t 0") the way isatty would; the
  -- shell inherits our stdin.
  local ok = os.execute("test -t 0")
  return ok == true
end

local function main(args)
  local o = parse(args)
  io.stdout:setvbuf("no")  -- each chunk reaches stdout as it arrives
  local s = open(o)
  local peer_set = not (o.udp and o.listen)
  local last_io = socket.monotonic()
  local stdin_done = false
  -- UDP: a chunk is a datagram, and a datagram holds at most 65507 bytes.
  local read_stdin, kind = stdin_reader(o.udp and 8192 or 65536)
  local interactive = kind == "stream" and is_tty()

  local function put(data)
    local okw, err = io.stdout:write(data)
    if not okw then die("stdout: " .. tostring(err)) end
  end

  -- The socket to stdout, in a task. With -w, recv wakes every -w seconds
  -- to check whether anything moved in either direction meanwhile.
  local reader = socket.spawn(function()
    local idle = o.wait or (o.udp and 1) or nil
    s:settimeout(idle)
    while true do
      local ok, data, h, p = pcall(function()
        if o.udp and not peer_set then return s:recvfrom(65536) end
        return s:recv(65536)
      end)
      if ok then
        last_io = socket.monotonic()
        if o.udp and not peer_set then
          s:connect(h, p)  -- the first sender is the peer from now on
          peer_set = true
          verbose(o, "datagrams from %s", hostport(h, p))
        end
        if data == "" and not o.udp then
          if stdin_done or interactive then finish(0) end
          return  -- the peer is done sending; stdin still has data for it
        end
        put(data)
      elseif getmetatable(data) == socket.error and data.kind == "timeout" then
        if o.udp and stdin_done and socket.monotonic() - last_io >= idle then
          finish(0)
        end
        if o.wait and socket.monotonic() - last_io >= o.wait then
          if o.udp and not o.listen and stdin_done then finish(0) end
          die(("idle for %g seconds"):format(o.wait))
        end
      else
        die(data)
      end
    end
  end)

  -- stdin to the socket, in the main flow.
  while true do
    if o.udp and not peer_set then
      -- A UDP listener learns its peer from the first datagram.
      socket.sleep(0.01)
    else
      local data = read_stdin()
      if data == "" then break end
      last_io = socket.monotonic()
      if o.udp then s:send(data) else s:sendall(data) end
    end
  end
  stdin_done = true
  if not o.udp then s:shutdown(socket.SHUT_WR) end
  verbose(o, "end of stdin")
  reader:join()  -- returns once the peer has ended its side
  finish(0)
end

local ok, err = pcall(main, arg)
if not ok then
  if unix_path_to_remove then os.remove(unix_path_to_remove) end
  die(err)
end
