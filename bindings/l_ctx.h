/* bindings/l_ctx: the module's data for one Lua state, shared by its main
 * thread and every coroutine: the default timeout, the count of open
 * sockets, the scheduler and the network policy. It is kept in the
 * registry, and every socket also holds a pointer to it: a method reaches
 * it in one step instead of a registry look-up by light userdata, which
 * cost about 140 instructions each, several times per call. */
#ifndef LSOCK_L_CTX_H
#define LSOCK_L_CTX_H

#include <lua.h>
#include <stdint.h>

struct Sched;
struct Policy;

typedef struct lsockL_Ctx {
  double deftimeout;           /* socket.setdefaulttimeout: -1 blocking */
  int open;                    /* sockets that hold a descriptor */
  struct Sched *sched;         /* l_task.c's, set once by lsockL_opentask */
  const struct Policy *policy; /* l_policy.c's; NULL: everything allowed */
  /* l_socket.c's tables, as references in the registry's array part: an
   * integer key is found faster than a light userdata one. */
  int metaref;  /* the generic socket metatable */
  int kindsref; /* kind -> metatable */
  /* The text of the IPv4 address last returned (lsockL_pushaddr), kept in
   * the registry at v4ref: a server's peers (accept, recvfrom) are mostly
   * the same few hosts, and formatting and interning the text was a
   * twentieth of a udp echo server's instructions. */
  uint32_t v4;
  int v4ref;
} lsockL_Ctx;

/* The state's context, made at the first call (by luaopen_lsock, or by a
 * host's lsock_setpolicy before it) and then kept for the state's life:
 * opening the module again reuses it, so sockets made before still point
 * at the live one. */
lsockL_Ctx *lsockL_ctx(lua_State *L);

#endif
