/* bindings/l_create: the module's socket constructors beyond socket():
 * create_connection (racing addresses as RFC 8305 describes, through
 * core/race) and create_server, plus has_dualstack_ipv6. */
#ifndef LSOCK_L_CREATE_H
#define LSOCK_L_CREATE_H

#include <lua.h>

/* Puts create_connection, create_server and has_dualstack_ipv6 into the
 * module table at the top of the stack. create_connection may wait: it
 * yields inside a task and runs the loop outside, as connect does. */
void lsockL_opencreate(lua_State *L);

#endif
