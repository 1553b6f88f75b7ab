/* bindings/l_addr: socket addresses between Lua values and lsk_addr.
 * An address is passed as trailing arguments and returned as trailing
 * results: host, port [, flowinfo, scope_id] or a Unix path. */
#ifndef LSOCK_L_ADDR_H
#define LSOCK_L_ADDR_H

#include <lua.h>

#include "../core/addr.h"

/* Reads the address of `family` starting at argument `first` into a.
 * Argument errors for wrong types or ranges; resolver and path failures
 * raise error objects from `op`. Returns the index after the address. */
int lsockL_checkaddr(lua_State *L, int first, int family, lsk_addr *a,
                     const char *op);

/* Pushes the address as results; returns how many (2 for AF_INET, 4 for
 * AF_INET6, 1 for AF_UNIX, "" for an unnamed Unix peer). */
int lsockL_pushaddr(lua_State *L, const lsk_addr *a);

#endif
