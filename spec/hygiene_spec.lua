-- Descriptor hygiene (issue 5): every descriptor lsock opens is
-- close-on-exec, so a child process inherits none; a closed socket never
-- touches its old descriptor number, even once another socket has it; a
-- vanished peer gives EPIPE, never SIGPIPE.

local socket = require "lsock"
local helpers = require "spec.helpers"
local lfs = require "lfs"

local O_CLOEXEC = 0x80000 -- 02000000 in fdinfo's octal flags

-- This process's open descriptors: number -> what /proc shows it as
-- ("socket:[123]", "anon_inode:[eventpoll]", ...; inodes make it unique).
local function open_fds()
  local fds = {}
  for name in lfs.dir("/proc/self/fd") do
    local fd = tonumber(name)
    if fd then
      local target = lfs.symlinkattributes("/proc/self/fd/" .. name, "target")
      if target then fds[fd] = target end
    end
  end
  return fds
end

local function flags(fd)
  local f = io.open("/proc/self/fdinfo/" .. fd, "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return tonumber(text:match("flags:%s*(%d+)"), 8)
end

-- Opens a descriptor through every path lsock has for making one, keeping
-- the objects alive in `keep`.
local function open_everything(keep)
  local function k(...)
    for i = 1, select("#", ...) do keep[#keep + 1] = select(i, ...) end
    return ...
  end
  k(socket.socket())
  k(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
  k(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
  k(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
  k(socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK))
  k(socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC))
  if helpers.has_ipv6() then k(socket.socket(socket.AF_INET6)) end
  local c, conn, l = k(helpers.tcp_pair())
  k(c:dup())
  k(c:makefile("rw")) -- no descriptor of its own, but it must not add one
  local uc, uconn, ul = k(helpers.unix_pair())
  k(uc:dup(), uconn, ul)
  if socket.socketpair then k(socket.socketpair()) end
  if socket.fromfd then
    k(socket.fromfd(conn:fileno(), socket.AF_INET, socket.SOCK_STREAM))
  end
  if socket.create_connection then
    local _, port = l:getsockname()
    k(socket.create_connection("127.0.0.1", port, helpers.TIMEOUT))
    k((l:accept()))
  end
  if socket.create_server then k(socket.create_server("127.0.0.1", 0)) end
  -- The event loop and the resolver's workers, where they exist, open
  -- descriptors of their own.
  if socket.getaddrinfo then pcall(socket.getaddrinfo, "localhost", 80) end
  if socket.spawn and socket.run then
    socket.spawn(function() end)
    socket.run()
  end
end

describe("descriptor hygiene", function()
  after_each(helpers.cleanup)

  it("opens every descriptor close-on-exec", function()
    local before = open_fds()
    local keep = {}
    open_everything(keep)
    local new, checked = {}, 0
    for fd, target in pairs(open_fds()) do
      if before[fd] ~= target then new[#new + 1] = fd end
    end
    for _, fd in ipairs(new) do
      local fl = flags(fd)
      if fl then -- (gone already if it was a transient one)
        checked = checked + 1
        assert.is_true(fl & O_CLOEXEC ~= 0,
                       ("descriptor %d (%s) is not close-on-exec"):format(
                         fd, tostring(lfs.symlinkattributes(
                           "/proc/self/fd/" .. fd, "target"))))
      end
    end
    assert.is_true(checked >= 12, "only " .. checked .. " new descriptors")
    for i = #keep, 1, -1 do pcall(keep[i].close, keep[i]) end
  end)

  it("lets a child process inherit none of them", function()
    local before = open_fds()
    local keep = {}
    open_everything(keep)
    local ours = {}
    for fd, target in pairs(open_fds()) do
      if before[fd] ~= target then ours[target] = fd end
    end
    local child = assert(io.popen("ls -l /proc/self/fd/ 2>&1"))
    local seen, inherited = 0, {}
    for line in child:lines() do
      local fd, target = line:match("(%d+) %-> (.*)$")
      if fd then
        seen = seen + 1
        if ours[target] then inherited[#inherited + 1] = fd .. " " .. target end
      end
    end
    child:close()
    assert.is_true(seen >= 3, "could not list the child's descriptors")
    assert.same({}, inherited)
    for i = #keep, 1, -1 do pcall(keep[i].close, keep[i]) end
  end)

  it("never lets a closed socket reach its old descriptor number",
     function()
    local s = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    s:bind("127.0.0.1", 0)
    local fd = s:fileno()
    s:close()
    -- The lowest free number goes to the next descriptor: usually fd.
    local t = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    t:bind("127.0.0.1", 0)
    local tname = table.pack(t:getsockname())
    local calls = {
      { "recv", 10 }, { "recvfrom", 10 }, { "send", "x" },
      { "sendall", "x" }, { "sendto", "x", "127.0.0.1", 9 },
      { "bind", "127.0.0.1", 0 }, { "connect", "127.0.0.1", 9 },
      { "connect_ex", "127.0.0.1", 9 }, { "listen" }, { "accept" },
      { "getsockname" }, { "getpeername" }, { "shutdown", socket.SHUT_RDWR },
      { "setsockopt", socket.SOL_SOCKET, socket.SO_BROADCAST, 1 },
      { "getsockopt", socket.SOL_SOCKET, socket.SO_TYPE },
      { "settimeout", 1 }, { "gettimeout" }, { "setblocking", false },
      { "getblocking" }, { "dup" }, { "makefile", "r" },
    }
    for _, call in ipairs(calls) do
      local name = call[1]
      local e = helpers.fails(s[name], s, table.unpack(call, 2))
      assert.equal(socket.error, getmetatable(e), name .. ": " .. tostring(e))
      assert.equal("EBADF", e.name, name)
    end
    assert.equal(-1, s:fileno())
    assert.equal(-1, s:detach())
    s:close() -- twice is fine
    assert.matches("^<lsock.socket %[closed%] fd=%-1", tostring(s))
    -- t, on the reused number, was not touched.
    assert.same(tname, table.pack(t:getsockname()))
    assert.equal(socket.SOCK_DGRAM,
                 t:getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
    if t:fileno() == fd then
      local _, port = t:getsockname()
      local u = helpers.track(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
      u:sendto("still mine", "127.0.0.1", port)
      t:settimeout(helpers.TIMEOUT)
      assert.equal("still mine", t:recv(100))
    end
  end)

  it("gives EPIPE rather than SIGPIPE on every write path", function()
    local c, conn = helpers.unix_pair()
    conn:close()
    helpers.sockerr("EPIPE", "send", c.send, c, "x")
    helpers.sockerr("EPIPE", "sendall", c.sendall, c, ("y"):rep(100000))
    local f = c:makefile("w", 0)
    helpers.sockerr("EPIPE", "write", f.write, f, "z")
    local g = c:makefile("w")
    g:write("buffered")
    helpers.sockerr("EPIPE", "flush", g.flush, g)
    local d, d2 = helpers.tcp_pair()
    d:shutdown(socket.SHUT_WR)
    helpers.sockerr("EPIPE", "send", d.send, d, "after shutdown")
    d2:close()
  end)
end)
