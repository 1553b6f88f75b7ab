-- Child lsock processes for the specs: a Lua script written to a temporary
-- file and run by $LSOCK_BIN (ctest sets it to the built interpreter)
-- under timeout(1), so that no child outlives its spec. Used where a spec
-- needs a second process (a peer that acts while this one blocks), a
-- lowered resource limit, or a scenario that could crash the process.

local child = {}

local temps = {} -- script files to remove in cleanup()

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function child.bin()
  local bin = os.getenv("LSOCK_BIN")
  assert(bin and bin ~= "",
         "LSOCK_BIN is needed: set it to the lsock interpreter to test " ..
         "(ctest sets it to the built binary)")
  return bin
end

-- The shell command running `src` with `args`, stdout and stderr together.
-- opts.limit: seconds before timeout(1) kills it (default 30);
-- opts.nofile: a soft RLIMIT_NOFILE for the child.
local function command(src, args, opts)
  opts = opts or {}
  local name = os.tmpname()
  temps[#temps + 1] = name
  local f = assert(io.open(name, "wb"))
  f:write(src)
  f:close()
  local words = { "timeout", tostring(opts.limit or 30), quote(child.bin()),
                  quote(name) }
  for _, a in ipairs(args or {}) do words[#words + 1] = quote(a) end
  local cmd = table.concat(words, " ") .. " </dev/null 2>&1"
  if opts.nofile then
    cmd = ("ulimit -S -n %d && exec %s"):format(opts.nofile, cmd)
  end
  return cmd
end

-- Starts the child and returns at once; child.wait(h) collects it.
function child.start(src, args, opts)
  return assert(io.popen(command(src, args, opts), "r"))
end

-- Waits for a started child: its output and exit status (128 + n when
-- killed by signal n, 124 when timeout(1) stopped it).
function child.wait(h)
  local out = h:read("a")
  local _, how, code = h:close()
  if how == "signal" then code = 128 + code end
  return out, code
end

-- Runs the child to its end: its output and exit status.
function child.run(src, args, opts)
  return child.wait(child.start(src, args, opts))
end

-- The text of a script in spec/scripts/.
function child.script(name)
  local here = debug.getinfo(1, "S").source:match("^@(.*)child%.lua$")
  local f = assert(io.open((here or "spec/") .. "scripts/" .. name, "rb"))
  local src = f:read("a")
  f:close()
  return src
end

function child.cleanup()
  for i = #temps, 1, -1 do
    os.remove(temps[i])
    temps[i] = nil
  end
end

return child
