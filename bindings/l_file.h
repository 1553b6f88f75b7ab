/* bindings/l_file: the file object of s:makefile() ("lsock.file").
 * A buffered stream over a socket with the methods of Lua's io file
 * handles (read, write, lines, flush, close, setvbuf, seek); all I/O goes
 * through core/sock and waits through lsockL_wait. */
#ifndef LSOCK_L_FILE_H
#define LSOCK_L_FILE_H

#include <lua.h>

#define LSOCK_FILE "lsock.file"

/* The method s:makefile([mode [, buffering]]), self at index 1. Returns one
 * new file object. mode is "r" (default), "w", "rw" or "r+", with any
 * number of "b" ignored; buffering is Python's: nil or -1 for full
 * buffering with an 8192-byte buffer, 0 for none, 1 for line buffering,
 * n > 1 for full buffering with an n-byte buffer. Raises an EBADF error
 * object when s is closed and argument errors for a bad mode or buffering.
 *
 * The file keeps the socket userdata alive (in its user value) and counts
 * itself in s->nfiles until it is closed or collected, so the descriptor
 * stays open after s:close() until the last file lets go of it
 * (lsockL_release). Its buffers are malloc'd and owned by the file.
 *
 * Reads and writes honour the socket's timeout, with one deadline per call,
 * and may block (through lsockL_wait); OS failures and timeouts raise error
 * objects with op "read", "write", "flush" or "close". A read consumes
 * buffered bytes only once all its formats have their answers, so a read
 * that raises (a timeout, a would-block on a non-blocking socket) loses no
 * data: the next read sees the same bytes. A write or flush that times out
 * or would block keeps every byte it was given but could not send, in
 * order, in the write buffer: flush or close sends them later (writing them
 * again would duplicate them). Other send failures (EPIPE, ECONNRESET)
 * drop the buffered bytes, which can never be delivered. */
int lsockL_makefile(lua_State *L);

/* Creates the "lsock.file" metatable with the file methods, as liolib's
 * createmeta does; leaves the stack as it was. Called once from
 * luaopen_lsock. */
void lsockL_openfile(lua_State *L);

#endif
