/* spec/c/sigstorm: a fault test run by ctest (fault_signal_storm). A C host
 * opens lsock in a Lua state and takes a SIGALRM every millisecond (a
 * no-op handler installed without SA_RESTART, so every blocking system
 * call is interrupted) while the Lua chunk below makes blocking calls with
 * and without timeouts through the real module. Each must end when its
 * timeout says, neither early (an EINTR taken for a timeout or an error)
 * nor late (a deadline restarted at every signal). Lua cannot install a
 * signal handler, hence a C host. Exits 0 when every check passed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lsock.h"

/* The storm stops by itself after this many signals (4 s), so that a
 * call whose deadline restarts at every signal ends, late, instead of
 * hanging the test. */
#define STORM_MAX 4000

static volatile sig_atomic_t signals = 0;

static void set_timer(long usec) {
  struct itimerval it;
  memset(&it, 0, sizeof it);
  it.it_interval.tv_usec = usec;
  it.it_value.tv_usec = usec;
  setitimer(ITIMER_REAL, &it, NULL);
}

static void on_alarm(int sig) {
  int saved = errno;
  (void)sig;
  if (++signals >= STORM_MAX)
    set_timer(0);
  errno = saved;
}

/* storm_start(): SIGALRM every millisecond from now on. */
static int l_storm_start(lua_State *L) {
  (void)L;
  signals = 0;
  set_timer(1000);
  return 0;
}

/* storm_stop() -> the number of signals taken since storm_start. */
static int l_storm_stop(lua_State *L) {
  set_timer(0);
  lua_pushinteger(L, signals);
  return 1;
}

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* writer(port, delay_ms, data): a child process that connects to
 * 127.0.0.1:port after delay_ms, sends data after delay_ms more, then
 * holds the connection for another second before it exits. Returns its pid. (A
 * forked child inherits no interval timer: only the parent is stormed.) */
static int l_writer(lua_State *L) {
  int port = (int)luaL_checkinteger(L, 1);
  long delay = (long)luaL_checkinteger(L, 2);
  size_t len;
  const char *data = luaL_checklstring(L, 3, &len);
  pid_t pid = fork();
  if (pid < 0)
    return luaL_error(L, "fork: %s", strerror(errno));
  if (pid == 0) {
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    pause_ms(delay);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
      _exit(2);
    pause_ms(delay);
    if (write(fd, data, len) != (ssize_t)len)
      _exit(3);
    pause_ms(1000);
    _exit(0);
  }
  lua_pushinteger(L, pid);
  return 1;
}

