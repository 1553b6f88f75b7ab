/* bindings/l_host: the host API of lsock.h: states with lsock loaded,
 * running chunks with a traceback, driving the loop from a host's own
 * loop, and the network policy. */
#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "l_policy.h"
#include "l_state.h"
#include "l_task.h"
#include "lsock.h"

/* Message handler: the error as text (through __tostring for lsock error
 * objects) with the traceback. Never raises. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)",
                            luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Runs the function on top (with no arguments) under msghandler. */
static int docall(lua_State *L, int nres) {
  int base = lua_gettop(L);
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, 0, nres, base);
  lua_remove(L, base);
  return status;
}

static int openall(lua_State *L) {
  int global = (int)lua_tointeger(L, 1);
  luaL_openlibs(L);
  luaL_requiref(L, "lsock", luaopen_lsock, global);
  if (global) {
    lua_pushvalue(L, -1);
    lua_setglobal(L, "socket");
  }
  return 0;
}

LSOCK_API lua_State *lsock_newstate(int flags) {
  lua_State *L = lsockL_newstate();
  if (!L)
    return NULL;
  lua_pushcfunction(L, openall);
  lua_pushinteger(L, flags & LSOCK_GLOBAL);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  return L;
}

LSOCK_API int lsock_dofile(lua_State *L, const char *path) {
  int status = luaL_loadfile(L, path);
  return status == LUA_OK ? docall(L, 0) : status;
}

LSOCK_API int lsock_dostring(lua_State *L, const char *chunk,
                             const char *name) {
  int status = luaL_loadbuffer(L, chunk, strlen(chunk), name ? name : chunk);
  return status == LUA_OK ? docall(L, 0) : status;
}

LSOCK_API int lsock_step(lua_State *L) {
  lua_pushcfunction(L, lsockL_turn);
  if (docall(L, 1) != LUA_OK)
    return -1;
  int alive = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return alive;
}

LSOCK_API int lsock_fd(lua_State *L) {
  return lsockL_loopfd(L);
}

LSOCK_API int lsock_timeout(lua_State *L) {
  return lsockL_looptimeout(L);
}

LSOCK_API int lsock_run(lua_State *L) {
  lua_pushcfunction(L, lsockL_run);
  return docall(L, 0);
}

LSOCK_API void lsock_close(lua_State *L) {
  if (L)
    lua_close(L);
}

LSOCK_API int lsock_setpolicy(lua_State *L, const lsock_policy *p) {
  return lsockL_setpolicy(L, p);
}
