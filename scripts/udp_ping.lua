-- udp_ping.lua: round-trip times to a UDP echo server, with loss and
-- percentiles. A sender task and a receiver share one socket, so a late or
-- lost reply never delays the next probe.
--
--   lsock scripts/udp_ping.lua -c 20 -i 0.1 127.0.0.1 7
local socket = require "lsock"

local PROG = "udp_ping.lua"
local USAGE = [[
usage: udp_ping.lua [-c COUNT] [-i SECONDS] [-t SECONDS] [-s BYTES] [-q] HOST PORT

Sends COUNT datagrams to a UDP echo server at HOST:PORT, one every -i
seconds, and matches the echoes by sequence number. Prints one line per
reply (unless -q), then a summary:

  20 sent, 19 received, 5.0% loss
  rtt min/avg/max = 0.041/0.063/0.210 ms
  rtt p50/p90/p99 = 0.052/0.101/0.210 ms

  -c, --count N       probes to send (default 10)
  -i, --interval S    seconds between probes (default 0.2)
  -t, --timeout S     how long to wait for a reply after the last probe
                      (default 1); a reply later than that counts as lost
  -s, --size BYTES    datagram size, 32-65507 (default 64)
  -q, --quiet         only the summary
  -h, --help          show this help

Exit status: 0 if at least one reply came back, 1 if none did (or on an
error), 2 on bad arguments.
]]

local function die(msg, status)
  io.stderr:write(PROG, ": ", tostring(msg), "\n")
  os.exit(status or 1)
end

local opts = { count = 10, interval = 0.2, timeout = 1, size = 64,
               quiet = false }

local function parse(args)
  local rest = {}
  local i = 1
  local function number(name, integer, min, max)
    i = i + 1
    local v = tonumber(args[i])
    if integer then v = v and math.tointeger(v) end
    if not v or v < min or (max and v > max) then
      die(("%s needs a number from %s%s"):format(name, min,
          max and (" to " .. max) or ""), 2)
    end
    return v
  end
  while i <= #args do
    local a = args[i]
    if a == "-h" or a == "--help" then
      io.stdout:write(USAGE)
      os.exit(0)
    elseif a == "-c" or a == "--count" then opts.count = number(a, true, 1)
    elseif a == "-i" or a == "--interval" then opts.interval = number(a, false, 0)
    elseif a == "-t" or a == "--timeout" then opts.timeout = number(a, false, 0.001)
    elseif a == "-s" or a == "--size" then opts.size = number(a, true, 32, 65507)
    elseif a == "-q" or a == "--quiet" then opts.quiet = true
    elseif a:sub(1, 1) == "-" then
      die("unknown option " .. a .. " (try --help)", 2)
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  if #rest ~= 2 then die("give HOST PORT (try --help)", 2) end
  opts.host = rest[1]
  opts.port = math.tointeger(tonumber(rest[2]))
  if not opts.port or opts.port < 1 or opts.port > 65535 then
    die("bad port: " .. rest[2], 2)
  end
end