/* reap(pid) -> the child's exit status (waiting for it). */
static int l_reap(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  lua_pushinteger(L, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return 1;
}

static const char chunk[] =
    "local socket = require 'lsock'\n"
    "local fails = 0\n"
    "local function check(name, cond, fmt, ...)\n"
    "  if not cond then fails = fails + 1 end\n"
    "  print((cond and 'ok - ' or 'not ok - ') .. name .. ': ' ..\n"
    "        fmt:format(...))\n"
    "end\n"
    /* One timed call under the storm: it must fail with a timeout after
     * `t` seconds, give or take the margins. */
    "local function timed(name, t, f)\n"
    "  storm_start()\n"
    "  local t0 = socket.monotonic()\n"
    "  local ok, e = pcall(f)\n"
    "  local took = socket.monotonic() - t0\n"
    "  local n = storm_stop()\n"
    "  check(name .. ' times out', not ok and\n"
    "        getmetatable(e) == socket.error and e.kind == 'timeout',\n"
    "        '%s, %s', tostring(ok), tostring(e))\n"
    "  local why = ('%.4f s for a %.3f s timeout'):format(took, t)\n"
    "  check(name .. ' not early', took >= t, why)\n"
    "  check(name .. ' not late', took < t + 0.75, why)\n"
    "  check(name .. ' under a storm', n >= 100 * t,\n"
    "        '%d signals in %.4f s', n, took)\n"
    "end\n"
    "local function listener()\n"
    "  local l = socket.socket()\n"
    "  l:bind('127.0.0.1', 0)\n"
    "  l:listen()\n"
    "  return l, select(2, l:getsockname())\n"
    "end\n"
    "local function pair()\n"
    "  local l, port = listener()\n"
    "  local c = socket.socket()\n"
    "  c:connect('127.0.0.1', port)\n"
    "  local s = l:accept()\n"
    "  l:close()\n"
    "  return c, s\n"
    "end\n"
    "local u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "u:bind('127.0.0.1', 0)\n"
    "u:settimeout(1)\n"
    "timed('udp recv 1 s', 1, function() return u:recv(100) end)\n"
    "local c, s = pair()\n"
    "c:settimeout(1)\n"
    "timed('tcp recv 1 s', 1, function() return c:recv(100) end)\n"
    "local l = listener()\n"
    "l:settimeout(0.5)\n"
    "timed('accept 0.5 s', 0.5, function() return l:accept() end)\n"
    "s:settimeout(0.5)\n"
    "local big = ('x'):rep(64 * 1024 * 1024)\n"
    "timed('sendall to a peer not reading 0.5 s', 0.5,\n"
    "      function() return s:sendall(big) end)\n"
    "c:close() s:close()\n"
    "c, s = pair()\n"
    "c:settimeout(0.5)\n"
    "local f = c:makefile('r')\n"
    "timed('makefile read 0.5 s', 0.5, function() return f:read('l') end)\n"
    "f:close() c:close() s:close()\n"
    /* Blocking calls (no timeout) that a child process completes after
     * 0.3 s each: a signal must not end them with an error. */
    "local l2, port = listener()\n"
    "local pid = writer(port, 300, 'hello')\n"
    "storm_start()\n"
    "local t0 = socket.monotonic()\n"
    "local ok, conn = pcall(l2.accept, l2)\n"
    "local ok2, data = false, nil\n"
    "if ok then ok2, data = pcall(conn.recv, conn, 100) end\n"
    "local took = socket.monotonic() - t0\n"
    "local n = storm_stop()\n"
    "check('blocking accept', ok, '%s', tostring(conn))\n"
    "check('blocking recv', ok2 and data == 'hello', '%s, %s',\n"
    "      tostring(ok2), tostring(data))\n"
    "check('blocking calls wait for the peer', took >= 0.55 and took < 5,\n"
    "      'took %.4f s', took)\n"
    "check('blocking calls under a storm', n >= 100, '%d signals', n)\n"
    "if ok then conn:close() end\n"
    "l2:close()\n"
    "local st = reap(pid)\n"
    "check('writer child', st == 0, 'exit status %d', st)\n"
    "return fails\n";

int main(void) {
  struct sigaction sa;
  int status = 1;
  lua_State *L = luaL_newstate();
  if (L == NULL)
    return 1;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: every blocked call sees EINTR */
  sigaction(SIGALRM, &sa, NULL);
  luaL_openlibs(L);
  luaL_requiref(L, "lsock", luaopen_lsock, 0);
  lua_pop(L, 1);
  lua_register(L, "storm_start", l_storm_start);
  lua_register(L, "storm_stop", l_storm_stop);
  lua_register(L, "writer", l_writer);
  lua_register(L, "reap", l_reap);
  if (luaL_loadbuffer(L, chunk, sizeof chunk - 1, "=sigstorm") != LUA_OK ||
      lua_pcall(L, 0, 1, 0) != LUA_OK) {
    set_timer(0);
    fprintf(stderr, "sigstorm: %s\n", luaL_tolstring(L, -1, NULL));
    goto out;
  }
  status = lua_tointeger(L, -1) == 0 ? 0 : 1;
  printf("%s\n", status ? "FAILED" : "all passed");
out:
  lua_close(L);
  return status;
}
