/* core/sock: the socket object and its system calls.
 * Every descriptor is created close-on-exec. Each call here makes one
 * attempt that never blocks (EAGAIN means "wait and retry": a wait with a
 * deadline, core/wait, or an event loop), unless the caller set `block`:
 * then the call blocks in the kernel until it is done, one system call as
 * in C. The caller chooses per call; the descriptor's O_NONBLOCK flag is
 * brought in line only by the calls that have no per-call flag (accept,
 * connect, sendfile); recv and send use MSG_DONTWAIT instead. */
#ifndef LSK_SOCK_H
#define LSK_SOCK_H

#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "clock.h"

typedef struct lsk_sock {
  int fd; /* -1 when closed */
  int family;
  int type;
  int proto;
  /* The caller's choice for the next calls: 1 lets them block in the
   * kernel, 0 (as every function here leaves a new socket) makes each a
   * single attempt. */
  unsigned char block;
  unsigned char fdnb; /* O_NONBLOCK is set on the descriptor */
} lsk_sock;

/* Creates a socket, with O_NONBLOCK if SOCK_NONBLOCK is or-ed into type.
 * Returns 0 or errno (EAFNOSUPPORT, EPROTONOSUPPORT,
 * EPERM for SOCK_RAW without privilege, EMFILE, ...). On failure s->fd is
 * -1. */
int lsk_sock_open(lsk_sock *s, int family, int type, int proto);

/* Adopts `fd` (which the caller hands over): makes it close-on-exec and
 * O_NONBLOCK (it may share its open file with others, so no call changes
 * that afterwards unless the caller sets `block`) and reads its family, type and protocol. Returns 0 or errno
 * (ENOTSOCK); on failure the caller still owns fd. */
int lsk_sock_adopt(lsk_sock *s, int fd);

/* A connected pair of sockets (socketpair(2)), both close-on-exec, with
 * O_NONBLOCK if SOCK_NONBLOCK is or-ed into type. Returns 0 or errno (EOPNOTSUPP for a family without pairs,
 * such as AF_INET; EMFILE, ...); on failure both fds are -1. */
int lsk_sock_pair(lsk_sock *a, lsk_sock *b, int family, int type, int proto);

/* A socket on a duplicate of `fd`, which stays the caller's (Python's
 * fromfd): the copy is close-on-exec, and the open file both share becomes
 * non-blocking. Family, type and protocol are the kernel's. Returns 0 or
 * errno (EBADF, ENOTSOCK, EMFILE); on failure s->fd is -1. */
int lsk_sock_fromfd(lsk_sock *s, int fd);

/* Closes the descriptor; s->fd is -1 before close(2) runs, so nothing can
 * use the number again. Idempotent. Returns 0 or close's errno, except
 * ECONNRESET and EINTR, which mean the descriptor is gone all the same. */
int lsk_sock_close(lsk_sock *s);

/* A new descriptor for the same socket, close-on-exec. The two share one
 * open file, O_NONBLOCK included: it is set on it here. Returns 0 or
 * errno. */
int lsk_sock_dup(lsk_sock *s, lsk_sock *out);

/* Sets or clears O_NONBLOCK on the descriptor if fdnb says it differs.
 * Returns 0 or errno. */
int lsk_sock_setnonblock(lsk_sock *s, int on);

int lsk_sock_bind(const lsk_sock *s, const lsk_addr *a);
int lsk_sock_listen(const lsk_sock *s, int backlog);
int lsk_sock_shutdown(const lsk_sock *s, int how);

/* One accept4 attempt. On success `conn` holds the new socket (O_NONBLOCK
 * unless s->block) and `peer` its address. Returns 0, EAGAIN, or errno. */
int lsk_sock_accept(lsk_sock *s, lsk_sock *conn, lsk_addr *peer);

/* Starts a connect. Returns 0 (connected), EINPROGRESS (wait for writing,
 * then call lsk_sock_connect_finish), or errno. With s->block set it
 * returns when the connection is made or failed, or with EINTR when a
 * signal interrupted it and lsk_interrupted is set (a signal otherwise
 * gives EINPROGRESS: the connect goes on in the background). */
int lsk_sock_connect_start(lsk_sock *s, const lsk_addr *a);

/* The outcome of a connect in progress, from SO_ERROR: 0 when connected,
 * EINPROGRESS/EALREADY when still pending, or the failure's errno. */
int lsk_sock_connect_finish(const lsk_sock *s);

/* One recv/recvfrom attempt: 0 with *got set (0 at end of stream), EAGAIN,
 * or errno. `from` may be NULL. */
int lsk_sock_recv(const lsk_sock *s, void *buf, size_t len, int flags,
                  size_t *got, lsk_addr *from);

/* One send/sendto attempt, never raising SIGPIPE (EPIPE instead): 0 with
 * *sent set, EAGAIN, or errno. `to` may be NULL. */
int lsk_sock_send(const lsk_sock *s, const void *buf, size_t len, int flags,
                  size_t *sent, const lsk_addr *to);

int lsk_sock_name(const lsk_sock *s, lsk_addr *a);
int lsk_sock_peer(const lsk_sock *s, lsk_addr *a);

int lsk_sock_setopt(const lsk_sock *s, int level, int name, const void *v,
                    socklen_t len);
int lsk_sock_getopt(const lsk_sock *s, int level, int name, void *v,
                    socklen_t *len);

/* Bytes waiting to be read (FIONREAD): for a datagram socket, the size of
 * the next datagram. Returns 0 or errno. */
int lsk_sock_pending(const lsk_sock *s, size_t *n);

/* The blocking engine for C callers: runs op(s, ctx) until it returns
 * something other than EAGAIN, waiting for `events` in between, until `d`.
 * Returns op's result or ETIMEDOUT/EINTR from the wait. */
typedef int (*lsk_sock_op)(const lsk_sock *s, void *ctx);
int lsk_sock_call(const lsk_sock *s, int events, lsk_sock_op op, void *ctx,
                  lsk_deadline d);

#endif
