/* bindings/l_select: Python's select module in the socket module:
 * socket.select (select.select over poll(2) and the event loop, so there
 * is no FD_SETSIZE limit and a task that selects suspends only itself)
 * and socket.epoll (select.epoll, whose poll waits the same way). */
#ifndef LSOCK_L_SELECT_H
#define LSOCK_L_SELECT_H

#include <lua.h>

#define LSOCK_EPOLL "lsock.epoll"

/* Registers the epoll metatable and puts select and epoll into the
 * module table at the top of the stack. */
void lsockL_openselect(lua_State *L);

#endif
