-- http_get.lua: an HTTP/1.1 client. GETs one or more http:// URLs, follows
-- redirects, decodes chunked bodies, keeps one connection alive across URLs
-- on the same host, and shows a progress bar when saving to a file from a
-- terminal.
--
--   lsock scripts/http_get.lua http://127.0.0.1:8000/file.txt
--   lsock scripts/http_get.lua -o big.iso http://127.0.0.1:8000/big.iso
local socket = require "lsock"

local PROG = "http_get.lua"
local USAGE = [[
usage: http_get.lua [options] URL [URL...]

GETs each http:// URL in turn and writes the body to stdout (or to the
file given by the matching -o). URLs on the same host and port share one
keep-alive connection when the server allows it.

  -o, --output FILE     write the body of the next URL (in order) to FILE;
                        with stderr on a terminal a progress bar shows the
                        bytes, the rate and the time left
  -L, --max-redirects N follow at most N redirects per URL (default 5;
                        0 refuses to follow any)
  -t, --timeout S       give up when the server is silent for S seconds
                        (default 30)
  --progress / --no-progress
                        force the progress bar on or off (default: on when
                        saving to a file and stderr is a terminal)
  -v, --verbose         show requests, response heads and connections on
                        stderr
  -h, --help            show this help

Exit status: 0 when every URL answered 2xx, 1 otherwise (the error on one
line on stderr), 2 on bad arguments.
]]

local function die(msg, status)
  io.stderr:write(PROG, ": ", tostring(msg), "\n")
  os.exit(status or 1)
end

-- Errors meant for the user are raised as { msg = "..." } so that main can
-- tell them from bugs (whose traceback matters).
local function fail(fmt, ...)
  error({ msg = fmt:format(...) }, 0)
end

local opts = { outputs = {}, urls = {}, max_redirects = 5, timeout = 30,
               progress = nil, verbose = false }

