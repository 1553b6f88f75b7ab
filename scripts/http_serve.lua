-- http_serve.lua: a static file server for one directory. Each connection
-- is a task, so clients are served concurrently; HTTP/1.1 keep-alive, GET
-- and HEAD, Content-Type from the file's extension, Content-Length, 404 for
-- what is not there and 403 for any path that tries to leave the root.
--
--   lsock scripts/http_serve.lua -p 8000 ./public
local socket = require "lsock"

local PROG = "http_serve.lua"
local USAGE = [[
usage: http_serve.lua [-b HOST] [-p PORT] [-k SECONDS] [-q] [DIR]

Serves the files under DIR (default: the current directory) over HTTP/1.1.
The first line on stdout is "listening on HOST:PORT".

  -b, --bind HOST       address to listen on (default 127.0.0.1; "::1",
                        "0.0.0.0" or "::" work too)
  -p, --port PORT       port to listen on (default 8000; 0 picks a free one)
  -k, --keep-alive S    close a keep-alive connection idle for S seconds
                        (default 15)
  -q, --quiet           do not log requests on stderr
  -h, --help            show this help

GET and HEAD only (others get 405). A directory is served as its
index.html, or as a listing when the lfs module is available (403 without
it); a directory asked for without its trailing slash is redirected to it.
Any request path with a ".." segment, before or after %-decoding, is
refused with 403: no request reaches a file outside DIR through the path.
(Symbolic links inside DIR are followed, as python3 -m http.server does:
what DIR's owner links to is considered published.)
]]

local function die(msg, status)
  io.stderr:write(PROG, ": ", tostring(msg), "\n")
  os.exit(status or 1)
end

local has_lfs, lfs = pcall(require, "lfs")
if not has_lfs then lfs = nil end

local opts = { host = "127.0.0.1", port = 8000, keepalive = 15, quiet = false,
               root = "." }

local function parse(args)
  local i = 1
  local function value(name)
    i = i + 1
    if args[i] == nil then die(name .. " needs a value", 2) end
    return args[i]
  end
  local dirs = {}
  while i <= #args do
    local a = args[i]
    if a == "-h" or a == "--help" then
      io.stdout:write(USAGE)
      os.exit(0)
    elseif a == "-b" or a == "--bind" then opts.host = value(a)
    elseif a == "-p" or a == "--port" then
      opts.port = math.tointeger(tonumber(value(a)))
      if not opts.port or opts.port < 0 or opts.port > 65535 then
        die("bad port: " .. args[i], 2)
      end
    elseif a == "-k" or a == "--keep-alive" then
      opts.keepalive = tonumber(value(a))
      if not opts.keepalive or opts.keepalive <= 0 then
        die("--keep-alive needs a positive number of seconds", 2)
      end
    elseif a == "-q" or a == "--quiet" then opts.quiet = true
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      die("unknown option " .. a .. " (try --help)", 2)
    else
      dirs[#dirs + 1] = a
    end
    i = i + 1
  end
  if #dirs > 1 then die("one DIR only (try --help)", 2) end
  opts.root = (dirs[1] or "."):gsub("(.)/+$", "%1")
end

local MIME = {
  html = "text/html; charset=utf-8", htm = "text/html; charset=utf-8",
  txt = "text/plain; charset=utf-8", css = "text/css; charset=utf-8",
  js = "text/javascript; charset=utf-8", mjs = "text/javascript; charset=utf-8",
  json = "application/json", xml = "application/xml", csv = "text/csv",
  md = "text/markdown; charset=utf-8", lua = "text/x-lua; charset=utf-8",
  png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg",
  gif = "image/gif", svg = "image/svg+xml", ico = "image/x-icon",
  webp = "image/webp", pdf = "application/pdf", zip = "application/zip",
  gz = "application/gzip", tar = "application/x-tar", wasm = "application/wasm",
  mp3 = "audio/mpeg", mp4 = "video/mp4", woff = "font/woff", woff2 = "font/woff2",
}

local function content_type(path)
  local ext = path:match("%.([%w]+)$")
  return ext and MIME[ext:lower()] or "application/octet-stream"
end

local REASONS = {
  [200] = "OK", [301] = "Moved Permanently", [400] = "Bad Request",
  [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
  [408] = "Request Timeout", [414] = "URI Too Long",
  [431] = "Request Header Fields Too Large", [500] = "Internal Server Error",
  [501] = "Not Implemented", [505] = "HTTP Version Not Supported",
}

local function http_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", t)
end

local function html_escape(s)
  return (s:gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;",
                               [">"] = "&gt;", ['"'] = "&quot;",
                               ["'"] = "&#39;" }))
end

local function url_escape(s)
  return (s:gsub("[^%w%-%._~/]", function(c)
    return ("%%%02X"):format(c:byte())
  end))
end

-- The request path as a list of segments, or nil, status when it must be
-- refused. Decoding comes first, so "%2e%2e" and "..%2f" are caught too.
local function segments(target)
  local path = target:match("^[^?#]*")
  if path:sub(1, 1) ~= "/" then return nil, 400 end
  local bad = false
  path = path:gsub("%%(%x?%x?)", function(hex)
    if #hex ~= 2 then bad = true return "" end
    return string.char(tonumber(hex, 16))
  end)
  if bad or path:find("%z") then return nil, 400 end
  local segs = {}
  for seg in path:gmatch("[^/]+") do
    if seg == ".." or seg:find("\\", 1, true) then return nil, 403 end
    if seg ~= "." then segs[#segs + 1] = seg end
  end
  return segs
end

-- A reader of lines and bytes over a socket, with a buffer.
local function reader(s)
  local r = { buf = "" }
  function r.line(limit)
    for _ = 1, 1000 do
      local i = r.buf:find("\n", 1, true)
      if i then
        local line = r.buf:sub(1, i - 1):gsub("\r$", "")
        r.buf = r.buf:sub(i + 1)
        return line
      end
      if #r.buf > limit then return nil, "long" end
      local data = s:recv(16384)
      if data == "" then return nil, "eof" end
      r.buf = r.buf .. data
    end
    return nil, "long"
  end
  function r.skip(n) -- discards a request body of n bytes
    while n > 0 do
      if #r.buf > 0 then
        local k = math.min(n, #r.buf)
        r.buf = r.buf:sub(k + 1)
        n = n - k
      else
        local data = s:recv(math.min(n, 65536))
        if data == "" then return false end
        n = n - #data
      end
    end
    return true
  end
  return r
end

local function send_head(s, status, headers, keep)
  local lines = { ("HTTP/1.1 %d %s"):format(status, REASONS[status] or "") }
  lines[#lines + 1] = "Date: " .. http_date()
  lines[#lines + 1] = "Server: lsock-http_serve/1"
  for _, h in ipairs(headers) do lines[#lines + 1] = h end
  lines[#lines + 1] = "Connection: " .. (keep and "keep-alive" or "close")
  s:sendall(table.concat(lines, "\r\n") .. "\r\n\r\n")
end

local function send_text(s, status, head_only, keep, extra)
  local body = ("%d %s\n"):format(status, REASONS[status] or "")
  local headers = { "Content-Type: text/plain; charset=utf-8",
                    "Content-Length: " .. #body }
  for _, h in ipairs(extra or {}) do headers[#headers + 1] = h end
  send_head(s, status, headers, keep)
  if not head_only then s:sendall(body) end
  return status, #body
end

local function listing(fs_path, url_path)
  local names = {}
  for name in lfs.dir(fs_path) do
    if name ~= "." and name ~= ".." then
      local mode = lfs.attributes(fs_path .. "/" .. name, "mode")
      names[#names + 1] = mode == "directory" and name .. "/" or name
    end
  end
  table.sort(names)
  local out = { "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>",
                html_escape(url_path), "</title></head><body>\n<h1>",
                html_escape(url_path), "</h1>\n<ul>\n" }
  for _, n in ipairs(names) do
    out[#out + 1] = ('<li><a href="%s">%s</a></li>\n'):format(
      url_escape(n), html_escape(n))
  end
  out[#out + 1] = "</ul>\n</body></html>\n"
  return table.concat(out)
end

-- Opens a regular file for reading: file, size; or nil, "dir" / "missing".
local function open_file(path)
  local f = io.open(path, "rb")
  if not f then return nil, "missing" end
  -- io.open succeeds on a directory on Linux; reading it fails (EISDIR).
  local probe, _, code = f:read(0)
  if probe == nil and code then
    f:close()
    return nil, "dir"
  end
  local size = f:seek("end")
  if not size then
    f:close()
    return nil, "missing" -- a FIFO or a device: not something to serve
  end
  f:seek("set", 0)
  return f, size
end

-- Answers one request whose method and target are known. Returns status,
-- body bytes.
local function respond(s, method, target, keep)
  local head_only = method == "HEAD"
  if method ~= "GET" and method ~= "HEAD" then
    return send_text(s, 405, false, keep, { "Allow: GET, HEAD" })
  end
  local segs, bad = segments(target)
  if not segs then return send_text(s, bad, head_only, keep) end
  local rel = table.concat(segs, "/")
  local fs_path = opts.root .. "/" .. rel
  local f, size = open_file(fs_path)
  if not f and size == "dir" then
    local url_path = target:match("^[^?#]*")
    if url_path:sub(-1) ~= "/" then
      return send_text(s, 301, head_only, keep,
                       { "Location: " .. url_path .. "/" })
    end
    f, size = open_file(fs_path .. "/index.html")
    if not f then
      if not lfs then return send_text(s, 403, head_only, keep) end
      local body = listing(fs_path, "/" .. rel)
      send_head(s, 200, { "Content-Type: text/html; charset=utf-8",
                          "Content-Length: " .. #body }, keep)
      if not head_only then s:sendall(body) end
      return 200, #body
    end
    fs_path = fs_path .. "/index.html"
  end
  if not f then return send_text(s, 404, head_only, keep) end
  local headers = { "Content-Type: " .. content_type(fs_path),
                    "Content-Length: " .. size }
  if lfs then
    local mtime = lfs.attributes(fs_path, "modification")
    if mtime then headers[#headers + 1] = "Last-Modified: " .. http_date(mtime) end
  end
  local ok, err = pcall(function()
    send_head(s, 200, headers, keep)
    if head_only then return end
    local left = size
    while left > 0 do
      local data = f:read(math.min(left, 65536))
      if not data then error("the file shrank while being sent") end
      s:sendall(data)
      left = left - #data
    end
  end)
  f:close()
  if not ok then error(err, 0) end
  return 200, head_only and 0 or size
end

local function log(peer, line, status, bytes)
  if not opts.quiet then
    io.stderr:write(("%s \"%s\" %d %d\n"):format(peer, line, status, bytes))
  end
end

-- One connection: requests until the client closes, asks to close, or is
-- idle for the keep-alive time.
local function serve_conn(s, peer)
  s:settimeout(opts.keepalive)
  local r = reader(s)
  for _ = 1, math.maxinteger do
    local line, why = r.line(8192)
    while line == "" do line, why = r.line(8192) end -- stray CRLFs (RFC 9112)
    if not line then
      if why == "long" then send_text(s, 414, false, false) end
      return
    end
    local method, target, version = line:match("^(%u+) (%S+) HTTP/(%d%.%d)$")
    if not method then
      send_text(s, 400, false, false)
      log(peer, line:sub(1, 200), 400, 0)
      return
    end
    local headers, count = {}, 0
    while true do
      local h, hwhy = r.line(8192)
      if not h then
        if hwhy == "long" then send_text(s, 431, false, false) end
        return
      end
      if h == "" then break end
      count = count + 1
      if count > 100 then
        send_text(s, 431, false, false)
        return
      end
      local name, value = h:match("^([^:]+):%s*(.-)%s*$")
      if name then headers[name:lower()] = value end
    end
    local conn_hdr = (headers.connection or ""):lower()
    local keep
    if version == "1.1" then
      keep = not conn_hdr:find("close", 1, true)
    elseif version == "1.0" then
      keep = conn_hdr:find("keep-alive", 1, true) ~= nil
    else
      send_text(s, 505, false, false)
      return
    end
    if headers["transfer-encoding"] then
      send_text(s, 501, false, false) -- no request bodies of unknown size
      return
    end
    local cl = tonumber(headers["content-length"] or "0")
    if not cl or cl < 0 or cl > 1048576 or not r.skip(math.tointeger(cl) or 0) then
      send_text(s, 400, false, false)
      return
    end
    local status, bytes = respond(s, method, target, keep)
    log(peer, line, status, bytes)
    if not keep then return end
  end
end

local function hostport(h, p)
  if h:find(":", 1, true) then return ("[%s]:%d"):format(h, p) end
  return ("%s:%d"):format(h, p)
end

local function main(args)
  parse(args)
  local f, what = open_file(opts.root)
  if f then f:close() end
  if what ~= "dir" then die(opts.root .. ": not a directory") end
  local ai = socket.getaddrinfo(opts.host, opts.port, socket.AF_UNSPEC,
                                socket.SOCK_STREAM, 0, socket.AI_PASSIVE)[1]
  local l = socket.socket(ai.family, ai.type, ai.proto)
  l:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, true)
  l:bind(table.unpack(ai.addr))
  l:listen()
  local h, p = l:getsockname()
  io.stdout:write("listening on ", hostport(h, p), "\n")
  io.stdout:write("serving ", opts.root, " at http://", hostport(h, p), "/\n")
  io.stdout:flush()
  while true do
    local ok, conn, ch, cp = pcall(l.accept, l)
    if ok then
      local peer = hostport(ch, cp)
      socket.spawn(function()
        local fine, err = pcall(serve_conn, conn, peer)
        conn:close()
        if not fine and not opts.quiet then
          io.stderr:write(peer, ": ", tostring(err), "\n")
        end
      end)
    else
      io.stderr:write(PROG, ": accept: ", tostring(conn), "\n")
      socket.sleep(0.1) -- out of descriptors, say: let connections finish
    end
  end
end

local ok, err = pcall(main, arg)
if not ok then die(err) end
