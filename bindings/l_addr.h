/* bindings/l_addr: socket addresses between Lua values and lsk_addr.
 * An address is passed as trailing arguments and returned as trailing
 * results: host, port [, flowinfo, scope_id] or a Unix path. */
#ifndef LSOCK_L_ADDR_H
#define LSOCK_L_ADDR_H

#include <lua.h>

#include "../core/addr.h"
#include "../core/loop.h"
#include "l_ctx.h"

/* Reads the address of `family` starting at argument `first` into a.
 * Argument errors for wrong types or ranges; resolver and path failures
 * raise error objects from `op`. Returns the index after the address. */
int lsockL_checkaddr(lua_State *L, int first, int family, lsk_addr *a,
                     const char *op);

/* A name lookup to run on a worker thread (a job of the loop). */
typedef struct lsockL_Lookup {
  lsk_job job; /* first: the loop sees a job */
  lsk_addr addr;
  int err;
  int family, port;
  uint32_t flow, scope;
  char where[LSK_ADDR_TEXT_MAX]; /* "host:port", for errors */
  char host[];
} lsockL_Lookup;

/* lsockL_checkaddr, except that a host name is not looked up: *lookup
 * then receives a job (malloc'd; run it with lsockL_waitjob, then read
 * addr and err and free it, unless the wait gave up on it) and `a` is not
 * filled. *lookup is NULL when `a` is complete. */
int lsockL_checkaddrk(lua_State *L, int first, int family, lsk_addr *a,
                      const char *op, lsockL_Lookup **lookup);

/* Pushes the address as results; returns how many (2 for AF_INET, 4 for
 * AF_INET6, 1 for AF_UNIX, "" for an unnamed Unix peer). With the state's
 * context c (or NULL) an IPv4 host repeated from the last call is pushed
 * without being formatted again. */
int lsockL_pushaddr(lua_State *L, lsockL_Ctx *c, const lsk_addr *a);

#endif