-- The p-th percentile (0-100) of a sorted array, nearest-rank method.
local function percentile(sorted, p)
  local rank = math.max(1, math.ceil(p / 100 * #sorted))
  return sorted[rank]
end

local function main(args)
  parse(args)
  local ai = socket.getaddrinfo(opts.host, opts.port, socket.AF_UNSPEC,
                                socket.SOCK_DGRAM)[1]
  local s = socket.socket(ai.family, ai.type, ai.proto)
  -- connect() filters out datagrams from anyone else and lets an ICMP
  -- "port unreachable" surface as ECONNREFUSED on the next call.
  s:connect(table.unpack(ai.addr))
  local target = ai.family == socket.AF_INET6 and
                 ("[%s]:%d"):format(ai.addr[1], ai.addr[2]) or
                 ("%s:%d"):format(ai.addr[1], ai.addr[2])
  -- A random tag tells our probes from stray datagrams of an earlier run.
  math.randomseed(os.time(), math.floor(socket.monotonic() * 1e6))
  local tag = ("%08x"):format(math.random(0, 0x7fffffff))
  local sent_at = {}   -- seq -> send time
  local rtts = {}      -- seq -> round trip in seconds
  local received, duplicates, refused = 0, 0, 0
  local sending_done = false
  local deadline -- when the receiver stops waiting (after the last probe)

  if not opts.quiet then
    io.stdout:write(("PING %s: %d probes of %d bytes\n"):format(
      target, opts.count, opts.size))
  end

  local receiver = socket.spawn(function()
    while true do
      local now = socket.monotonic()
      local wait = sending_done and deadline - now or opts.interval + opts.timeout
      if sending_done and (wait <= 0 or received + duplicates >= opts.count) then
        break
      end
      s:settimeout(math.max(wait, 0.001))
      local ok, data = pcall(s.recv, s, 65536)
      local at = socket.monotonic()
      if ok then
        local t, seq = data:match("^lsock%-ping (%x+) (%d+) ")
        seq = tonumber(seq)
        if t == tag and seq and sent_at[seq] then
          if rtts[seq] then
            duplicates = duplicates + 1
          else
            rtts[seq] = at - sent_at[seq]
            received = received + 1
            if not opts.quiet then
              io.stdout:write(("%d bytes from %s: seq=%d time=%.3f ms\n"):format(
                #data, target, seq, rtts[seq] * 1000))
              io.stdout:flush()
            end
          end
        end
      elseif getmetatable(data) == socket.error and data.kind == "timeout" then
        -- nothing this time; the loop checks the deadline
      elseif getmetatable(data) == socket.error and data.name == "ECONNREFUSED" then
        refused = refused + 1 -- nobody listens there (ICMP port unreachable)
      else
        error(data, 0)
      end
    end
  end)

  for seq = 1, opts.count do
    local head = ("lsock-ping %s %d "):format(tag, seq)
    local payload = head .. ("."):rep(math.max(0, opts.size - #head))
    sent_at[seq] = socket.monotonic()
    local ok, err = pcall(s.send, s, payload)
    if not ok then
      if getmetatable(err) == socket.error and err.name == "ECONNREFUSED" then
        refused = refused + 1
      else
        error(err, 0)
      end
    end
    if seq < opts.count then socket.sleep(opts.interval) end
  end
  deadline = socket.monotonic() + opts.timeout
  sending_done = true
  receiver:join()
  s:close()

  -- Replies that came back after the timeout are counted as lost.
  local list = {}
  for seq = 1, opts.count do
    local r = rtts[seq]
    if r and r <= opts.timeout then list[#list + 1] = r
    elseif r then received = received - 1 end
  end
  table.sort(list)
  local loss = (opts.count - #list) / opts.count * 100
  io.stdout:write(("--- %s udp ping statistics ---\n"):format(target))
  io.stdout:write(("%d sent, %d received, %.1f%% loss"):format(
    opts.count, #list, loss))
  if duplicates > 0 then io.stdout:write((", %d duplicates"):format(duplicates)) end
  if refused > 0 then io.stdout:write((", %d refused"):format(refused)) end
  io.stdout:write("\n")
  if #list > 0 then
    local sum = 0
    for _, r in ipairs(list) do sum = sum + r end
    local ms = function(x) return ("%.3f"):format(x * 1000) end
    io.stdout:write(("rtt min/avg/max = %s/%s/%s ms\n"):format(
      ms(list[1]), ms(sum / #list), ms(list[#list])))
    io.stdout:write(("rtt p50/p90/p99 = %s/%s/%s ms\n"):format(
      ms(percentile(list, 50)), ms(percentile(list, 90)),
      ms(percentile(list, 99))))
  end
  io.stdout:flush()
  if #list == 0 then die("no replies from " .. target) end
  return 0
end

local ok, err = pcall(main, arg)
if not ok then die(err) end
os.exit(0)
