/* bindings/l_socket: the socket userdata ("lsock.socket") and its methods.
 * Shared with the other binding files: the struct, self checks, creation,
 * deadlines and the wait that every would-block path goes through. */
#ifndef LSOCK_L_SOCKET_H
#define LSOCK_L_SOCKET_H

#include <lua.h>
#include <stdint.h>

#include "../core/clock.h"
#include "../core/sock.h"
#include "l_ctx.h"

#define LSOCK_SOCKET "lsock.socket"

typedef struct lsockL_Socket {
  const void *mark; /* l_socket.c's private mark: what makes it a socket */
  lsk_sock s;     /* s.fd is the descriptor, -1 once really closed */
  double timeout; /* as Python stores it: -1 blocking, 0 non-blocking, >0 s */
  int closed;     /* closed by the script; the fd may live on for files */
  int nfiles;     /* open makefile objects that still use s.fd */
  lsockL_Ctx *ctx; /* the state's context (l_ctx.h) */
  int counted;    /* counts in ctx->open (until its descriptor goes) */
  int shared;     /* its open file may have other descriptors (dup,
                     fromfd): it stays O_NONBLOCK, for their sake */
} lsockL_Socket;

/* Argument i as a socket, open or not, or NULL when it is something
 * else. */
lsockL_Socket *lsockL_testsock(lua_State *L, int i);

/* Self (or argument i) as a socket, open or not; a non-socket raises an
 * argument error. */
lsockL_Socket *lsockL_tosock(lua_State *L, int i);

/* Raises an EBADF error object (op named) when the script has closed s. */
void lsockL_checkalive(lua_State *L, const lsockL_Socket *s, const char *op);

/* Argument i as an open socket: raises an EBADF error object (op named) when
 * the script has closed it. */
lsockL_Socket *lsockL_checkopen(lua_State *L, int i, const char *op);

/* Pushes a new socket userdata, created closed (fd -1) so that a failure at
 * any later step leaves an object safe to collect, with the module's
 * default timeout. The caller fills in s. */
lsockL_Socket *lsockL_newsock(lua_State *L);

/* The socket at stack index i has its descriptor in s: it counts as open
 * from now on, and takes the metatable of its family, type and proto
 * (whose methods are found without a call to C). */
void lsockL_opened(lua_State *L, int i);

/* The methods table has changed (socket.trace wraps its functions): the
 * kinds' __index tables take its entries again. */
void lsockL_syncmethods(lua_State *L);

/* A file object holding the descriptor lets go of it: when it was the last
 * holder and the script has closed the socket, the descriptor closes
 * (tasks waiting on it wake with EBADF). Safe from __gc. */
void lsockL_release(lua_State *L, lsockL_Socket *s);

/* Sets s->s.block for the system calls of the operation at hand and
 * returns it: 1 when the call may block in the kernel (one system call,
 * as C and Python make), which is when the socket has no timeout, its
 * open file is its own and nothing else could run meanwhile (no task
 * alive, not in one); 0 otherwise, when each attempt returns EAGAIN and
 * the wait goes through lsockL_wait. Call it before every attempt. In
 * the first case it also clears the descriptor's O_NONBLOCK if set. */
int lsockL_direct(lua_State *L, lsockL_Socket *s);

/* The O_NONBLOCK flag for a descriptor about to be made for s (or-ed into
 * its type): set unless its calls are likely to block in the kernel, so a
 * socket of a task server or with a timeout is made ready for them. */
int lsockL_newflags(lua_State *L, const lsockL_Socket *s);

/* The deadline for one operation starting now, from the socket's timeout. */
lsk_deadline lsockL_deadline(const lsockL_Socket *s);

/* The would-block path of every operation: waits until the socket is
 * ready for events (LSK_WANT_READ / LSK_WANT_WRITE) or d passes, through
 * lsockL_waitfd (l_task.h): inside a task it yields and Lua resumes at
 * k(L, LUA_YIELD, ctx); outside it returns 0 when the caller should try
 * again, ETIMEDOUT, or another errno. A non-blocking socket (timeout 0)
 * gets EAGAIN back at once. k may be NULL for a caller that cannot
 * resume: a task then waits without yielding, running the other tasks. */
int lsockL_wait(lua_State *L, const lsockL_Socket *s, int events,
                lsk_deadline d, lua_KFunction k, lua_KContext ctx);

/* The continuation protocol of the socket methods (l_socket.c's shape,
 * shared by l_msg.c): an operation's deadline lives in a stack slot as an
 * integer, LSOCK_DEADLINE_UNSET until the first wait takes it, so that an
 * operation that succeeds at once never reads the clock and the deadline
 * survives a task's yield. */
#define LSOCK_DEADLINE_UNSET INT64_MIN

/* The deadline in stack slot `slot`, taken now if unset. */
lsk_deadline lsockL_slotdeadline(lua_State *L, const lsockL_Socket *s,
                                 int slot);

/* lsockL_wait with the deadline in `slot` (passed to k as its ctx). */
int lsockL_waitk(lua_State *L, const lsockL_Socket *s, int events, int slot,
                 lua_KFunction k);

/* Raises the error object for a failed operation on a socket (`a`, if
 * not NULL, is the address shown); EINTR with an interrupt pending
 * becomes "interrupted!". Never returns. */
int lsockL_fail(lua_State *L, int err, const char *op, const lsk_addr *a);

/* The start of every continuation: self (argument 1) still open (a close
 * while a task waited raises EBADF), the stack cut to `top` slots, and
 * *err the outcome of the wait that ended (0 when status is not
 * LUA_YIELD). The entry function must have checked self: slot 1 of a C
 * function's frame stays what it was, so it is not checked again. */
lsockL_Socket *lsockL_resumek(lua_State *L, int status, int top,
                              const char *op, int *err);

/* The module's default timeout for new sockets (-1 for none). */
double lsockL_getdefault(lua_State *L);
void lsockL_setdefault(lua_State *L, double t);

/* Registers the socket metatable and pushes the socket() constructor
 * functions into the module table at the top of the stack. */
void lsockL_opensocket(lua_State *L);

#endif
