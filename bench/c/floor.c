/* bench/c/floor.c: the thinnest socket binding Lua 5.4 can have, the floor
 * under lsock and LuaSocket. It is a benchmark reference, not a library:
 * every method is one system call and the conversions the script needs,
 * with no argument checks, no timeouts, no errors beyond a bare message
 * and no __gc. What a Lua script pays with it above the C reference is
 * the price of Lua itself (its VM, its calls into C, a new string for
 * every read) and of a bigger process; lsock's distance from it is what
 * lsock's own work costs.
 *
 *   cc -O2 -shared -fPIC $(pkg-config --cflags lua5.4) -o floor.so floor.c
 *
 * bench/impl/floor.lua loads it and plays the pingpong and connrate roles
 * of bench/c/ref.c with the same calls and loops as bench/impl/lsock.lua.
 * Not udp: there every call formats or parses an address, and how cheaply
 * is a binding's own design (lsock's hand-written conversions beat glibc's
 * inet_pton and inet_ntop, which a floor would use).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXREAD 65536

typedef struct {
  int fd;
} Sock;

static int fail(lua_State *L, const char *what) {
  return luaL_error(L, "%s: %s", what, strerror(errno));
}

static void pushsock(lua_State *L, int fd) {
  Sock *s = (Sock *)lua_newuserdatauv(L, sizeof *s, 0);
  s->fd = fd;
  luaL_setmetatable(L, "floor.sock");
}

static int fdof(lua_State *L) {
  return ((Sock *)lua_touserdata(L, 1))->fd;
}

/* s:recv(n) -> data ("" at the end of stream) */
static int s_recv(lua_State *L) {
  char buf[MAXREAD];
  size_t n = (size_t)lua_tointeger(L, 2);
  ssize_t k = recv(fdof(L), buf, n < MAXREAD ? n : MAXREAD, 0);
  if (k < 0)
    return fail(L, "recv");
  lua_pushlstring(L, buf, (size_t)k);
  return 1;
}

/* s:sendall(data) */
static int s_sendall(lua_State *L) {
  size_t len;
  const char *p = lua_tolstring(L, 2, &len);
  int fd = fdof(L);
  while (len > 0) {
    ssize_t k = send(fd, p, len, 0);
    if (k < 0)
      return fail(L, "send");
    p += k;
    len -= (size_t)k;
  }
  return 0;
}

static int s_close(lua_State *L) {
  close(fdof(L));
  return 0;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* s:connect(host, port): host an IPv4 literal */
static int s_connect(lua_State *L) {
  struct sockaddr_in a = loopback((int)lua_tointeger(L, 3));
  if (inet_pton(AF_INET, lua_tostring(L, 2), &a.sin_addr) != 1)
    return luaL_error(L, "connect: not an IPv4 address");
  if (connect(fdof(L), (struct sockaddr *)&a, sizeof a) < 0)
    return fail(L, "connect");
  return 0;
}

/* s:accept() -> sock */
static int s_accept(lua_State *L) {
  int fd = accept(fdof(L), NULL, NULL);
  if (fd < 0)
    return fail(L, "accept");
  pushsock(L, fd);
  return 1;
}

/* s:nodelay(): TCP_NODELAY on */
static int s_nodelay(lua_State *L) {
  int one = 1;
  if (setsockopt(fdof(L), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
    return fail(L, "setsockopt");
  return 0;
}

/* floor.socket() -> sock: a TCP socket */
static int f_socket(lua_State *L) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return fail(L, "socket");
  pushsock(L, fd);
  return 1;
}

/* floor.listen(backlog) -> sock: listening on 127.0.0.1 port 0; prints
 * the port. */
static int f_listen(lua_State *L) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = loopback(0);
  socklen_t alen = sizeof a;
  if (fd < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
      listen(fd, (int)luaL_checkinteger(L, 1)) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
    return fail(L, "server socket");
  printf("%d\n", ntohs(a.sin_port));
  fflush(stdout);
  pushsock(L, fd);
  return 1;
}

static int f_monotonic(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static const luaL_Reg methods[] = {
  {"recv", s_recv},       {"sendall", s_sendall}, {"connect", s_connect},
  {"accept", s_accept},   {"nodelay", s_nodelay}, {"close", s_close},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"socket", f_socket},
  {"listen", f_listen},
  {"monotonic", f_monotonic},
  {NULL, NULL}
};

int luaopen_floor(lua_State *L) {
  luaL_newmetatable(L, "floor.sock");
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, functions);
  return 1;
}