local function parse(args)
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
    elseif a == "-o" or a == "--output" then
      opts.outputs[#opts.outputs + 1] = value(a)
    elseif a == "-L" or a == "--max-redirects" then
      opts.max_redirects = math.tointeger(tonumber(value(a)))
      if not opts.max_redirects or opts.max_redirects < 0 then
        die("--max-redirects needs a count", 2)
      end
    elseif a == "-t" or a == "--timeout" then
      opts.timeout = tonumber(value(a))
      if not opts.timeout or opts.timeout <= 0 then
        die("--timeout needs a positive number of seconds", 2)
      end
    elseif a == "--progress" then opts.progress = true
    elseif a == "--no-progress" then opts.progress = false
    elseif a == "-v" or a == "--verbose" then opts.verbose = true
    elseif a:sub(1, 1) == "-" then
      die("unknown option " .. a .. " (try --help)", 2)
    else
      opts.urls[#opts.urls + 1] = a
    end
    i = i + 1
  end
  if #opts.urls == 0 then die("no URL (try --help)", 2) end
  if #opts.outputs > #opts.urls then die("more -o than URLs", 2) end
end

local function verbose(fmt, ...)
  if opts.verbose then io.stderr:write(fmt:format(...), "\n") end
end

-- URLs ---------------------------------------------------------------------

-- { host =, port =, target = "/path?query" } from "http://host[:port]/...".
local function parse_url(url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then fail("%s: not a URL (http://HOST[:PORT]/PATH)", url) end
  if scheme:lower() ~= "http" then
    fail("%s: only http:// URLs are supported", url)
  end
  local authority, target = rest:match("^([^/?#]*)(.*)$")
  target = target:gsub("#.*$", "")
  if target == "" then target = "/" end
  if target:sub(1, 1) == "?" then target = "/" .. target end
  authority = authority:gsub("^.*@", "") -- no credentials are sent
  local host, port = authority:match("^%[(.+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]*):?(%d*)$") end
  if not host or host == "" then fail("%s: no host", url) end
  port = port ~= "" and math.tointeger(tonumber(port)) or 80
  if not port or port > 65535 then fail("%s: bad port", url) end
  return { host = host, port = port, target = target }
end

local function url_string(u)
  local h = u.host:find(":", 1, true) and "[" .. u.host .. "]" or u.host
  return ("http://%s:%d%s"):format(h, u.port, u.target)
end

-- The URL a Location header points to, relative to the URL u.
local function resolve(u, location)
  if location:match("^%a[%w+.-]*://") then return parse_url(location) end
  if location:sub(1, 2) == "//" then return parse_url("http:" .. location) end
  local r = { host = u.host, port = u.port }
  if location:sub(1, 1) == "/" then
    r.target = location
  else
    local dir = u.target:gsub("[?#].*$", ""):match("^(.*/)") or "/"
    r.target = dir .. location
  end
  return r
end

-- Connections --------------------------------------------------------------

local Conn = {}
Conn.__index = Conn

local function connect(host, port)
  local last
  for _, ai in ipairs(socket.getaddrinfo(host, port, socket.AF_UNSPEC,
                                         socket.SOCK_STREAM)) do
    local s = socket.socket(ai.family, ai.type, ai.proto)
    s:settimeout(opts.timeout)
    local ok, e = pcall(s.connect, s, table.unpack(ai.addr))
    if ok then
      verbose("* connected to %s port %d", ai.addr[1], ai.addr[2])
      return setmetatable({ s = s, buf = "", host = host, port = port,
                            uses = 0 }, Conn)
    end
    s:close()
    last = e
  end
  error(last or ("no address for " .. host))
end

-- Reads more into the buffer; false at the end of the stream.
function Conn:fill()
  local data = self.s:recv(65536)
  if data == "" then return false end
  self.buf = self.buf .. data
  return true
end

-- One header line without its CRLF (nil at the end of the stream).
function Conn:line()
  for _ = 1, 1000 do
    local i = self.buf:find("\n", 1, true)
    if i then
      local line = self.buf:sub(1, i - 1):gsub("\r$", "")
      self.buf = self.buf:sub(i + 1)
      return line
    end
    if #self.buf > 65536 then fail("a header line longer than 64 KiB") end
    if not self:fill() then return nil end
  end
  fail("a header line that never ends")
end

-- Hands the next at most n bytes (n nil: whatever comes) to sink; returns
-- the count, 0 at the end of the stream.
function Conn:chunk(n, sink)
  local data
  if #self.buf > 0 then
    data = n and self.buf:sub(1, n) or self.buf
    self.buf = self.buf:sub(#data + 1)
  else
    data = self.s:recv(n and math.min(n, 65536) or 65536)
  end
  if #data > 0 then sink(data) end
  return #data
end

-- Exactly n bytes to sink.
function Conn:exactly(n, sink)
  while n > 0 do
    local got = self:chunk(n, sink)
    if got == 0 then fail("the connection closed %d bytes before the end of the body", n) end
    n = n - got
  end
end

function Conn:close()
  self.s:close()
end

-- Progress -----------------------------------------------------------------

local function human(n)
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local u = 1
  while n >= 1024 and u < #units do
    n = n / 1024
    u = u + 1
  end
  return u == 1 and ("%d %s"):format(n, units[u]) or
         ("%.1f %s"):format(n, units[u])
end

local function clock(secs)
  secs = math.floor(secs + 0.5)
  if secs >= 3600 then
    return ("%d:%02d:%02d"):format(secs // 3600, secs % 3600 // 60, secs % 60)
  end
  return ("%d:%02d"):format(secs // 60, secs % 60)
end

local function progress_bar(total)
  local start = socket.monotonic()
  local last = -1
  local bar = {}
  function bar.update(done, final)
    local now = socket.monotonic()
    if not final and now - last < 0.1 then return end
    last = now
    local elapsed = math.max(now - start, 1e-6)
    local rate = done / elapsed
    local line
    if total then
      local frac = total > 0 and math.min(done / total, 1) or 1
      local width = 30
      local fill = math.floor(frac * width)
      local eta = rate > 0 and (total - done) / rate or 0
      line = ("%3d%% [%s%s] %s / %s  %s/s  ETA %s"):format(
        math.floor(frac * 100), ("="):rep(fill),
        (" "):rep(width - fill), human(done), human(total), human(rate),
        final and clock(0) or clock(eta))
    else
      line = ("%s  %s/s"):format(human(done), human(rate))
    end
    io.stderr:write("\r", line, "\27[K", final and "\n" or "")
    io.stderr:flush()
  end
  return bar
end

local function stderr_is_tty()
  return os.execute("test -t 2") == true
end

-- One exchange -------------------------------------------------------------

local conn -- the keep-alive connection, if any

local function header(h, name)
  return h[name:lower()]
end

-- Sends the request for u and reads the response head. Reuses the open
-- connection when it goes to the same place; a reused connection that the
-- server had closed meanwhile is replaced once.
local function request(u)
  for attempt = 1, 2 do
    local fresh = false
    if conn and (conn.host ~= u.host or conn.port ~= u.port) then
      conn:close()
      conn = nil
    end
    if not conn then
      conn = connect(u.host, u.port)
      fresh = true
    else
      verbose("* reusing the connection to %s port %d", u.host, u.port)
    end
    local hosth = u.host:find(":", 1, true) and "[" .. u.host .. "]" or u.host
    if u.port ~= 80 then hosth = hosth .. ":" .. u.port end
    local req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lsock-http_get/1\r\n" ..
                 "Accept: */*\r\nConnection: keep-alive\r\n\r\n"):format(u.target, hosth)
    verbose("> %s", (req:gsub("\r\n$", ""):gsub("\r\n", "\n> ")))
    local ok, status = pcall(function()
      conn.s:sendall(req)
      conn.uses = conn.uses + 1
      local line = conn:line()
      if line == nil then return nil end
      return line
    end)
    if ok and status then
      return status
    end
    -- Nothing came back: on a reused connection the server may have closed
    -- it between requests, which HTTP allows; retry once on a new one.
    conn:close()
    conn = nil
    if fresh or attempt == 2 then
      if not ok then error(status, 0) end
      fail("%s: the server closed the connection without a response",
           url_string(u))
    end
  end
end

-- Fetches u into sink (a function taking strings). Returns status, reason,
-- headers; the body went to sink only for a final 2xx answer.
local function fetch(u, sink, show_progress)
  local status_line = request(u)
  local version, code, reason
  local h
  repeat
    version, code, reason = status_line:match("^HTTP/(%d%.%d) (%d%d%d) ?(.*)$")
    if not version then fail("not an HTTP response: %q", status_line:sub(1, 80)) end
    code = tonumber(code)
    verbose("< %s", status_line)
    h = {}
    for _ = 1, 200 do
      local line = conn:line()
      if line == nil then fail("the connection closed in the response head") end
      if line == "" then break end
      verbose("< %s", line)
      local name, value = line:match("^([^:]+):%s*(.-)%s*$")
      if name then
        name = name:lower()
        h[name] = h[name] and (h[name] .. ", " .. value) or value
      end
    end
    -- 1xx answers (100 Continue, 103 Early Hints) precede the real one.
    if code >= 100 and code < 200 then status_line = conn:line() end
  until code >= 200 or status_line == nil
  if not status_line then fail("the connection closed after a 1xx answer") end

  local good = code >= 200 and code < 300
  local out = good and sink or function() end
  local te = (header(h, "transfer-encoding") or ""):lower()
  local cl = header(h, "content-length")
  local conn_hdr = (header(h, "connection") or ""):lower()
  local keep = version == "1.1" and not conn_hdr:find("close", 1, true) or
               version == "1.0" and conn_hdr:find("keep-alive", 1, true)

  local total = nil
  if not te:find("chunked", 1, true) and cl then
    total = math.tointeger(tonumber(cl))
    if not total or total < 0 then fail("bad Content-Length: %s", cl) end
  end
  local bar = good and show_progress and progress_bar(total)
  local done = 0
  local counted = function(data)
    done = done + #data
    out(data)
    if bar then bar.update(done) end
  end

  if code == 204 or code == 304 then
    -- no body
  elseif te:find("chunked", 1, true) then
    for _ = 1, math.maxinteger do
      local line = conn:line()
      if not line then fail("the connection closed inside a chunked body") end
      local size = tonumber(line:match("^%s*(%x+)"), 16)
      if not size then fail("bad chunk size line: %q", line:sub(1, 40)) end
      if size == 0 then
        -- Trailer fields, then the empty line.
        for _ = 1, 200 do
          local t = conn:line()
          if t == nil or t == "" then break end
        end
        break
      end
      conn:exactly(size, counted)
      if conn:line() ~= "" then fail("a chunk not followed by CRLF") end
    end
  elseif total then
    conn:exactly(total, counted)
  else
    -- Neither: the body runs to the end of the connection.
    while conn:chunk(nil, counted) > 0 do end
    keep = false
  end
  if bar then bar.update(done, true) end
  if not keep then
    conn:close()
    conn = nil
  end
  return code, reason, h
end

local function get(url, output)
  local u = parse_url(url)
  local file
  local sink
  if output then
    sink = function(data)
      if not file then
        file = io.open(output, "wb")
        if not file then fail("cannot write %s", output) end
      end
      local ok, err = file:write(data)
      if not ok then fail("%s: %s", output, err) end
    end
  else
    sink = function(data)
      local ok, err = io.stdout:write(data)
      if not ok then fail("stdout: %s", err) end
    end
  end
  local show = opts.progress
  if show == nil then show = output ~= nil and stderr_is_tty() end
  for redirects = 0, opts.max_redirects + 1 do
    local code, reason, h = fetch(u, sink, show)
    local location = h.location
    if (code == 301 or code == 302 or code == 303 or code == 307 or
        code == 308) and location then
      if redirects >= opts.max_redirects then
        fail("%s: more than %d redirects", url, opts.max_redirects)
      end
      u = resolve(u, location)
      verbose("* redirected to %s", url_string(u))
    elseif code >= 200 and code < 300 then
      if output then
        if not file then sink("") end -- an empty body still makes the file
        file:close()
      end
      return
    else
      fail("%s: %d %s", url_string(u), code, reason)
    end
  end
end

local function main(args)
  parse(args)
  for i, url in ipairs(opts.urls) do
    get(url, opts.outputs[i])
  end
  io.stdout:flush()
  if conn then conn:close() end
end

local ok, err = pcall(main, arg)
if not ok then
  if type(err) == "table" and err.msg then die(err.msg) end
  die(err)
end
os.exit(0)
