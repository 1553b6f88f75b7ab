-- The REPL at a terminal: the real binary ($LSOCK_BIN) under a
-- pseudo-terminal made by script(1) (util-linux, in Debian's essential
-- bsdutils), fed keystrokes through a pipe while its output is polled from
-- a file. Every wait is bounded; `timeout` kills a session that hangs.
-- Line editing, completion and history need a build with libedit; those
-- specs are skipped (pending) when the banner says the build has none.

local socket = require "lsock"

local BIN = os.getenv("LSOCK_BIN")
local WAIT = 10 -- seconds any one expected output may take

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function slurp(name)
  local f = io.open(name, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- Output as a person would read it: no carriage returns, no terminal
-- control sequences, no bells.
local function clean(s)
  return (s:gsub("\27%[[%d;?]*[%a@]", ""):gsub("[\r\7]", ""))
end

local Session = {}
Session.__index = Session

-- Starts `lsock args...` on a pty. env: extra VAR=value words.
local function start(env, args)
  assert(BIN and BIN ~= "", "LSOCK_BIN is needed (ctest sets it)")
  local self = setmetatable({ out = os.tmpname(), seen = 0 }, Session)
  local inner = quote(BIN)
  for _, a in ipairs(args or {}) do inner = inner .. " " .. quote(a) end
  local words = { "env", "-u", "LUA_INIT", "-u", "LUA_INIT_5_4", "TERM=xterm",
                  "LSOCK_HISTORY=" }
  for _, e in ipairs(env or {}) do words[#words + 1] = quote(e) end
  local cmd = table.concat(words, " ") ..
              " timeout -s KILL 60 script -q -e -c " .. quote(inner) ..
              " /dev/null >" .. quote(self.out) .. " 2>&1"
  self.proc = assert(io.popen(cmd, "w"))
  return self
end

function Session:send(keys)
  self.proc:write(keys)
  self.proc:flush()
end

-- Waits until the output after the last match holds `text` (plain) and
-- returns everything up to it; fails after WAIT seconds.
function Session:expect(text)
  local deadline = socket.monotonic() + WAIT
  repeat
    local all = clean(slurp(self.out))
    local i, j = all:find(text, self.seen + 1, true)
    if i then
      local before = all:sub(self.seen + 1, j)
      self.seen = j
      return before
    end
    socket.sleep(0.02)
  until socket.monotonic() > deadline
  error(("no %q in the REPL's output:\n%s"):format(
    text, clean(slurp(self.out)):sub(self.seen + 1)), 2)
end

-- Sends a line and waits for the next prompt.
function Session:line(text)
  self:send(text .. "\n")
  return self:expect("\n> ")
end

-- Ctrl-D, then waits for the process to end; returns its output.
function Session:close()
  if self.proc then
    pcall(self.send, self, "\4")
    self.proc:close() -- script ends when lsock does; timeout bounds it
    self.proc = nil
  end
  local all = clean(slurp(self.out))
  os.remove(self.out)
  return all
end

-- The line editor the REPL loads at a terminal: the soname the build put
-- in the binary (LSOCK_EDITLIB, such as "libedit.so.2"), or nil for a
-- build without one.
local function editor_soname()
  local f = assert(io.open(BIN, "rb"))
  local bin = f:read("a")
  f:close()
  for name in bin:gmatch("%z(lib[%w_]+%.so%.[%d.]+)%z") do
    if name:find("edit", 1, true) or name:find("readline", 1, true) then
      return name
    end
  end
  return nil
end

-- Whether the REPL's own process has mapped a file whose name holds
-- `name` (Linux: /proc/self/maps); sent as a line, answered "true".
local function maps_line(name)
  return ("io.open('/proc/self/maps'):read('a'):find(%q, 1, true) ~= nil")
         :format(name)
end

local function has_editing()
  -- A build with a line editor echoes the prompt through it; the plain
  -- one answers the same. Ask the binary: completion only works with one.
  local s = start()
  s:expect("> ")
  s:send("socket.AF_INE\t\n")
  local ok = pcall(s.expect, s, "socket.AF_INET")
  s:close()
  return ok
end

describe("REPL at a terminal", function()
  local s
  local editing

  setup(function()
    editing = has_editing()
  end)

  before_each(function()
    s = start()
    s:expect("> ")
  end)

  after_each(function()
    if s then s:close() end
    s = nil
  end)

  it("prints expressions without return, results tab-separated", function()
    assert.truthy(s:line("1+1"):find("\n2\n", 1, true))
    assert.truthy(s:line("1, nil, true"):find("\n1\tnil\ttrue\n", 1, true))
  end)

  it("quotes strings and shows tables with their fields", function()
    local out = s:line([["a\0b\n", {1, 2, family=2, type=1}]])
    assert.truthy(out:find([["a\x00b\n"	{1, 2, family=2, type=1}]], 1, true),
                  out)
    -- (Lines stay under 80 columns: the editor wraps longer ones.)
    s:line("t = {} for i = 1, 100 do t['k' .. i] = i end")
    out = s:line("t")
    assert.truthy(out:find("{k1=1, k10=10, k100=100,", 1, true), out)
    assert.truthy(out:find(", ...}\n", 1, true), out)
    assert.truthy(s:line("socket"):find('<module "lsock">', 1, true))
  end)

  it("prints a socket with its tostring and an error on one line", function()
    s:line("a, b = socket.socketpair()")
    local out = s:line("a")
    assert.truthy(out:find("\n<lsock.socket fd=%d+, family=AF_UNIX"), out)
    s:line("c = socket.socket()")
    out = s:line("select(2, pcall(c.connect, c, '127.0.0.1', 1))")
    assert.truthy(out:find("\nconnect 127.0.0.1:1: [ECONNREFUSED] " ..
                           "Connection refused\n", 1, true), out)
  end)

  it("runs statements and continues incomplete input", function()
    s:send("function f(a)\n")
    s:expect(">> ")
    s:send("  return a * 2\n")
    s:expect(">> ")
    s:send("end\n")
    s:expect("> ")
    assert.truthy(s:line("f(21)"):find("\n42\n", 1, true))
  end)

  it("prints help for a method and for the module", function()
    local out = s:line("s = socket.socket() help(s.recv)")
    assert.truthy(out:find("s:recv(bufsize [, flags])", 1, true), out)
    assert.truthy(out:find("end of stream", 1, true), out)
    out = s:line("help(socket)")
    assert.truthy(out:find("Names and addresses:", 1, true), out)
    assert.truthy(out:find("AF_INET6", 1, true), out)
  end)

  it("runs spawned tasks between prompts", function()
    s:line("srv = socket.socket() srv:bind('127.0.0.1', 0)")
    s:line("srv:listen() port = select(2, srv:getsockname())")
    -- The tasks only start when the loop turns: while the prompt waits.
    s:send("function serve()\n")
    s:expect(">> ")
    s:send("local c = srv:accept()\n")
    s:expect(">> ")
    s:send("c:sendall('hello ' .. c:recv(3)) c:close() end\n")
    s:expect("\n> ")
    s:line("t = socket.spawn(serve)")
    s:line("tick = 0")
    s:line("socket.spawn(function() tick = 1 end)")
    socket.sleep(0.5) -- idle at the prompt
    assert.truthy(s:line("tick"):find("\n1\n", 1, true))
    s:line("c = socket.socket() c:settimeout(5)")
    s:line("c:connect('127.0.0.1', port) c:sendall('you')")
    local out = s:line("c:recv(100)")
    assert.truthy(out:find('\n"hello you"\n', 1, true), out)
  end)

  it("reads input typed ahead while a task waits", function()
    -- With a task alive the prompt waits in the event loop, which reports
    -- input as it comes: what the terminal already holds (typed ahead, or
    -- left there by the line editor's own read-ahead) must be read at once.
    s:line("srv = socket.socket() srv:bind('127.0.0.1', 0) srv:listen()")
    s:line("t = socket.spawn(function() srv:accept() end)")
    s:send("x = 6\ny = 7\nx * y\n")
    assert.truthy(s:expect("42\n"))
    assert.truthy(s:line("'after'"):find('"after"', 1, true))
  end)

  it("shows every socket call of an exchange when started with --trace",
     function()
    s:close()
    s = start(nil, { "--trace", "-i" })
    s:expect("> ")
    s:line("a, b = socket.socketpair()")
    local out = s:line("a:sendall('ping')")
    assert.truthy(out:find(':sendall("ping") -> ok (', 1, true), out)
    out = s:line("b:recv(10)")
    assert.truthy(out:find(':recv(10) -> 4 bytes "ping" (', 1, true), out)
    s:line("b:settimeout(0.05)")
    out = s:line("pcall(b.recv, b, 1)")
    assert.truthy(out:find(":recv(1) !! recv: [ETIMEDOUT] timed out (", 1,
                           true), out)
    s:line("socket.trace(false)")
    local quiet = s:line("a:send('x')")
    assert.is_nil(quiet:find("lsock: <socket", 1, true))
  end)

  it("returns to the prompt on Ctrl-C in a blocking call", function()
    s:line("a, b = socket.socketpair()")
    s:send("a:recv(10)\n")
    socket.sleep(0.3)
    s:send("\3")
    s:expect("interrupted!")
    s:expect("\n> ")
    s:send("while true do end\n")
    socket.sleep(0.3)
    s:send("\3")
    s:expect("interrupted!")
    s:expect("\n> ")
    assert.truthy(s:line("'still here'"):find('"still here"', 1, true))
  end)

  it("drops the line on Ctrl-C at the prompt and exits on Ctrl-D", function()
    s:send("if true then\n")
    s:expect(">> ")
    s:send("\3")
    s:expect("\n> ")
    assert.truthy(s:line("7"):find("\n7\n", 1, true))
    local all = s:close()
    s = nil
    assert.falsy(all:find("<eof>", 1, true), all)
  end)

  it("loads the line editor the build names, and edits with it", function()
    local soname = editor_soname()
    if not soname then pending("built without a line editor") return end
    assert.is_true(editing, "no completion with " .. soname)
    assert.truthy(s:line(maps_line(soname)):find("\ntrue\n", 1, true))
  end)

  it("reads plain lines when the line editor cannot be loaded", function()
    local soname = editor_soname()
    if not soname then pending("built without a line editor") return end
    -- A file that is no library, first on the search path, makes dlopen
    -- fail.
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. quote(dir)))
    local fake = dir .. "/" .. soname
    assert(io.open(fake, "w")):close()
    s:close()
    s = start({ "LD_LIBRARY_PATH=" .. dir })
    s:expect("> ")
    assert.truthy(s:line("6 * 7"):find("\n42\n", 1, true))
    assert.truthy(s:line(maps_line(soname)):find("\nfalse\n", 1, true))
    s:send("socket.AF_INE\t\n") -- not completed: the line gives nil
    assert.falsy(s:expect("\n> "):find("socket.AF_INET", 1, true))
    os.remove(fake)
    os.remove(dir)
  end)

  it("completes fields of modules and methods of sockets", function()
    if not editing then pending("built without a line editor") return end
    s:send("socket.AF_INE\t")
    s:expect("socket.AF_INET")
    s:send("6\n")
    assert.truthy(s:expect("\n> "):find("\n10\n", 1, true))
    s:line("x = socket.socket()")
    s:send("x:set\t\t")
    local out = s:expect("x:settimeout")
    assert.truthy(out:find("x:setblocking", 1, true), out)
    assert.truthy(out:find("x:setsockopt", 1, true), out)
    s:send("\21") -- Ctrl-U: clear the line
    s:send("x:getb\t()\n")
    assert.truthy(s:expect("\ntrue\n"):find("x:getblocking()", 1, true))
  end)

  it("keeps history across sessions", function()
    if not editing then pending("built without a line editor") return end
    s:close()
    local hist = os.tmpname()
    s = start({ "LSOCK_HISTORY=" .. hist })
    s:expect("> ")
    s:line('"hist" .. "ory" .. 42')
    s:close()
    local saved = slurp(hist)
    assert.truthy(saved:find('"hist"', 1, true), saved)
    s = start({ "LSOCK_HISTORY=" .. hist })
    s:expect("> ")
    s:send("\27[A\n") -- up arrow, return
    assert.truthy(s:expect("\n> "):find('"history42"', 1, true))
    s:close()
    s = nil
    os.remove(hist)
  end)
end)
