/* bindings/l_select: socket.select, Python's select.select over poll(2)
 * and the event loop, so there is no FD_SETSIZE limit and a task that
 * selects suspends only itself. */
#ifndef LSOCK_L_SELECT_H
#define LSOCK_L_SELECT_H

#include <lua.h>

/* Puts select into the module table at the top of the stack. */
void lsockL_openselect(lua_State *L);

#endif
