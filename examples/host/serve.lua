-- serve.lua: run by examples/host/host.c. A server task and a client task
-- talk over loopback while the host's loop keeps turning; the outcome goes
-- to the global `result` for the host to read.
local srv = socket.socket()
srv:bind("127.0.0.1", 0)
srv:listen()
local _, port = srv:getsockname()

socket.spawn(function()
  local conn <close> = srv:accept()
  conn:sendall(conn:recv(100))
  srv:close()
end)

socket.spawn(function()
  socket.sleep(0.05) -- the host ticks meanwhile
  local c <close> = socket.socket()
  c:settimeout(5)
  c:connect("127.0.0.1", port)
  c:sendall("ping")
  local reply = c:recv(100)
  result = reply == "ping" and "ok" or ("wrong reply " .. reply)
  print(("script: %q came back after %d host ticks"):format(reply,
                                                           host.ticks()))
end)
