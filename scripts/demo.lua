-- demo.lua: a TCP and a UDP exchange over loopback, server and client in
-- one script. Run it with: build/lsock scripts/demo.lua
local socket = require "lsock"

local function show(fmt, ...)
  print(string.format(fmt, ...))
end

-- A string as a readable literal: control bytes as escapes, on one line.
local function quote(s)
  local named = { ["\r"] = "\\r", ["\n"] = "\\n", ["\t"] = "\\t" }
  return '"' .. s:gsub("[%c\"\\]", function(c)
    return named[c] or string.format("\\x%02x", c:byte())
  end) .. '"'
end

-- TCP: a server on a port the kernel picks, a client that connects to it.
do
  local server <close> = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
  server:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, true)
  server:bind("127.0.0.1", 0)
  server:listen()
  local host, port = server:getsockname()
  show("tcp server listening on %s:%d", host, port)

  local client <close> = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
  client:settimeout(5)
  client:connect(host, port)
  local conn <close>, peer, peerport = server:accept()
  conn:settimeout(5)
  show("tcp server accepted %s:%d", peer, peerport)

  local request = "GET /greeting\r\n"
  client:sendall(request)
  show("tcp client sent %d bytes: %s", #request, quote(request))

  local got = conn:recv(1024)
  show("tcp server received %d bytes", #got)
  local reply = "hello from " .. host .. ":" .. port .. "\n"
  conn:sendall(reply)
  conn:shutdown(socket.SHUT_WR)  -- end of stream for the client

  local chunks = {}
  repeat
    local data = client:recv(1024)
    chunks[#chunks + 1] = data
  until data == ""
  local answer = table.concat(chunks)
  show("tcp client received %d bytes: %s", #answer, quote(answer))
  show("tcp client socket: %s", tostring(client))
end

-- UDP: a datagram out and its echo back.
do
  local server <close> = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
  server:bind("127.0.0.1", 0)
  local host, port = server:getsockname()
  show("udp server bound to %s:%d", host, port)

  local client <close> = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
  client:settimeout(5)
  server:settimeout(5)
  local ping = "ping " .. os.time()
  local sent = client:sendto(ping, host, port)
  show("udp client sent %d bytes to %s:%d", sent, host, port)

  local data, from, fromport = server:recvfrom(2048)
  show("udp server received %d bytes from %s:%d", #data, from, fromport)
  server:sendto(data:upper(), from, fromport)

  local echo, ehost, eport = client:recvfrom(2048)
  show("udp client received %d bytes from %s:%d: %s", #echo, ehost, eport,
       quote(echo))
end

-- Errors are values with fields, and print as one line.
do
  local probe = socket.socket()
  local closed = socket.socket()
  closed:bind("127.0.0.1", 0)
  local host, port = closed:getsockname()
  closed:close()  -- nothing listens on that port now
  local ok, err = pcall(probe.connect, probe, host, port)
  show("connecting to a closed port: ok=%s, %s (kind=%s, errno=%d)",
       tostring(ok), tostring(err), err.kind, err.errno)
  probe:close()
end
