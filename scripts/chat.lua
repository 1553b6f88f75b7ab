-- chat.lua: a line-based multi-client chat server. Connect with any
-- line-oriented client (nc, telnet, socat), give a nickname, and every line
-- you send goes to everyone else.
--
--   lsock scripts/chat.lua -p 7000
--   nc 127.0.0.1 7000
local socket = require "lsock"

local PROG = "chat.lua"
local USAGE = [[
usage: chat.lua [-b HOST] [-p PORT] [-q]

A chat server: each client's first line is its nickname, every later line
goes to all the other clients as "<nick> line". Joins, leaves and renames
are announced as "* ..." lines. The first line on stdout is
"listening on HOST:PORT".

Commands a client can send:
  /who          list who is here
  /nick NAME    change nickname
  /me ACTION    send "* nick ACTION"
  /quit         leave

A nickname is 1-20 letters, digits, '_' or '-', unique. A client that
disconnects at any point (before its nickname, in the middle of a line,
while lines are being sent to it) leaves with a notice to the others; a
client that reads nothing for 10 seconds while lines wait for it is
dropped.

  -b, --bind HOST   address to listen on (default 127.0.0.1)
  -p, --port PORT   port (default 7000; 0 picks a free one)
  -q, --quiet       do not log on stderr
  -h, --help        show this help
]]

local MAX_LINE = 4096      -- longer lines are cut
local WRITE_TIMEOUT = 10   -- seconds a client may leave output unread

local function die(msg, status)
  io.stderr:write(PROG, ": ", tostring(msg), "\n")
  os.exit(status or 1)
end

local opts = { host = "127.0.0.1", port = 7000, quiet = false }

local function parse(args)
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "-h" or a == "--help" then
      io.stdout:write(USAGE)
      os.exit(0)
    elseif a == "-b" or a == "--bind" then
      i = i + 1
      opts.host = args[i] or die("--bind needs a HOST", 2)
    elseif a == "-p" or a == "--port" then
      i = i + 1
      opts.port = math.tointeger(tonumber(args[i]))
      if not opts.port or opts.port < 0 or opts.port > 65535 then
        die("bad port: " .. tostring(args[i]), 2)
      end
    elseif a == "-q" or a == "--quiet" then opts.quiet = true
    else
      die("unexpected argument " .. a .. " (try --help)", 2)
    end
    i = i + 1
  end
end

local function log(fmt, ...)
  if not opts.quiet then io.stderr:write(fmt:format(...), "\n") end
end

local function hostport(h, p)
  if h:find(":", 1, true) then return ("[%s]:%d"):format(h, p) end
  return ("%s:%d"):format(h, p)
end

local clients = {}   -- client -> true, for everyone with a nickname
local by_nick = {}   -- nickname -> client

-- Output: each client has a queue and at most one writer task draining it,
-- so that lines never interleave and a slow reader never holds up the
-- client whose line is being broadcast.
local drop

local function drain(c)
  while #c.queue > 0 do
    local data = table.concat(c.queue)
    c.queue = {}
    local ok, err = pcall(c.out.sendall, c.out, data)
    if not ok then
      c.writing = false
      drop(c, tostring(err))
      return
    end
  end
  c.writing = false
end

