/* bindings/l_trace: tracing socket calls (see l_trace.h). A traced method
 * is a C closure over the original: it notes the arguments and the time,
 * calls the original with lua_pcallk (so a task can still yield inside),
 * and prints one line when the call returns or fails, re-raising the
 * failure unchanged. */
#include "l_trace.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "../core/clock.h"
#include "l_socket.h"

static const char savedkey = 0; /* registry: name -> original method */
static const char hexkey = 0;   /* registry: true in "hex" mode */

/* Methods whose data is worth dumping: argument 2 sent, result 1 read. */
static int sends(const char *name) {
  return strncmp(name, "send", 4) == 0;
}
static int reads(const char *name) {
  return strncmp(name, "recv", 4) == 0;
}

/* One value for a trace line: strings quoted and cut, sockets by fd. */
static void addvalue(luaL_Buffer *b, lua_State *L, int i) {
  char tmp[64];
  lsockL_Socket *s = lsockL_testsock(L, i);
  if (s) {
    snprintf(tmp, sizeof tmp, "<socket fd=%d>", s->closed ? -1 : s->s.fd);
    luaL_addstring(b, tmp);
    return;
  }
  switch (lua_type(L, i)) {
  case LUA_TSTRING: {
    size_t len;
    const char *p = lua_tolstring(L, i, &len);
    luaL_addchar(b, '"');
    for (size_t k = 0; k < len && k < 40; k++) {
      unsigned char c = (unsigned char)p[k];
      if (c >= 32 && c < 127 && c != '"' && c != '\\') {
        luaL_addchar(b, (char)c);
      } else {
        snprintf(tmp, sizeof tmp, "\\x%02x", c);
        luaL_addstring(b, tmp);
      }
    }
    luaL_addstring(b, len > 40 ? "\"..." : "\"");
    break;
  }
  case LUA_TNUMBER:
  case LUA_TBOOLEAN:
  case LUA_TNIL:
    luaL_addstring(b, luaL_tolstring(L, i, NULL));
    lua_pop(L, 1);
    break;
  default:
    luaL_addstring(b, luaL_typename(L, i));
  }
}

static void hexdump(const char *p, size_t len) {
  for (size_t off = 0; off < len; off += 16) {
    char line[80];
    int o = snprintf(line, sizeof line, "    %06zx ", off);
    for (size_t k = 0; k < 16; k++)
      o += snprintf(line + o, sizeof line - (size_t)o,
                    off + k < len ? " %02x" : "   ",
                    off + k < len ? (unsigned char)p[off + k] : 0);
    o += snprintf(line + o, sizeof line - (size_t)o, "  ");
    for (size_t k = 0; k < 16 && off + k < len; k++) {
      unsigned char c = (unsigned char)p[off + k];
      line[o++] = c >= 32 && c < 127 ? (char)c : '.';
    }
    line[o] = '\0';
    fprintf(stderr, "%s\n", line);
  }
}

static int ishex(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &hexkey);
  int hex = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return hex;
}

/* After the call: slots 1 the call's text, 2 the start time, then the
 * results or the error. Prints the line, then returns or re-raises. */
static int traced_k(lua_State *L, int status, lua_KContext ctx) {
  const char *name = lua_tostring(L, lua_upvalueindex(2));
  double ms = (double)(lsk_clock_now() - (int64_t)lua_tointeger(L, 2)) / 1e6;
  int nres = lua_gettop(L) - 2;
  int ok = status == LUA_OK || status == LUA_YIELD;
  luaL_Buffer b;
  (void)ctx;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, ok ? " -> " : " !! ");
  if (ok && nres == 0)
    luaL_addstring(&b, "ok");
  if (ok && reads(name) && lua_type(L, 3) == LUA_TSTRING) {
    char count[32];
    snprintf(count, sizeof count, "%zu bytes ", (size_t)lua_rawlen(L, 3));
    luaL_addstring(&b, count);
  }
  for (int i = 3; i < 3 + nres; i++) {
    if (i > 3)
      luaL_addstring(&b, ", ");
    if (!ok && luaL_callmeta(L, i, "__tostring")) {
      luaL_addvalue(&b);
      continue;
    }
    addvalue(&b, L, i);
  }
  luaL_pushresult(&b);
  fprintf(stderr, "lsock: %s%s (%.3f ms)\n", lua_tostring(L, 1),
          lua_tostring(L, -1), ms);
  lua_pop(L, 1);
  if (ishex(L)) {
    if (ok && reads(name) && lua_type(L, 3) == LUA_TSTRING) {
      size_t len;
      const char *p = lua_tolstring(L, 3, &len);
      hexdump(p, len);
    }
  }
  if (!ok)
    return lua_error(L);
  return nres;
}

