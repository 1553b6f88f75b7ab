/* core/sock: the socket system calls, one attempt each (see sock.h). */
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "wait.h"

/* type may carry SOCK_NONBLOCK, which says how the descriptor was made. */
static int fill(lsk_sock *s, int fd, int family, int type, int proto) {
  s->fd = fd;
  s->family = family;
  s->type = type & ~SOCK_NONBLOCK;
  s->proto = proto;
  s->block = 0;
  s->fdnb = (type & SOCK_NONBLOCK) != 0;
  return 0;
}

int lsk_sock_open(lsk_sock *s, int family, int type, int proto) {
  s->fd = -1;
  int fd = socket(family, type | SOCK_CLOEXEC, proto);
  if (fd < 0)
    return errno;
  return fill(s, fd, family, type, proto);
}

int lsk_sock_setnonblock(lsk_sock *s, int on) {
  on = on != 0;
  if (s->fdnb == on)
    return 0;
  int fl = fcntl(s->fd, F_GETFL);
  if (fl < 0 ||
      fcntl(s->fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0)
    return errno;
  s->fdnb = (unsigned char)on;
  return 0;
}

/* For the calls without a per-call flag: the descriptor's O_NONBLOCK as
 * the call wants it. */
static int sync_mode(lsk_sock *s) {
  return lsk_sock_setnonblock(s, !s->block);
}

static int readopt(int fd, int name, int *v) {
  socklen_t len = sizeof *v;
  return getsockopt(fd, SOL_SOCKET, name, v, &len) < 0 ? errno : 0;
}

int lsk_sock_adopt(lsk_sock *s, int fd) {
  int family, type, proto, err;
  if ((err = readopt(fd, SO_DOMAIN, &family)) ||
      (err = readopt(fd, SO_TYPE, &type)) ||
      (err = readopt(fd, SO_PROTOCOL, &proto)))
    return err;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
    return errno;
  return fill(s, fd, family, type | SOCK_NONBLOCK, proto);
}

int lsk_sock_pair(lsk_sock *a, lsk_sock *b, int family, int type,
                  int proto) {
  int fds[2];
  a->fd = b->fd = -1;
  if (socketpair(family, type | SOCK_CLOEXEC, proto, fds) < 0)
    return errno;
  fill(a, fds[0], family, type, proto);
  return fill(b, fds[1], family, type, proto);
}

int lsk_sock_fromfd(lsk_sock *s, int fd) {
  s->fd = -1;
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0)
    return errno;
  int err = lsk_sock_adopt(s, copy);
  if (err) {
    close(copy);
    s->fd = -1;
  }
  return err;
}

int lsk_sock_close(lsk_sock *s) {
  int fd = s->fd;
  if (fd < 0)
    return 0;
  s->fd = -1;
  /* Never retry close on EINTR: on Linux the descriptor is already gone
   * and the number may belong to someone else by now. */
  if (close(fd) < 0 && errno != EINTR && errno != ECONNRESET)
    return errno;
  return 0;
}

int lsk_sock_dup(lsk_sock *s, lsk_sock *out) {
  out->fd = -1;
  int err = lsk_sock_setnonblock(s, 1);
  if (err)
    return err;
  int fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    return errno;
  *out = *s;
  out->fd = fd;
  out->block = 0;
  return 0;
}

int lsk_sock_bind(const lsk_sock *s, const lsk_addr *a) {
  return bind(s->fd, &a->u.sa, a->len) < 0 ? errno : 0;
}

int lsk_sock_listen(const lsk_sock *s, int backlog) {
  return listen(s->fd, backlog) < 0 ? errno : 0;
}

int lsk_sock_shutdown(const lsk_sock *s, int how) {
  return shutdown(s->fd, how) < 0 ? errno : 0;
}

int lsk_sock_accept(lsk_sock *s, lsk_sock *conn, lsk_addr *peer) {
  int fd, err;
  conn->fd = -1;
  if ((err = sync_mode(s)) != 0)
    return err;
  if (LSK_INTERRUPT_PENDING(s->block))
    return EINTR;
  int nb = s->block ? 0 : SOCK_NONBLOCK;
  peer->len = sizeof peer->u;
  LSK_RETRY_EINTR(
      accept4(s->fd, &peer->u.sa, &peer->len, SOCK_CLOEXEC | nb), fd);
  if (fd < 0)
    return lsk_would_block(errno) ? EAGAIN : errno;
  return fill(conn, fd, s->family, s->type | nb, s->proto);
}

