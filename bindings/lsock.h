/* lsock.h: the public header of lsock, a Lua 5.4 socket library.
 * luaopen_lsock opens the module for require "lsock". */
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

#endif
