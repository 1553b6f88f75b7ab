/* bindings/l_ctx: the per-state context (see l_ctx.h). */
#include "l_ctx.h"

#include <lauxlib.h>

static const char ctxkey = 0; /* registry: the context userdata */

lsockL_Ctx *lsockL_ctx(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &ctxkey);
  lsockL_Ctx *c = (lsockL_Ctx *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (c)
    return c;
  c = (lsockL_Ctx *)lua_newuserdatauv(L, sizeof *c, 0);
  c->deftimeout = -1;
  c->open = 0;
  c->sched = NULL;
  c->policy = NULL;
  c->metaref = c->kindsref = LUA_NOREF;
  lua_rawsetp(L, LUA_REGISTRYINDEX, &ctxkey);
  /* The slot exists from now on, so that filling it later cannot fail
   * (it holds "0.0.0.0", the text of v4 = 0). */
  lua_pushliteral(L, "0.0.0.0");
  c->v4 = 0;
  c->v4ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return c;
}
