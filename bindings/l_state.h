/* bindings/l_state: new Lua states for the interpreter and the host API,
 * on core/pool's allocator, with the panic and warning functions that
 * luaL_newstate would have installed. */
#ifndef LSOCK_L_STATE_H
#define LSOCK_L_STATE_H

#include <lua.h>

/* A new state, or NULL when memory ran out. Its blocks come from a pool of
 * its own, which lua_close frees with the state's last block; under
 * AddressSanitizer, or with LSOCK_POOL=0 in the environment (for valgrind,
 * which cannot see inside the pool's chunks), from malloc instead. The
 * panic function prints "PANIC: unprotected error in call to Lua API
 * (msg)" to stderr; warnings start off, "@on" and "@off" switch them, and
 * each is printed to stderr as "Lua warning: " and its pieces. Only the
 * state's own thread may use it, as with any state. */
lua_State *lsockL_newstate(void);

#endif