int lsk_sock_connect_start(lsk_sock *s, const lsk_addr *a) {
  int err = sync_mode(s);
  if (err)
    return err;
  if (LSK_INTERRUPT_PENDING(s->block))
    return EINTR;
  if (connect(s->fd, &a->u.sa, a->len) == 0)
    return 0;
  err = errno;
  /* An interrupted connect goes on in the background on Linux: wait for
   * it like a non-blocking one (what CPython does too), unless the host
   * asked for interrupts to stop the call. A Unix socket whose listener's
   * backlog is full says EAGAIN: it can be retried. */
  if (err == EINTR)
    return lsk_interrupted ? EINTR : EINPROGRESS;
  return err;
}

int lsk_sock_connect_finish(const lsk_sock *s) {
  int err;
  int rc = readopt(s->fd, SO_ERROR, &err);
  return rc ? rc : err;
}

int lsk_sock_recv(const lsk_sock *s, void *buf, size_t len, int flags,
                  size_t *got, lsk_addr *from) {
  ssize_t n;
  if (LSK_INTERRUPT_PENDING(s->block))
    return EINTR;
  if (!s->block)
    flags |= MSG_DONTWAIT;
  if (from) {
    /* An unnamed sender leaves the address untouched with length 0. */
    from->u.sa.sa_family = AF_UNSPEC;
    from->len = sizeof from->u;
    LSK_RETRY_EINTR(
        recvfrom(s->fd, buf, len, flags, &from->u.sa, &from->len), n);
  } else {
    LSK_RETRY_EINTR(recv(s->fd, buf, len, flags), n);
  }
  if (n < 0)
    return lsk_would_block(errno) ? EAGAIN : errno;
  *got = (size_t)n;
  return 0;
}

int lsk_sock_send(const lsk_sock *s, const void *buf, size_t len, int flags,
                  size_t *sent, const lsk_addr *to) {
  ssize_t n;
  /* MSG_NOSIGNAL: a peer that has gone gives EPIPE, not a SIGPIPE that
   * would kill the process (and the host embedding us). */
  flags |= MSG_NOSIGNAL;
  if (LSK_INTERRUPT_PENDING(s->block))
    return EINTR;
  if (!s->block)
    flags |= MSG_DONTWAIT;
  if (to)
    LSK_RETRY_EINTR(sendto(s->fd, buf, len, flags, &to->u.sa, to->len), n);
  else
    LSK_RETRY_EINTR(send(s->fd, buf, len, flags), n);
  if (n < 0)
    return lsk_would_block(errno) ? EAGAIN : errno;
  *sent = (size_t)n;
  return 0;
}

int lsk_sock_name(const lsk_sock *s, lsk_addr *a) {
  a->len = sizeof a->u;
  return getsockname(s->fd, &a->u.sa, &a->len) < 0 ? errno : 0;
}

int lsk_sock_peer(const lsk_sock *s, lsk_addr *a) {
  a->len = sizeof a->u;
  return getpeername(s->fd, &a->u.sa, &a->len) < 0 ? errno : 0;
}

int lsk_sock_setopt(const lsk_sock *s, int level, int name, const void *v,
                    socklen_t len) {
  return setsockopt(s->fd, level, name, v, len) < 0 ? errno : 0;
}

int lsk_sock_getopt(const lsk_sock *s, int level, int name, void *v,
                    socklen_t *len) {
  return getsockopt(s->fd, level, name, v, len) < 0 ? errno : 0;
}

int lsk_sock_pending(const lsk_sock *s, size_t *n) {
  int v = 0;
  if (ioctl(s->fd, FIONREAD, &v) < 0)
    return errno;
  *n = v < 0 ? 0 : (size_t)v;
  return 0;
}

int lsk_sock_call(const lsk_sock *s, int events, lsk_sock_op op, void *ctx,
                  lsk_deadline d) {
  for (;;) {
    int err = op(s, ctx);
    if (err != EAGAIN)
      return err;
    /* A descriptor can poll ready and still say EAGAIN (another reader won
     * the race, or a spurious wake-up): that just means wait again. */
    if ((err = lsk_wait(s->fd, events, d)) != 0)
      return err;
  }
}
