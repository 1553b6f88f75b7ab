/* bindings/l_policy: a state's network policy (lsock_setpolicy in
 * lsock.h): which families, addresses and ports scripts may use, and how
 * many sockets they may hold. A refused call raises a "policy" error. */
#ifndef LSOCK_L_POLICY_H
#define LSOCK_L_POLICY_H

#include <lua.h>

#include "../core/addr.h"
#include "l_ctx.h"
#include "lsock.h"

/* Each check takes the state's context, c (l_ctx.h), which holds the
 * policy. */

/* Raises a "policy" error when the state's policy refuses `family`. */
void lsockL_policy_family(lua_State *L, const lsockL_Ctx *c, int family,
                          const char *op);

/* Raises a "policy" error when the policy refuses binding to, connecting
 * to or sending to `a` (its family, address and port). */
void lsockL_policy_addr(lua_State *L, const lsockL_Ctx *c, const lsk_addr *a,
                        const char *op);

/* Raises a "policy" error when `open` sockets already reach the limit. */
void lsockL_policy_count(lua_State *L, const lsockL_Ctx *c, int open,
                         const char *op);

/* Sets or clears the policy (lsock_setpolicy's work). Returns 0 or
 * EINVAL. */
int lsockL_setpolicy(lua_State *L, const lsock_policy *p);

#endif
