-- The lsock interpreter as a program: options, the arg table, exit codes,
-- error reports, stdin and the REPL, each checked by running $LSOCK_BIN as a
-- child process (ctest sets LSOCK_BIN to the built interpreter).

local BIN = os.getenv("LSOCK_BIN")

local temps = {} -- temporary files to remove after each spec

local function tmpfile(contents)
  local name = os.tmpname()
  temps[#temps + 1] = name
  if contents then
    local f = assert(io.open(name, "wb"))
    f:write(contents)
    f:close()
  end
  return name
end

local function slurp(name)
  local f = assert(io.open(name, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Runs the interpreter with the words in `args` (quoted for the shell).
-- opts.stdin: text fed on stdin (else /dev/null, so that no spec can wait
-- on a terminal); opts.env: extra VAR=value words. LUA_INIT and
-- LUA_INIT_5_4 are cleared unless opts.env sets them; opts.limit: seconds
-- before timeout(1) kills it. Returns stdout, stderr, exit status.
local function run(args, opts)
  assert(BIN and BIN ~= "",
         "LSOCK_BIN is needed: set it to the lsock interpreter to test " ..
         "(ctest sets it to the built binary)")
  opts = opts or {}
  local words = { "env", "-u", "LUA_INIT", "-u", "LUA_INIT_5_4" }
  if opts.limit then
    table.insert(words, 1, "timeout -s KILL " .. opts.limit)
  end
  for _, e in ipairs(opts.env or {}) do words[#words + 1] = quote(e) end
  words[#words + 1] = quote(BIN)
  for _, a in ipairs(args) do words[#words + 1] = quote(a) end
  local input = opts.stdin and tmpfile(opts.stdin) or "/dev/null"
  local errfile = tmpfile()
  local cmd = table.concat(words, " ") .. " <" .. quote(input) ..
              " 2>" .. quote(errfile)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  local _, how, code = p:close()
  assert(how == "exit", "the interpreter died by signal " .. tostring(code))
  return out, slurp(errfile), code
end

-- A script that prints arg[-4 .. #arg] and then `...`, one %q per line.
local SHOW_ARGS = [[
for i = -4, #arg do
  io.write(("arg[%d]=%s\n"):format(i, ("%q"):format(arg[i])))
end
local n = select("#", ...)
io.write(("n=%d\n"):format(n))
for i = 1, n do
  io.write(("...[%d]=%s\n"):format(i, ("%q"):format((select(i, ...)))))
end
]]

local function lines(t)
  return table.concat(t, "\n") .. "\n"
end

describe("lsock interpreter", function()
  after_each(function()
    for i = #temps, 1, -1 do
      os.remove(temps[i])
      temps[i] = nil
    end
  end)

  it("is given by LSOCK_BIN", function()
    assert(BIN and BIN ~= "",
           "LSOCK_BIN is needed: set it to the lsock interpreter to test")
    local f = io.open(BIN, "rb")
    assert(f, "LSOCK_BIN does not name a readable file: " .. BIN)
    f:close()
  end)

  describe("script", function()
    it("gets arg and ... the way lua builds them", function()
      local script = tmpfile(SHOW_ARGS)
      local out, err, code = run({ script, "a", "b c", "" })
      assert.equal("", err)
      assert.equal(0, code)
      assert.equal(lines {
        "arg[-4]=nil",
        "arg[-3]=nil",
        "arg[-2]=nil",
        "arg[-1]=" .. ("%q"):format(BIN),
        "arg[0]=" .. ("%q"):format(script),
        'arg[1]="a"',
        'arg[2]="b c"',
        'arg[3]=""',
        "n=3",
        '...[1]="a"',
        '...[2]="b c"',
        '...[3]=""',
      }, out)
    end)

    it("puts the options before the script at negative indices", function()
      local script = tmpfile(SHOW_ARGS)
      local out, _, code = run({ "-e", "x = 1", "-W", script, "-e", "z" })
      assert.equal(0, code)
      assert.equal(lines {
        "arg[-4]=" .. ("%q"):format(BIN),
        'arg[-3]="-e"',
        'arg[-2]="x = 1"',
        'arg[-1]="-W"',
        "arg[0]=" .. ("%q"):format(script),
        'arg[1]="-e"',
        'arg[2]="z"',
        "n=2",
        '...[1]="-e"',
        '...[2]="z"',
      }, out)
    end)

    it("exits with status 1 and a traceback on an uncaught error", function()
      local script = tmpfile("local function f()\n  error('kaboom')\nend\n" ..
                             "f()\n")
      local out, err, code = run({ script })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("^lsock: [^\n]*:2: kaboom\n"), err)
      assert.truthy(err:find("\nstack traceback:\n", 1, true), err)
      assert.truthy(err:find("in local 'f'", 1, true), err)
    end)

    it("exits with status 1 on a syntax error or a missing file", function()
      local script = tmpfile("x = = 1\n")
      local _, err, code = run({ script })
      assert.equal(1, code)
      assert.truthy(err:find("^lsock: [^\n]*:1: unexpected symbol"), err)
      _, err, code = run({ script .. ".does-not-exist" })
      assert.equal(1, code)
      assert.truthy(err:find("^lsock: cannot open"), err)
    end)

    it("shows an error object through its __tostring", function()
      local script = tmpfile([[
        local e = setmetatable({ name = "ECONNREFUSED" }, {
          __tostring = function()
            return "connect 127.0.0.1:1: [ECONNREFUSED] no"
          end,
        })
        error(e)
      ]])
      local _, err, code = run({ script })
      assert.equal(1, code)
      assert.truthy(err:find(
        "^lsock: connect 127.0.0.1:1: %[ECONNREFUSED%] no\nstack traceback:\n"),
        err)
    end)

    it("shows a real lsock error object with a traceback", function()
      local _, err, code = run({ "-e",
        "local s = socket.socket() s:close() s:recv(1)" })
      assert.equal(1, code)
      assert.truthy(err:find("^lsock: recv[^\n]*%[EBADF%]"), err)
      assert.truthy(err:find("\nstack traceback:\n", 1, true), err)
    end)

    it("describes error values it cannot print", function()
      local _, err, code = run({ "-e", "error({})" })
      assert.equal(1, code)
      assert.truthy(err:find("^lsock: %(error object is a table value%)\n"),
                    err)
      _, err, code = run({ "-e", "error()" })
      assert.equal(1, code)
      assert.truthy(err:find("^lsock: %(error object is a nil value%)\n"), err)
      -- A __tostring that fails must not take the report down with it.
      _, err, code = run({ "-e", "error(setmetatable({}, " ..
        "{__tostring = function() error('nested') end}))" })
      assert.equal(1, code)
      assert.truthy(err:find("^lsock: %(error object is a table value%)\n"),
                    err)
    end)

    it("passes os.exit codes through", function()
      local cases = {
        { "os.exit(7)", 7 }, { "os.exit(0)", 0 }, { "os.exit(true)", 0 },
        { "os.exit(false)", 1 }, { "os.exit(3, true)", 3 },
      }
      for _, c in ipairs(cases) do
        local _, _, code = run({ "-e", c[1] })
        assert.equal(c[2], code, c[1])
      end
    end)

    it("reads piped stdin from the script", function()
      local script = tmpfile("local s = io.read('a') " ..
                             "io.write(#s, ':', s:upper())")
      local out, err, code = run({ script }, { stdin = "one\ntwo\n" })
      assert.equal("", err)
      assert.equal(0, code)
      assert.equal("8:ONE\nTWO\n", out)
    end)
  end)

  describe("socket global", function()
    it("is the table require 'lsock' returns", function()
      local out, err, code = run({ "-e", [[
        local m = require "lsock"
        print(type(socket), rawequal(socket, m),
              rawequal(package.loaded.lsock, socket))
      ]] })
      assert.equal("", err)
      assert.equal(0, code)
      assert.equal("table\ttrue\ttrue\n", out)
    end)

    it("is the built-in module, ahead of package.path", function()
      -- A path template without '?' names this one file for every module.
      local fake = tmpfile("return 'fake lsock'\n")
      local out, _, code = run({ "-e", "print(type(require 'lsock'))" },
                               { env = { "LUA_PATH=" .. fake } })
      assert.equal(0, code)
      assert.equal("table\n", out)
    end)
  end)

  describe("-e", function()
    it("runs statements in order, joined or separate", function()
      local out, _, code = run({ "-e", "x = 20", "-ex = x + 1", "-e",
                                 "print(x * 2)" })
      assert.equal(0, code)
      assert.equal("42\n", out)
    end)

    it("reports an error as from the command line", function()
      local out, err, code = run({ "-e", "error('no')", "-e", "print(1)" })
      assert.equal(1, code)
      assert.equal("", out) -- stops at the first failure
      assert.truthy(err:find("^lsock: %(command line%):1: no\n"), err)
    end)

    it("needs an argument", function()
      local out, err, code = run({ "-e" })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("^lsock: '%-e' needs argument\n"), err)
      assert.truthy(err:find("\nusage: ", 1, true), err)
    end)
  end)

  describe("-l", function()
    it("requires a module into a global of its name", function()
      local mod = tmpfile("return { answer = 42, name = ... }\n")
      local out, err, code = run({ "-l", "mymod", "-e",
                                   "print(mymod.answer, mymod.name)" },
                                 { env = { "LUA_PATH=" .. mod } })
      assert.equal("", err)
      assert.equal(0, code)
      assert.equal("42\tmymod\n", out)
    end)

    it("takes g=mod to choose the global", function()
      local mod = tmpfile("return { answer = 42, name = ... }\n")
      local out, _, code = run({ "-lg=mymod", "-e",
                                 "print(g.answer, g.name, mymod)" },
                               { env = { "LUA_PATH=" .. mod } })
      assert.equal(0, code)
      assert.equal("42\tmymod\tnil\n", out)
    end)

    it("fails with status 1 for a missing module", function()
      local _, err, code = run({ "-l", "no_such_module_lsock_spec" })
      assert.equal(1, code)
      assert.truthy(err:find("^lsock: module 'no_such_module_lsock_spec' " ..
                             "not found"), err)
    end)
  end)

  describe("-v", function()
    it("prints the version line", function()
      local out, err, code = run({ "-v" })
      assert.equal("", err)
      assert.equal(0, code)
      assert.truthy(out:find("^lsock %d+%.%d+%.%d+ %(Lua 5%.4%.%d+%)\n$"), out)
    end)

    it("still runs the script after it", function()
      local script = tmpfile("print('ran')")
      local out, _, code = run({ "-v", script })
      assert.equal(0, code)
      assert.truthy(out:find("^lsock [^\n]*\nran\n$"), out)
    end)
  end)

  describe("-E", function()
    it("ignores LUA_INIT and LUA_PATH", function()
      local mod = tmpfile("return {}\n")
      local env = { "LUA_INIT=init_ran = true", "LUA_PATH=" .. mod }
      local prog = "print(init_ran, package.path == " .. ("%q"):format(mod) ..
                   ")"
      local out, _, code = run({ "-e", prog }, { env = env })
      assert.equal(0, code)
      assert.equal("true\ttrue\n", out)
      out, _, code = run({ "-E", "-e", prog }, { env = env })
      assert.equal(0, code)
      assert.equal("nil\tfalse\n", out)
    end)
  end)

  describe("LUA_INIT", function()
    it("runs before the options, LUA_INIT_5_4 first", function()
      local out, _, code = run({ "-e", "print(v)" },
                               { env = { "LUA_INIT=v = 'plain'" } })
      assert.equal(0, code)
      assert.equal("plain\n", out)
      out, _, code = run({ "-e", "print(v)" }, { env = {
        "LUA_INIT=v = 'plain'", "LUA_INIT_5_4=v = 'versioned'" } })
      assert.equal(0, code)
      assert.equal("versioned\n", out)
    end)

    it("runs a file given as @name", function()
      local init = tmpfile("v = 'from file'\n")
      local out, _, code = run({ "-e", "print(v)" },
                               { env = { "LUA_INIT=@" .. init } })
      assert.equal(0, code)
      assert.equal("from file\n", out)
    end)

    it("stops everything when it fails", function()
      local out, err, code = run({ "-e", "print('ran')" },
                                 { env = { "LUA_INIT=error('init failed')" } })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("^lsock: LUA_INIT:1: init failed\n"), err)
    end)
  end)

  describe("-W", function()
    it("turns warnings on", function()
      local _, err, code = run({ "-e", "warn('quiet')" })
      assert.equal(0, code)
      assert.equal("", err)
      _, err, code = run({ "-W", "-e", "warn('loud')" })
      assert.equal(0, code)
      assert.equal("Lua warning: loud\n", err)
    end)

    -- The state is lsock's own (its allocator), so the warning function is
    -- too: the control messages and a warning in pieces behave as in lua.
    it("follows @on and @off and joins a warning's pieces", function()
      local _, err, code = run({ "-e",
        "warn('a') warn('@on') warn('b', 'c', 'd') warn('@off') warn('e')" ..
        " warn('@on') warn('@unknown') warn('f')" })
      assert.equal(0, code)
      assert.equal("Lua warning: bcd\nLua warning: f\n", err)
      -- The same with malloc's blocks instead of the pool's.
      _, err, code = run({ "-W", "-e", "warn('x', 'y')" },
                         { env = { "LSOCK_POOL=0" } })
      assert.equal(0, code)
      assert.equal("Lua warning: xy\n", err)
    end)
  end)

  describe("--", function()
    it("stops option handling", function()
      local script = tmpfile(SHOW_ARGS)
      local out, _, code = run({ "--", script, "-v" })
      assert.equal(0, code)
      assert.truthy(out:find('\narg%[%-1%]="%-%-"\n'), out)
      assert.truthy(out:find('\n%.%.%.%[1%]="%-v"\n'), out)
      assert.falsy(out:find("^lsock "), out) -- the -v was not an option
    end)
  end)

  describe("- (stdin)", function()
    it("runs stdin as the script, with args", function()
      local out, err, code = run({ "-", "x", "y" }, { stdin = SHOW_ARGS })
      assert.equal("", err)
      assert.equal(0, code)
      assert.truthy(out:find('\narg%[0%]="%-"\narg%[1%]="x"\narg%[2%]="y"\n'),
                    out)
      assert.truthy(out:find('\nn=2\n...[1]="x"\n...[2]="y"\n', 1, true), out)
    end)

    it("runs piped stdin when there is no script", function()
      local out, _, code = run({}, { stdin = "print('from stdin', #arg)\n" })
      assert.equal(0, code)
      assert.equal("from stdin\t0\n", out)
    end)

    it("reports an error in stdin with status 1", function()
      local _, err, code = run({ "-" }, { stdin = "\nerror('in stdin')\n" })
      assert.equal(1, code)
      assert.truthy(err:find("^lsock: stdin:2: in stdin\n"), err)
    end)
  end)

  describe("bad options", function()
    it("print the usage on stderr and exit 1", function()
      for _, bad in ipairs({ "-x", "-vx", "--x" }) do
        local out, err, code = run({ bad, "-e", "print('ran')" })
        assert.equal(1, code, bad)
        assert.equal("", out, bad)
        assert.truthy(err:find("^lsock: unrecognized option '" ..
                               bad:gsub("%-", "%%-") .. "'\nusage: "), err)
      end
    end)
  end)

  describe("SIGINT", function()
    -- The child signals itself from a background shell, so the signal lands
    -- while it is running Lua code or blocked in a socket call.
    local PID = "local pid = io.open('/proc/self/stat'):read('n') " ..
                "os.execute('(sleep 0.2; kill -INT ' .. pid .. " ..
                "' 2>/dev/null) &') "

    it("stops a Lua loop with 'interrupted!'", function()
      local out, err, code = run({ "-e", PID .. [[
        local t = os.clock()
        while os.clock() - t < 3 do end
        print("not interrupted")
      ]] })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("^lsock: [^\n]*interrupted!\n"), err)
    end)

    -- A UDP recv that would wait 3 s, interrupted after 0.2 s.
    local function stops_recv(setup)
      local out, err, code = run({ "-e", PID .. [[
        local s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s:bind("127.0.0.1", 0)
        ]] .. setup .. [[
        s:recv(1)
        print("not interrupted")
      ]] })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("^lsock: [^\n]*interrupted!\n"), err)
    end

    it("stops a socket call blocked waiting", function()
      -- Without the core flag the wait would retry until the timeout.
      stops_recv("s:settimeout(3)")
    end)

    it("stops a socket call blocked in the kernel", function()
      -- No timeout and no task: the recv is one blocking system call.
      stops_recv([[s:setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                                string.pack("i8i8", 3, 0))]])
    end)

    it("stops a connect blocked in the kernel", function()
      -- A listener with a full queue drops the SYNs of further connects,
      -- which then wait for the SYN to be sent again (1 s, then 3 s...).
      local out, err, code = run({ "-e", PID .. [[
        local l = socket.socket()
        l:bind("127.0.0.1", 0)
        l:listen(0)
        local held = {}
        local t0 = socket.monotonic()
        for i = 1, 8 do
          local c = socket.socket()
          held[i] = c
          c:connect(l:getsockname())
        end
        print("not interrupted", socket.monotonic() - t0)
      ]] }, { limit = 20 })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("^lsock: [^\n]*interrupted!\n"), err)
    end)

    it("stops a sendall blocked in the kernel", function()
      -- The signal cuts one send short; the next must not block again.
      local out, err, code = run({ "-e", PID .. [[
        local a, b = socket.socketpair()
        a:sendall(("x"):rep(16 << 20))
        print("not interrupted")
      ]] }, { limit = 20 })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("^lsock: [^\n]*interrupted!\n"), err)
    end)

    it("stops makefile reads and writes and sendfile in the kernel",
       function()
      local path = os.tmpname()
      finally(function() os.remove(path) end)
      local fh = assert(io.open(path, "wb"))
      fh:write(("x"):rep(16 << 20))
      fh:close()
      local calls = { "f:read('l')", "f:write(big) f:flush()",
                      ("a:sendfile(io.open(%q, 'rb'))"):format(path) }
      for _, call in ipairs(calls) do
        local out, err, code = run({ "-e", PID .. [[
          local a, b = socket.socketpair()
          local f = a:makefile("rw")
          local big = ("x"):rep(16 << 20)
          ]] .. call .. [[
          print("not interrupted")
        ]] }, { limit = 20 })
        assert.equal(1, code, call)
        assert.equal("", out, call)
        assert.truthy(err:find("^lsock: [^\n]*interrupted!\n"), err)
      end
    end)

    it("can be caught, once, around a Lua loop", function()
      local out, err, code = run({ "-e", PID .. [[
        local ok, e = pcall(function()
          local t = os.clock()
          while os.clock() - t < 3 do end
        end)
        print(ok, e)
        print("went on")
      ]] })
      assert.equal("", err)
      assert.equal(0, code)
      assert.truthy(out:find("^false\t[^\n]*interrupted!\nwent on\n$"), out)
    end)
  end)

  describe("REPL", function()
    it("prints expressions without return", function()
      local out, _, code = run({ "-i" }, { stdin = "1+1\n'a', nil, 3\n" })
      assert.equal(0, code)
      assert.truthy(out:find("^lsock [^\n]*\n"), out) -- -i shows the banner
      assert.truthy(out:find("> 2\n", 1, true), out)
      assert.truthy(out:find("> a\tnil\t3\n", 1, true), out)
    end)

    it("runs statements and keeps locals to their line", function()
      local out, _, code = run({ "-i" }, { stdin = "x = 5\nlocal y = 6\n" ..
                                                   "print(x, y)\n" })
      assert.equal(0, code)
      assert.truthy(out:find("> 5\tnil\n", 1, true), out)
    end)

    it("continues an incomplete statement on the second prompt", function()
      local out, err, code = run({ "-i" }, { stdin =
        "function f(a)\n  local b = a * 2\n  return b\nend\nf(21)\n" })
      assert.equal("", err)
      assert.equal(0, code)
      assert.truthy(out:find("> >> >> >> > 42\n", 1, true), out)
    end)

    it("reports an error and carries on", function()
      local out, err, code = run({ "-i" }, { stdin =
        "error('boom')\n" ..
        "error(setmetatable({}, " ..
        "{__tostring = function() return 'obj' end}))\n" ..
        "1+2\n" })
      assert.equal(0, code)
      assert.truthy(out:find("> 3\n", 1, true), out)
      assert.truthy(err:find("^stdin:1: boom\n"), err)
      assert.truthy(err:find("\nobj\n", 1, true), err)
    end)

    it("honours _PROMPT and _PROMPT2", function()
      local out, _, code = run({ "-i" }, { stdin =
        "_PROMPT = 'P1$ ' _PROMPT2 = 'P2$ '\nif true then\nend\n" })
      assert.equal(0, code)
      assert.truthy(out:find("> P1$ P2$ P1$ \n", 1, true), out)
    end)

    it("runs after the script, which sees the same globals", function()
      local script = tmpfile("from_script = 'yes'\n")
      local out, _, code = run({ "-i", script }, { stdin = "from_script\n" })
      assert.equal(0, code)
      assert.truthy(out:find("> yes\n", 1, true), out)
    end)
  end)

  describe("line editor", function()
    -- It loads only for a REPL at a terminal (repl_spec checks that it
    -- does): every other start would pay for it and its libraries.
    it("is not loaded to run a script or piped input", function()
      local f = io.open("/proc/self/maps")
      if not f then pending("no /proc/self/maps on this system") return end
      f:close()
      local show = "io.write(io.open('/proc/self/maps'):read('a'))"
      local script = tmpfile(show)
      local runs = {
        { { "-e", show } },
        { { script } },
        { { "-i" }, { stdin = show .. "\n" } },
      }
      for _, r in ipairs(runs) do
        local maps, err, code = run(r[1], r[2])
        assert.equal(0, code, err)
        assert.truthy(maps:find("[stack]", 1, true), maps)
        for _, lib in ipairs({ "libedit", "libreadline", "libtinfo" }) do
          assert.falsy(maps:find(lib, 1, true), lib .. " in:\n" .. maps)
        end
      end
    end)
  end)
end)
