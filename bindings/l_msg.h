/* bindings/l_msg: the socket methods sendmsg, recvmsg and sendfile, and
 * the module functions around them: CMSG_LEN, CMSG_SPACE, send_fds,
 * recv_fds, close(fd), and the multicast request builders mreq/mreq6. */
#ifndef LSOCK_L_MSG_H
#define LSOCK_L_MSG_H

#include <lua.h>

/* s:sendmsg(buffers [, ancdata [, flags [, addr...]]]) -> bytes sent.
 * May wait (yielding in a task) as send does. */
int lsockL_sendmsg(lua_State *L);

/* s:recvmsg(bufsize [, ancbufsize [, flags]])
 *   -> data, ancdata, msg_flags, addr...
 * ancdata is an array of {level, type, data}. Received descriptors are
 * close-on-exec and the caller's; they are closed if the call fails before
 * returning them. May wait (yielding in a task) as recv does. */
int lsockL_recvmsg(lua_State *L);

/* s:sendfile(file [, offset [, count]]) -> bytes sent: `file` is a Lua io
 * file handle. May wait (yielding in a task) as sendall does. */
int lsockL_sendfile(lua_State *L);

/* Puts CMSG_LEN, CMSG_SPACE, send_fds, recv_fds, close, mreq and mreq6
 * into the module table at the top of the stack. */
void lsockL_openmsg(lua_State *L);

#endif
