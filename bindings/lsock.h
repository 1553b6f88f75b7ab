/* lsock.h: the public header of lsock, a Lua 5.4 socket library whose
 * socket object follows Python's socket module.
 *
 * Two ways in: luaopen_lsock for require "lsock" (or luaL_requiref), and a
 * small host API that opens a state with lsock loaded, runs scripts with a
 * traceback on error, drives lsock's event loop from the host's own loop,
 * and restricts what scripts may do on the network. Every function here
 * takes a state made by lsock_newstate (or any state where luaopen_lsock
 * ran) and is called from the host's thread that owns it. */
#ifndef LSOCK_H
#define LSOCK_H

#include <lua.h>

#if defined(__GNUC__)
#define LSOCK_API __attribute__((visibility("default")))
#else
#define LSOCK_API
#endif

#define LSOCK_VERSION "0.1.0"

/* Opens the module and returns it (one result), for require "lsock" or
 * luaL_requiref. */
LSOCK_API int luaopen_lsock(lua_State *L);

/* lsock_newstate's flags. */
#define LSOCK_GLOBAL 1 /* also set the global `socket` to the module */

/* A new state with Lua's standard libraries and lsock loaded (require
 * "lsock" gives it). NULL when out of memory. Close it with lsock_close
 * (or lua_close). Its memory comes from an allocator of lsock's own, made
 * for the small blocks Lua uses most; the state must not be given another
 * with lua_setallocf. Warnings start off, as with luaL_newstate. */
LSOCK_API lua_State *lsock_newstate(int flags);

/* Runs a file (NULL: stdin) or a string as a chunk. Returns LUA_OK, or an
 * error status with the message and traceback as a string on the top of
 * the stack (pop it when done). Tasks the chunk spawned are not run: see
 * lsock_step and lsock_run. */
LSOCK_API int lsock_dofile(lua_State *L, const char *path);
LSOCK_API int lsock_dostring(lua_State *L, const char *chunk,
                             const char *name);

/* Driving the event loop from a host's loop: lsock_step runs every task
 * that can run now, without blocking, and returns how many tasks are left
 * (0: none), or -1 with an error string on the stack when a task failed
 * and nobody joined it. Call it again when lsock_fd polls readable or
 * lsock_timeout milliseconds have passed (-1: only on readability; 0: at
 * once). lsock_fd never changes for a state; the host may add it to its
 * own epoll/poll/select/libuv loop. */
LSOCK_API int lsock_step(lua_State *L);
LSOCK_API int lsock_fd(lua_State *L);
LSOCK_API int lsock_timeout(lua_State *L);

/* Runs the loop until no task is left, blocking: LUA_OK, or an error
 * status with the message on the stack. */
LSOCK_API int lsock_run(lua_State *L);

/* Closes the state: sockets close, the loop stops. */
LSOCK_API void lsock_close(lua_State *L);

/* A network policy, for hosts that run scripts they did not write. A call
 * that breaks it raises an lsock error of kind "policy" naming the rule,
 * and nothing reaches the network. Zero fields mean "no restriction". */
typedef struct lsock_policy {
  unsigned families;        /* bit (1u << AF_x) per family allowed */
  const char *const *allow; /* NULL-ended list of "address[/prefix]" that
                               sockets may bind or send or connect to
                               (IPv4 or IPv6); NULL: any address */
  int port_min, port_max;   /* the ports they may bind or connect to */
  int max_sockets;          /* sockets open at once in this state */
} lsock_policy;

/* Sets (or with NULL clears) the state's policy; it applies to calls made
 * from then on. Returns 0, or EINVAL for an address that does not parse
 * or a bad range. The policy is copied. */
LSOCK_API int lsock_setpolicy(lua_State *L, const lsock_policy *p);

#endif