static int traced(lua_State *L) {
  const char *name = lua_tostring(L, lua_upvalueindex(2));
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_checkstack(L, 4, NULL);
  luaL_buffinit(L, &b);
  if (n >= 1)
    addvalue(&b, L, 1);
  luaL_addchar(&b, ':');
  luaL_addstring(&b, name);
  luaL_addchar(&b, '(');
  for (int i = 2; i <= n; i++) {
    if (i > 2)
      luaL_addstring(&b, ", ");
    addvalue(&b, L, i);
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  if (ishex(L) && sends(name) && lua_type(L, 2) == LUA_TSTRING) {
    size_t len;
    const char *p = lua_tolstring(L, 2, &len);
    fprintf(stderr, "lsock: %s sends %zu bytes\n", lua_tostring(L, -1), len);
    hexdump(p, len);
  }
  lua_insert(L, 1);                          /* text, self, args */
  lua_pushinteger(L, (lua_Integer)lsk_clock_now());
  lua_insert(L, 2);                          /* text, t0, self, args */
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 3);                          /* text, t0, fn, self, args */
  int status = lua_pcallk(L, n, LUA_MULTRET, 0, 0, traced_k);
  return traced_k(L, status, 0);
}

/* The socket methods table: the first upvalue of the metatable's
 * __index. Pushes it. */
static void pushmethods(lua_State *L) {
  luaL_getmetatable(L, LSOCK_SOCKET);
  lua_getfield(L, -1, "__index");
  lua_getupvalue(L, -1, 1);
  lua_replace(L, -3);
  lua_pop(L, 1);
}

void lsockL_settrace(lua_State *L, int on, int hex) {
  pushmethods(L);                             /* methods */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &savedkey);
  int tracing = !lua_isnil(L, -1);            /* methods, saved|nil */
  if (on && !tracing) {
    lua_pop(L, 1);
    lua_newtable(L);                          /* methods, saved */
    lua_pushnil(L);
    while (lua_next(L, -3)) {                 /* methods, saved, k, fn */
      lua_pushvalue(L, -2);
      lua_pushvalue(L, -2);
      lua_rawset(L, -5);                      /* saved[k] = fn */
      lua_pushvalue(L, -2);                   /* ..., k, fn, k */
      lua_pushcclosure(L, traced, 2);         /* ..., k, wrapper */
      lua_pushvalue(L, -2);
      lua_insert(L, -2);                      /* ..., k, k, wrapper */
      lua_rawset(L, -5);                      /* methods[k] = wrapper */
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, &savedkey);
  } else if (!on && tracing) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {                 /* methods, saved, k, fn */
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -5);                      /* methods[k] = saved[k] */
    }
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &savedkey);
  }
  lua_settop(L, lua_gettop(L) - (on && !tracing ? 1 : 2));
  lsockL_syncmethods(L);
  lua_pushboolean(L, on && hex);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &hexkey);
}

/* socket.trace(false | true | "hex") */
static int f_trace(lua_State *L) {
  int on, hex = 0;
  if (lua_type(L, 1) == LUA_TSTRING) {
    luaL_argcheck(L, strcmp(lua_tostring(L, 1), "hex") == 0, 1,
                  "expected false, true or \"hex\"");
    on = hex = 1;
  } else {
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    on = lua_toboolean(L, 1);
  }
  int top = lua_gettop(L);
  lsockL_settrace(L, on, hex);
  lua_settop(L, top);
  return 0;
}

void lsockL_opentrace(lua_State *L) {
  lua_pushcfunction(L, f_trace);
  lua_setfield(L, -2, "trace");
}
