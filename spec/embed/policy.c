/* spec/embed/policy.c: two lsock states in one process, side by side: one
 * free, one under a network policy (an address list, a port range, a
 * socket limit, allowed families). Each check runs Lua in a state through
 * the host API and expects success or a "policy" error. */
#include <lsock.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int failures;

/* Runs chunk in L; `want` is NULL for success, or text the error must
 * contain. */
static void expect(lua_State *L, const char *chunk, const char *want) {
  int status = lsock_dostring(L, chunk, "=check");
  const char *err = status == LUA_OK ? NULL : lua_tostring(L, -1);
  int ok = want ? err && strstr(err, want) : status == LUA_OK;
  printf("%s - %s\n", ok ? "ok" : "not ok", chunk);
  if (!ok) {
    printf("#   wanted %s, got %s\n", want ? want : "success",
           err ? err : "success");
    failures++;
  }
  if (status != LUA_OK)
    lua_pop(L, 1);
}

int main(void) {
  lua_State *free_state = lsock_newstate(LSOCK_GLOBAL);
  lua_State *jail = lsock_newstate(LSOCK_GLOBAL);
  static const char *const allow[] = {"127.0.0.1/32", "::1", NULL};
  lsock_policy p;
  memset(&p, 0, sizeof p);
  p.families = (1u << AF_INET) | (1u << AF_INET6);
  p.allow = allow;
  p.port_min = 1024;
  p.port_max = 65535;
  p.max_sockets = 3;
  if (!free_state || !jail || lsock_setpolicy(jail, &p) != 0) {
    printf("not ok - setting up the states\n");
    return 1;
  }
  static const char *const bad[] = {"300.1.1.1", NULL};
  lsock_policy broken = p;
  broken.allow = bad;
  if (lsock_setpolicy(jail, &broken) == 0) {
    printf("not ok - a bad address was accepted\n");
    failures++;
  }

  /* The free state keeps its globals to itself and may do anything. */
  expect(free_state,
         "srv = socket.socket(); srv:bind('127.0.0.1', 0); srv:listen()\n"
         "host, port = srv:getsockname()\n"
         "u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
         NULL);
  expect(free_state,
         "local c = socket.socket(); c:settimeout(1)\n"
         "assert(c:connect_ex('127.0.0.2', port) ~= nil)",
         NULL);
  expect(jail, "assert(srv == nil and port == nil)", NULL);

  /* The jailed state: the rules, each named in its error. */
  lua_getglobal(free_state, "port");
  lua_pushinteger(jail, lua_tointeger(free_state, -1));
  lua_setglobal(jail, "port");
  lua_pop(free_state, 1);
  expect(jail,
         "local c <close> = socket.socket(); c:settimeout(2)\n"
         "c:connect('127.0.0.1', port)",
         NULL);
  expect(jail, "local c <close> = socket.socket(); c:connect('127.0.0.2', port)",
         "address not in the allowed list");
  expect(jail, "local c <close> = socket.socket(); c:connect('127.0.0.1', 80)",
         "ports 1024-65535 only");
  expect(jail,
         "local s <close> = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
         "s:sendto('x', '::2', 5000)",
         "address not in the allowed list");
  expect(jail, "local s = socket.socket(socket.AF_UNIX)",
         "AF_UNIX not allowed");
  expect(jail,
         "local ok, e = pcall(function()\n"
         "  local c = socket.socket(); c:connect('127.0.0.2', 9999) end)\n"
         "assert(not ok and e.kind == 'policy' and e.op == 'connect', e)\n"
         "assert(e.address == '127.0.0.2:9999' and e.name == 'EACCES')",
         NULL);
  expect(jail,
         "collectgarbage()\n"
         "a, b, c = socket.socket(), socket.socket(), socket.socket()",
         NULL);
  expect(jail, "d = socket.socket()", "at most 3 sockets");
  expect(jail, "a:close(); d = socket.socket(); d:close()", NULL);
  expect(jail, "b:close(); c:close(); collectgarbage()", NULL);
  expect(jail, "local s <close> = socket.socket(); s:bind('127.0.0.1', 0)",
         NULL);

  /* Cleared, the policy is gone. */
  lsock_setpolicy(jail, NULL);
  expect(jail, "local s <close> = socket.socket(socket.AF_UNIX)", NULL);

  lsock_close(jail);
  lsock_close(free_state);
  printf("%d failed\n", failures);
  return failures != 0;
}