local function send(c, line)
  if c.gone then return end
  c.queue[#c.queue + 1] = line .. "\n"
  if not c.writing then
    c.writing = true
    socket.spawn(drain, c)
  end
end

local function broadcast(line, except)
  for c in pairs(clients) do
    if c ~= except then send(c, line) end
  end
end

local function names(except)
  local list = {}
  for c in pairs(clients) do
    if c ~= except then list[#list + 1] = c.nick end
  end
  table.sort(list)
  return list
end

-- Removes a client, once, telling the others if it had joined. Shutting the
-- socket down wakes its reading task, which then closes it.
function drop(c, why)
  if c.gone then return end
  c.gone = true
  pcall(c.sock.shutdown, c.sock, socket.SHUT_RDWR)
  if c.nick then
    clients[c] = nil
    by_nick[c.nick] = nil
    broadcast("* " .. c.nick .. " left")
    log("%s (%s) left: %s", c.nick, c.peer, why)
  else
    log("%s left before choosing a nickname: %s", c.peer, why)
  end
end

local function valid_nick(n)
  return n and #n >= 1 and #n <= 20 and n:match("^[%w_%-]+$") ~= nil
end

local function command(c, line)
  local cmd, rest = line:match("^/(%a+)%s*(.-)%s*$")
  cmd = cmd and cmd:lower()
  if cmd == "quit" then
    send(c, "* bye")
    return "quit"
  elseif cmd == "who" then
    send(c, "* here: " .. table.concat(names(), ", "))
  elseif cmd == "nick" then
    if not valid_nick(rest) then
      send(c, "* a nickname is 1-20 letters, digits, '_' or '-'")
    elseif by_nick[rest] then
      send(c, "* " .. rest .. " is taken")
    else
      local old = c.nick
      by_nick[old] = nil
      by_nick[rest] = c
      c.nick = rest
      broadcast("* " .. old .. " is now " .. rest)
    end
  elseif cmd == "me" then
    broadcast("* " .. c.nick .. " " .. rest, c)
  else
    send(c, "* unknown command; try /who, /nick NAME, /me ACTION, /quit")
  end
end

-- Reads lines from a client; nil at the end (or on any error).
local function line_reader(c)
  local buf = ""
  return function()
    for _ = 1, math.maxinteger do
      local i = buf:find("\n", 1, true)
      if i then
        local line = buf:sub(1, i - 1):gsub("\r$", "")
        buf = buf:sub(i + 1)
        return line:sub(1, MAX_LINE)
      end
      if #buf > MAX_LINE then
        local line = buf:sub(1, MAX_LINE)
        buf = ""
        -- The rest of the long line is dropped up to its newline.
        for _ = 1, math.maxinteger do
          local data = c.sock:recv(4096)
          if data == "" then return nil end
          local j = data:find("\n", 1, true)
          if j then
            buf = data:sub(j + 1)
            break
          end
        end
        return line
      end
      local data = c.sock:recv(4096)
      if data == "" then return nil end -- a partial last line is dropped
      buf = buf .. data
    end
  end
end

local function session(c)
  local next_line = line_reader(c)
  send(c, "* welcome to lsock chat; your nickname?")
  while not c.nick do
    local nick = next_line()
    if nick == nil then return "closed" end
    nick = nick:match("^%s*(.-)%s*$")
    if not valid_nick(nick) then
      send(c, "* a nickname is 1-20 letters, digits, '_' or '-'; try again")
    elseif by_nick[nick] then
      send(c, "* " .. nick .. " is taken; try another")
    else
      c.nick = nick
      by_nick[nick] = c
      local others = names()
      clients[c] = true
      send(c, ("* hello %s; here: %s"):format(nick,
        #others > 0 and table.concat(others, ", ") or "nobody else"))
      broadcast("* " .. nick .. " joined", c)
      log("%s (%s) joined", nick, c.peer)
    end
  end
  while not c.gone do
    local line = next_line()
    if line == nil then return "closed" end
    if line:sub(1, 1) == "/" then
      if command(c, line) == "quit" then return "quit" end
    elseif line ~= "" then
      broadcast(("<%s> %s"):format(c.nick, line), c)
    end
  end
  return "dropped"
end

local function serve_client(sock, peer)
  local c = { sock = sock, peer = peer, queue = {}, writing = false }
  -- A second descriptor for writing, with its own timeout: reading waits
  -- for as long as the client stays quiet, writing gives up after a while.
  local ok, out = pcall(sock.dup, sock)
  if not ok then
    log("%s: %s", peer, tostring(out))
    sock:close()
    return
  end
  c.out = out
  out:settimeout(WRITE_TIMEOUT)
  local fine, why = pcall(session, c)
  if not fine then why = tostring(why) end
  if why == "quit" then
    -- Let the goodbye go out before the socket closes.
    for _ = 1, WRITE_TIMEOUT * 100 do
      if not c.writing then break end
      socket.sleep(0.01)
    end
  end
  drop(c, why)
  for _ = 1, WRITE_TIMEOUT * 100 do -- the writer task notices the shutdown
    if not c.writing then break end
    socket.sleep(0.01)
  end
  out:close()
  sock:close()
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
      socket.spawn(serve_client, conn, hostport(ch, cp))
    else
      log("accept: %s", tostring(conn))
      socket.sleep(0.1)
    end
  end
end

local ok, err = pcall(main, arg)
if not ok then die(err) end
