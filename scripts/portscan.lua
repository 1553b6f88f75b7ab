-- portscan.lua: a concurrent TCP connect scanner. N tasks take ports from
-- one shared queue; each tries connect_ex with a timeout and reports the
-- ports that accept. Every task is written in plain blocking style: inside
-- socket.spawn a connect suspends only its own task.
--
--   lsock scripts/portscan.lua HOST FROM-TO [--concurrency N] [--timeout S]
--
-- Prints "PORT open" for each open port as it is found, then one summary
-- line. Exit status: 0 after a scan, 1 on a failure while scanning, 2 on
-- bad arguments.
local socket = require "lsock"

local USAGE = [[
usage: lsock scripts/portscan.lua HOST FROM-TO [--concurrency N] [--timeout S]

Scans the TCP ports FROM to TO (1-65535) of HOST with connect attempts,
N at a time, and prints "PORT open" for each port that accepts, then a
summary line with the number of ports scanned, the open ones and the
elapsed time.

options:
  --concurrency N   connect attempts in flight at once (default 200)
  --timeout S       seconds to wait for each attempt (default 1)
  --help            show this text and exit]]

local DEFAULT_CONCURRENCY = 200
local DEFAULT_TIMEOUT = 1.0

-- Reports a bad command line on one line of stderr and exits with 2.
local function usage_error(fmt, ...)
  io.stderr:write("portscan: ", fmt:format(...),
                  " (try --help)\n")
  os.exit(2)
end

local function parse_port(text, what)
  local n = text:match("^%d+$") and tonumber(text)
  if not n or n < 1 or n > 65535 then
    usage_error("%s port %q is not a number from 1 to 65535", what, text)
  end
  return n
end

-- Returns an options table: host, from, to, concurrency, timeout, or
-- help = true.
local function parse_args(args)
  local opts = { concurrency = DEFAULT_CONCURRENCY,
                 timeout = DEFAULT_TIMEOUT }
  local positional = {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if name == "--help" or name == "-h" then
      opts.help = true
      return opts
    elseif name == "--concurrency" or name == "--timeout" then
      if not value then
        i = i + 1
        value = args[i]
        if value == nil then usage_error("%s needs a value", name) end
      end
      local n = tonumber(value)
      if name == "--concurrency" then
        if not n or math.type(n) ~= "integer" or n < 1 or n > 100000 then
          usage_error("--concurrency %q is not a whole number from 1 " ..
                      "to 100000", value)
        end
        opts.concurrency = n
      else
        if not n or n ~= n or n <= 0 or n > 86400 then
          usage_error("--timeout %q is not a number of seconds above 0",
                      value)
        end
        opts.timeout = n
      end
    elseif a == "--" then
      for j = i + 1, #args do positional[#positional + 1] = args[j] end
      break
    elseif a:sub(1, 1) == "-" and #a > 1 then
      usage_error("unknown option %s", a)
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  if #positional ~= 2 then
    usage_error("expected HOST and FROM-TO, got %d argument(s)",
                #positional)
  end
  opts.host = positional[1]
  local from, to = positional[2]:match("^([^-]+)-([^-]+)$")
  if not from then
    local single = positional[2]:match("^%d+$")
    if not single then
      usage_error("port range %q is not FROM-TO", positional[2])
    end
    from, to = single, single
  end
  opts.from = parse_port(from, "first")
  opts.to = parse_port(to, "last")
  if opts.from > opts.to then
    usage_error("port range %d-%d runs backwards", opts.from, opts.to)
  end
  return opts
end

-- The first TCP address of host: family and address text.
local function resolve(host)
  local ok, infos = pcall(socket.getaddrinfo, host, nil, socket.AF_UNSPEC,
                          socket.SOCK_STREAM)
  if not ok or #infos == 0 then
    io.stderr:write("portscan: cannot resolve ", host, ": ",
                    tostring(infos), "\n")
    os.exit(1)
  end
  return infos[1].family, infos[1].addr[1]
end

-- One scanning task: takes ports from the queue until it is empty.
-- Returns the number of ports it tried.
local function worker(queue, target, timeout, found)
  local tried = 0
  while queue.next <= queue.last do
    local port = queue.next
    queue.next = port + 1
    local s <close> = socket.socket(target.family, socket.SOCK_STREAM)
    s:settimeout(timeout)
    local ok, rc = pcall(s.connect_ex, s, target.address, port)
    if ok and rc == 0 then
      found[#found + 1] = port
      print(("%d open"):format(port))
    elseif not ok and not (type(rc) == "table" and rc.kind == "timeout") then
      error(rc, 0) -- not a closed or filtered port: a real failure
    end
    tried = tried + 1
  end
  return tried
end

local function main(args)
  local opts = parse_args(args)
  if opts.help then
    print(USAGE)
    return 0
  end
  local family, address = resolve(opts.host)
  local target = { family = family, address = address }
  local queue = { next = opts.from, last = opts.to }
  local count = opts.to - opts.from + 1
  local found = {}
  local t0 = socket.monotonic()
  local tasks = {}
  for i = 1, math.min(opts.concurrency, count) do
    tasks[i] = socket.spawn(worker, queue, target, opts.timeout, found)
  end
  local scanned = 0
  for i = 1, #tasks do
    local ok, n = pcall(tasks[i].join, tasks[i])
    if not ok then
      io.stderr:write("portscan: ", tostring(n), "\n")
      return 1
    end
    scanned = scanned + n
  end
  local elapsed = socket.monotonic() - t0
  print(("scanned %d ports on %s (%s): %d open in %.3f s"):format(
    scanned, opts.host, address, #found, elapsed))
  return 0
end

os.exit(main(arg or { ... }))
