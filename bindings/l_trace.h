/* bindings/l_trace: socket.trace(false | true | "hex"): one line on stderr
 * per socket method call (socket, call, arguments, result or error, bytes,
 * time), with a hex dump of the data in "hex" mode. Tracing swaps the
 * socket's method table entries for wrappers, so it costs nothing off. */
#ifndef LSOCK_L_TRACE_H
#define LSOCK_L_TRACE_H

#include <lua.h>

/* Puts trace into the module table at the top of the stack. Call after
 * the socket metatable exists. */
void lsockL_opentrace(lua_State *L);

/* Turns tracing on (hex: with dumps) or off; for lsock --trace. */
void lsockL_settrace(lua_State *L, int on, int hex);

#endif
