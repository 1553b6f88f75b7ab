/* bindings/l_error: lsock error objects. An error is a table with kind,
 * errno, name, message, op (and address when one is involved), sharing
 * one metatable that the module exports as socket.error. */
#include "l_error.h"

#include <errno.h>
#include <lauxlib.h>

#include "../core/err.h"

static const char *kind_of(int err) {
  if (lsk_err_is_eai(err))
    return "gaierror";
  if (lsk_err_is_herr(err))
    return "herror";
  if (err == ETIMEDOUT)
    return "timeout";
  return "error";
}

void lsockL_pusherror(lua_State *L, int err, const char *op,
                      const char *where) {
  char msg[256];
  const char *name = lsk_err_name(err);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, kind_of(err));
  lua_setfield(L, -2, "kind");
  lua_pushinteger(L, lsk_err_is_eai(err)    ? lsk_err_eai(err)
                    : lsk_err_is_herr(err) ? lsk_err_herr(err)
                                           : err);
  lua_setfield(L, -2, "errno");
  lua_pushstring(L, name ? name : "EUNKNOWN");
  lua_setfield(L, -2, "name");
  lua_pushstring(L, lsk_err_message(err, msg, sizeof msg));
  lua_setfield(L, -2, "message");
  lua_pushstring(L, op);
  lua_setfield(L, -2, "op");
  if (where) {
    lua_pushstring(L, where);
    lua_setfield(L, -2, "address");
  }
  luaL_setmetatable(L, LSOCK_ERROR);
}

int lsockL_error(lua_State *L, int err, const char *op, const char *where) {
  lsockL_pusherror(L, err, op, where);
  return lua_error(L);
}

/* "op[ address]: [NAME] message". A field a script has replaced with a
 * non-string shows as "?" rather than making tostring raise. */
static int mm_tostring(lua_State *L) {
  luaL_Buffer b;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_buffinit(L, &b);
  static const char *const parts[] = {"op", "address", "name", "message"};
  for (int i = 0; i < 4; i++) {
    lua_getfield(L, 1, parts[i]);
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      if (i == 1)
        continue;
      lua_pushliteral(L, "?");
    }
    const char *pre = i == 1 ? " " : i == 2 ? ": [" : i == 3 ? "] " : "";
    luaL_addstring(&b, pre);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  return 1;
}

void lsockL_openerror(lua_State *L) {
  luaL_newmetatable(L, LSOCK_ERROR);  /* module, mt */
  lua_pushcfunction(L, mm_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_setfield(L, -2, "error");  /* module.error = mt */
}
