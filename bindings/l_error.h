/* bindings/l_error: lsock error objects ("lsock.error", exported as
 * socket.error). Every OS, timeout and resolver failure becomes one through
 * lsockL_error. */
#ifndef LSOCK_L_ERROR_H
#define LSOCK_L_ERROR_H

#include <lua.h>

#define LSOCK_ERROR "lsock.error"

/* Raises an error object for core code `err` (an errno, ETIMEDOUT for a
 * timeout, an LSK_EAI() or LSK_HERR() code) from operation `op`; `where`
 * (may be NULL) is the address involved, shown in tostring. Never returns. */
int lsockL_error(lua_State *L, int err, const char *op, const char *where);

/* Pushes a new error object without raising it. */
void lsockL_pusherror(lua_State *L, int err, const char *op,
                      const char *where);

/* Creates the metatable and stores it in the module table at the top of
 * the stack as `error`. */
void lsockL_openerror(lua_State *L);

#endif
