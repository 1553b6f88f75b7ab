/* bindings/l_netdb: the module functions of Python's socket module beyond
 * socket(): name services (getaddrinfo, gethostbyname, getservbyname, ...),
 * address conversions, byte order, socketpair, fromfd and has_ipv6. */
#ifndef LSOCK_L_NETDB_H
#define LSOCK_L_NETDB_H

#include <lua.h>

/* Registers these functions and the has_ipv6 field into the module table
 * at the top of the stack. The name services block, as Python's do. */
void lsockL_opennetdb(lua_State *L);

#endif
