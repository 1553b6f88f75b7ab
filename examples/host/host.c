/* examples/host/host.c: a C program that embeds lsock. It gives scripts
 * one host function (host.ticks), runs a script that serves a socket from
 * tasks while the host's own poll loop keeps ticking, then shows a second
 * state, side by side, whose network policy refuses what the first may
 * do. Build it against an installed lsock with pkg-config or CMake (see
 * Makefile and CMakeLists.txt here). */
#include <lsock.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int ticks;

/* host.ticks(): how many times the host's loop has turned. */
static int host_ticks(lua_State *L) {
  lua_pushinteger(L, ticks);
  return 1;
}

/* The host's loop: lsock's descriptor and timeout fold into its poll, with
 * a 10 ms tick of the host's own. */
static int drive(lua_State *L) {
  int left;
  while ((left = lsock_step(L)) > 0) {
    int ms = lsock_timeout(L);
    if (ms < 0 || ms > 10)
      ms = 10;
    struct pollfd p = {lsock_fd(L), POLLIN, 0};
    poll(&p, 1, ms);
    ticks++;
  }
  return left;
}

int main(int argc, char **argv) {
  const char *script = argc > 1 ? argv[1] : "serve.lua";
  lua_State *L = lsock_newstate(LSOCK_GLOBAL);
  if (!L) {
    fprintf(stderr, "host: cannot create a Lua state\n");
    return 1;
  }
  lua_newtable(L);
  lua_pushcfunction(L, host_ticks);
  lua_setfield(L, -2, "ticks");
  lua_setglobal(L, "host");

  if (lsock_dofile(L, script) != LUA_OK || drive(L) < 0) {
    fprintf(stderr, "host: %s\n", lua_tostring(L, -1));
    lsock_close(L);
    return 1;
  }
  lua_getglobal(L, "result");
  char echo[64];
  snprintf(echo, sizeof echo, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1)
                                                        : "missing");
  lua_pop(L, 1);

  /* A second state for a script we trust less: Unix sockets only. */
  lua_State *P = lsock_newstate(LSOCK_GLOBAL);
  lsock_policy policy;
  memset(&policy, 0, sizeof policy);
  policy.families = 1u << AF_UNIX;
  policy.max_sockets = 4;
  if (!P || lsock_setpolicy(P, &policy) != 0) {
    fprintf(stderr, "host: cannot set the policy\n");
    return 1;
  }
  int status = lsock_dostring(P,
                              "local s = socket.socket(socket.AF_INET)\n"
                              "s:connect('127.0.0.1', 9)\n",
                              "=untrusted");
  const char *why = status == LUA_OK ? "" : lua_tostring(P, -1);
  int refused = status != LUA_OK && strstr(why, "network policy") != NULL;
  if (!refused)
    fprintf(stderr, "host: the policy did not refuse: %s\n", why);
  printf("host: done, %d ticks, echo %s, policy %s\n", ticks, echo,
         refused ? "refused" : "allowed");
  lsock_close(P);
  lsock_close(L);
  return refused ? 0 : 1;
}
