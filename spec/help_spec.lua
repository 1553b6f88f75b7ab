-- help(x) and its one table of text (bindings/l_help.c): the README's
-- method table, the socket's real methods, the module's functions and the
-- help entries must name the same things, so that none drifts from the
-- others. Output is read from $LSOCK_BIN run as a child process.

local socket = require "lsock"

local BIN = os.getenv("LSOCK_BIN")

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Runs `lsock -e code` and returns its stdout and exit status.
local function lsock_e(code)
  assert(BIN and BIN ~= "", "LSOCK_BIN is needed (ctest sets it)")
  local p = assert(io.popen("env -u LUA_INIT -u LUA_INIT_5_4 " .. quote(BIN) ..
                            " -e " .. quote(code) .. " </dev/null 2>&1"))
  local out = p:read("a")
  local _, _, status = p:close()
  return out, status
end

local function readme()
  -- The specs run from the repository's root (busted's default), where
  -- ctest starts them too.
  local f = assert(io.open("README.md", "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function set(list)
  local t = {}
  for _, v in ipairs(list) do t[v] = true end
  return t
end

local function keys(t)
  local l = {}
  for k in pairs(t) do l[#l + 1] = k end
  table.sort(l)
  return l
end

local function missing(from, within)
  local l = {}
  for k in pairs(from) do if not within[k] then l[#l + 1] = k end end
  table.sort(l)
  return l
end

-- The s:NAME entries of the README's method table (its first column).
local function readme_methods()
  local text = readme()
  local api = assert(text:match("\n## API\n(.-)\n## "), "no ## API section")
  local names = {}
  for row in api:gmatch("\n|([^\n]*)") do
    local first = row:match("^%s*([^|]*)|")
    for name in (first or ""):gmatch("s:([%w_]+)%(") do names[name] = true end
  end
  return names
end

-- The s:NAME list that help(socket) prints under "Socket methods".
local function help_methods()
  local out = lsock_e("help(socket)")
  local block = assert(out:match("Socket methods[^\n]*\n(.-)\n\n"), out)
  local names = {}
  for name in block:gmatch("s:([%w_]+)") do names[name] = true end
  return names
end

-- The socket's methods as the object has them: the table behind its
-- __index (the C function's first upvalue).
local function real_methods()
  local s = socket.socket()
  -- An open socket's __index holds the methods and its kind's fields; a
  -- socket without a descriptor uses a function whose upvalue is the
  -- methods table.
  local index = getmetatable(s).__index
  s:close()
  local methods = type(index) == "table" and index or
                  select(2, debug.getupvalue(index, 1))
  local names = {}
  for k, v in pairs(methods) do
    if type(v) == "function" then names[k] = true end
  end
  return names
end

describe("help", function()
  it("is socket.help and, in the interpreter, the global help", function()
    assert.is_function(socket.help)
    local out, status = lsock_e("print(help == socket.help)")
    assert.equal(0, status)
    assert.equal("true\n", out)
  end)

  it("has an entry for every method in the README's table and no other",
     function()
    local doc, helped = readme_methods(), help_methods()
    assert.truthy(doc.recv and doc.makefile, "README table not parsed")
    assert.same({}, missing(doc, helped)) -- documented, no help
    assert.same({}, missing(helped, doc)) -- help for an undocumented one
  end)

  it("covers exactly the methods a socket has", function()
    local real, helped = real_methods(), help_methods()
    assert.same({}, missing(real, helped))
    assert.same({}, missing(helped, real))
  end)

  it("has an entry for every function of the module", function()
    local names = {}
    for k, v in pairs(socket) do
      if type(v) == "function" then names[#names + 1] = k end
    end
    table.sort(names)
    local code = {}
    for _, k in ipairs(names) do
      code[#code + 1] = ("io.write(%q, ' ') help(socket.%s)"):format(k, k)
    end
    local out = lsock_e(table.concat(code, " "))
    for _, k in ipairs(names) do
      assert.falsy(out:find(k .. " no help", 1, true),
                   "no help entry for socket." .. k)
      assert.truthy(out:find(k .. " " .. (k == "help" and "help(" or
                                          "socket." .. k .. "("), 1, true),
                    "socket." .. k .. ":\n" .. out)
    end
  end)

  it("prints a method's signature and description", function()
    local want = "s:recv(bufsize [, flags])\n"
    for _, how in ipairs({ 'help("recv")', 'help("s:recv")',
                           "help(socket.socket().recv)" }) do
      local out, status = lsock_e(how)
      assert.equal(0, status)
      assert.equal(want, out:sub(1, #want), how)
      assert.truthy(out:find("end of stream", 1, true), out)
    end
  end)

  it("prints a module function's help from the function or its name",
     function()
    local a = lsock_e("help(socket.getaddrinfo)")
    local b = lsock_e('help("socket.getaddrinfo")')
    assert.equal(a, b)
    assert.truthy(a:find("^socket%.getaddrinfo%(host, port"), a)
    assert.truthy(lsock_e("help(socket.socket)"):find("^socket%.socket%("))
  end)

  it("lists the module by group, constants included", function()
    local out = lsock_e("help(socket)")
    for _, heading in ipairs({ "Creating sockets:", "Names and addresses:",
                               "Conversions:", "Tasks and readiness:",
                               "Socket methods", "Constants" }) do
      assert.truthy(out:find(heading, 1, true), heading .. "\n" .. out)
    end
    assert.truthy(out:find("  AF_*:\n", 1, true), out)
    assert.truthy(out:find("AF_INET6", 1, true), out)
    assert.truthy(out:find("ECONNREFUSED", 1, true), out)
    assert.equal(out, lsock_e("help()"))
  end)

  it("shows constants with their values", function()
    local out = lsock_e('help("AF_INET")')
    assert.truthy(out:find("socket.AF_INET = " .. socket.AF_INET .. "\n", 1,
                           true), out)
  end)

  it("says so when it has nothing", function()
    assert.truthy(lsock_e('help("no_such_thing")'):find("^no help for"))
    assert.truthy(lsock_e("help(print)"):find("^no help for this function"))
    assert.truthy(lsock_e("help(42)"):find("^no help for a number value"))
  end)

  it("describes sockets and error objects", function()
    local out = lsock_e("local a = socket.socketpair() help(a)")
    assert.truthy(out:find("^<lsock%.socket fd=%d+"), out)
    assert.truthy(out:find("settimeout", 1, true), out)
    out = lsock_e("local s = socket.socket() " ..
                  "help(select(2, pcall(s.connect, s, '127.0.0.1', 1)))")
    assert.truthy(out:find("e.kind", 1, true), out)
  end)
end)
