/* bindings/l_addr: addresses as trailing arguments and results.
 * AF_INET is host, port; AF_INET6 adds flowinfo and scope_id; AF_UNIX is
 * one path string (a leading "\0" for the abstract namespace). */
#include "l_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l_error.h"

static int checkport(lua_State *L, int i) {
  lua_Integer port = luaL_checkinteger(L, i);
  luaL_argcheck(L, port >= 0 && port <= 65535, i, "port must be 0-65535");
  return (int)port;
}

static const char *checkhost(lua_State *L, int i) {
  size_t len;
  const char *host = luaL_checklstring(L, i, &len);
  luaL_argcheck(L, strlen(host) == len, i, "host contains a zero byte");
  return host;
}

static void formathost(char *where, size_t n, int family, const char *host,
                       int port) {
  snprintf(where, n, family == AF_INET6 ? "[%.*s]:%d" : "%.*s:%d", 200, host,
           port);
}

static void lookup_run(lsk_job *job) {
  lsockL_Lookup *l = (lsockL_Lookup *)job;
  l->err = lsk_addr_resolve(&l->addr, l->family, l->host, l->port, l->flow,
                            l->scope);
}

static void lookup_free(lsk_job *job) {
  free(job);
}

static lsockL_Lookup *newlookup(lua_State *L, int family, const char *host,
                                int port, uint32_t flow, uint32_t scope) {
  size_t len = strlen(host);
  lsockL_Lookup *l = (lsockL_Lookup *)calloc(1, sizeof *l + len + 1);
  if (!l)
    luaL_error(L, "not enough memory");
  l->job.run = lookup_run;
  l->job.free = lookup_free;
  l->family = family;
  l->port = port;
  l->flow = flow;
  l->scope = scope;
  memcpy(l->host, host, len + 1);
  formathost(l->where, sizeof l->where, family, host, port);
  return l;
}

int lsockL_checkaddrk(lua_State *L, int first, int family, lsk_addr *a,
                      const char *op, lsockL_Lookup **lookup) {
  int err;
  if (lookup)
    *lookup = NULL;
  if (family == AF_INET || family == AF_INET6) {
    const char *host = checkhost(L, first);
    int port = checkport(L, first + 1);
    lua_Integer flow = 0, scope = 0;
    int next = first + 2;
    if (family == AF_INET6) {
      flow = luaL_optinteger(L, first + 2, 0);
      luaL_argcheck(L, flow >= 0 && flow <= 0xfffff, first + 2,
                    "flowinfo must be 0-1048575");
      scope = luaL_optinteger(L, first + 3, 0);
      luaL_argcheck(L, scope >= 0 && scope <= 0xffffffff, first + 3,
                    "scope_id out of range");
      next = first + 4;
    }
    err = lsk_addr_literal(a, family, host, port, (uint32_t)flow,
                           (uint32_t)scope);
    if (err == LSK_ADDR_NAME && lookup) {
      *lookup =
          newlookup(L, family, host, port, (uint32_t)flow, (uint32_t)scope);
      return next;
    }
    if (err == LSK_ADDR_NAME)
      err = lsk_addr_resolve(a, family, host, port, (uint32_t)flow,
                             (uint32_t)scope);
    if (err) {
      char where[LSK_ADDR_TEXT_MAX];
      formathost(where, sizeof where, family, host, port);
      lsockL_error(L, err, op, where);
    }
    return next;
  }
  if (family == AF_UNIX) {
    size_t len;
    const char *path = luaL_checklstring(L, first, &len);
    if ((err = lsk_addr_unix(a, path, len)) != 0)
      lsockL_error(L, err, op, NULL);
    return first + 1;
  }
  return lsockL_error(L, EAFNOSUPPORT, op, NULL);
}

int lsockL_checkaddr(lua_State *L, int first, int family, lsk_addr *a,
                     const char *op) {
  return lsockL_checkaddrk(L, first, family, a, op, NULL);
}

/* An IPv4 host and port, the host's text from c's cache when it is the
 * host of the last call. */
static int pushv4(lua_State *L, lsockL_Ctx *c, const lsk_addr *a) {
  if (c->v4 == a->u.in.sin_addr.s_addr) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->v4ref);
  } else {
    char host[LSK_HOST_MAX];
    lsk_addr_host(a, host, sizeof host);
    lua_pushstring(L, host);
    lua_pushvalue(L, -1);
    lua_rawseti(L, LUA_REGISTRYINDEX, c->v4ref); /* the slot exists */
    c->v4 = a->u.in.sin_addr.s_addr;
  }
  lua_pushinteger(L, lsk_addr_port(a));
  return 2;
}

int lsockL_pushaddr(lua_State *L, lsockL_Ctx *c, const lsk_addr *a) {
  char host[LSK_HOST_MAX];
  if (a->len == 0) { /* an unnamed peer (unbound Unix socket, socketpair) */
    lua_pushliteral(L, "");
    return 1;
  }
  switch (a->u.sa.sa_family) {
  case AF_INET:
    if (c != NULL)
      return pushv4(L, c, a);
    /* fall through */
  case AF_INET6:
    lsk_addr_host(a, host, sizeof host);
    lua_pushstring(L, host);
    lua_pushinteger(L, lsk_addr_port(a));
    if (a->u.sa.sa_family == AF_INET)
      return 2;
    lua_pushinteger(L, ntohl(a->u.in6.sin6_flowinfo));
    lua_pushinteger(L, a->u.in6.sin6_scope_id);
    return 4;
  case AF_UNIX: {
    const char *path;
    size_t len = lsk_addr_path(a, &path);
    lua_pushlstring(L, path, len);
    return 1;
  }
  default: lua_pushlstring(L, (const char *)&a->u, a->len); return 1;
  }
}
