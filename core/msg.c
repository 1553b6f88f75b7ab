/* core/msg: sendmsg, recvmsg, sendfile and bare descriptors (see msg.h). */
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

#include "wait.h"

int lsk_sock_sendmsg(const lsk_sock *s, const struct msghdr *m, int flags,
                     size_t *sent) {
  ssize_t n;
  if (LSK_INTERRUPT_PENDING(s->block))
    return EINTR;
  if (!s->block)
    flags |= MSG_DONTWAIT;
  LSK_RETRY_EINTR(sendmsg(s->fd, m, flags | MSG_NOSIGNAL), n);
  if (n < 0)
    return lsk_would_block(errno) ? EAGAIN : errno;
  *sent = (size_t)n;
  return 0;
}

void lsk_msg_each_fd(const struct msghdr *m, void (*fn)(int fd, void *ctx),
                     void *ctx) {
  if (!m->msg_control || m->msg_controllen < sizeof(struct cmsghdr))
    return;
  /* CMSG_NXTHDR reads through a non-const msghdr. */
  struct msghdr copy = *m;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&copy); c;
       c = CMSG_NXTHDR(&copy, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len < CMSG_LEN(0))
      continue;
    /* A truncated message (MSG_CTRUNC) may claim more than arrived. */
    const unsigned char *p = CMSG_DATA(c);
    const unsigned char *end =
        (const unsigned char *)m->msg_control + m->msg_controllen;
    size_t len = c->cmsg_len - CMSG_LEN(0);
    if (p > end)
      continue;
    if (len > (size_t)(end - p))
      len = (size_t)(end - p);
    size_t n = len / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, p + i * sizeof fd, sizeof fd);
      fn(fd, ctx);
    }
  }
}

static void set_cloexec(int fd, void *ctx) {
  (void)ctx;
  fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int lsk_sock_recvmsg(const lsk_sock *s, struct msghdr *m, int flags,
                     size_t *got) {
  ssize_t n;
  socklen_t namelen = m->msg_namelen;
  size_t ctllen = m->msg_controllen;
  if (LSK_INTERRUPT_PENDING(s->block)) {
    m->msg_controllen = 0; /* as for any failure: nothing received */
    return EINTR;
  }
  if (!s->block)
    flags |= MSG_DONTWAIT;
  do {
    m->msg_namelen = namelen;
    m->msg_controllen = ctllen;
    n = recvmsg(s->fd, m, flags | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR && !lsk_interrupted);
  if (n < 0) {
    m->msg_controllen = 0;
    return lsk_would_block(errno) ? EAGAIN : errno;
  }
  /* MSG_CMSG_CLOEXEC should have done it; where the kernel ignored the
   * flag this closes the window only for later execs, which is all a
   * single-threaded caller can see. */
  lsk_msg_each_fd(m, set_cloexec, NULL);
  /* Linux echoes MSG_CMSG_CLOEXEC in msg_flags: not the caller's news. */
  if (!(flags & MSG_CMSG_CLOEXEC))
    m->msg_flags &= ~MSG_CMSG_CLOEXEC;
  *got = (size_t)n;
  return 0;
}

size_t lsk_msg_cmsg_len(size_t len) {
  if (len > (size_t)INT_MAX - CMSG_SPACE(0))
    return 0;
  return CMSG_LEN(len);
}

size_t lsk_msg_cmsg_space(size_t len) {
  if (len > (size_t)INT_MAX - CMSG_SPACE(0) - sizeof(long))
    return 0;
  return CMSG_SPACE(len);
}

/* sendfile(2) has no MSG_NOSIGNAL: SIGPIPE is blocked in this thread for
 * the call, and one it raised is taken off the pending set before the
 * mask is restored (unless one was already pending, which stays). */
int lsk_sock_sendfile(lsk_sock *s, int infd, off_t *offset,
                      size_t count, size_t *sent) {
  sigset_t pipe, old, pending;
  ssize_t n;
  int err = lsk_sock_setnonblock(s, !s->block), was_pending;
  if (err)
    return err;
  if (LSK_INTERRUPT_PENDING(s->block))
    return EINTR;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, &old);
  sigpending(&pending);
  was_pending = sigismember(&pending, SIGPIPE);
  LSK_RETRY_EINTR(sendfile(s->fd, infd, offset, count), n);
  if (n < 0)
    err = errno;
  if (err == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
      ;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (n >= 0) {
    *sent = (size_t)n;
    return 0;
  }
  if (lsk_would_block(err))
    return EAGAIN;
  /* EINVAL/ENOSYS: an input sendfile cannot mmap (a pipe, a socket, a
   * tty); ESPIPE on some kernels for the same. */
  if (err == EINVAL || err == ENOSYS || err == ESPIPE || err == EOPNOTSUPP)
    return ENOTSUP;
  return err;
}

int lsk_fd_read(int fd, void *buf, size_t len, off_t offset, size_t *got) {
  ssize_t n;
  if (offset >= 0)
    LSK_RETRY_EINTR(pread(fd, buf, len, offset), n);
  else
    LSK_RETRY_EINTR(read(fd, buf, len), n);
  if (n < 0)
    return lsk_would_block(errno) ? EAGAIN : errno;
  *got = (size_t)n;
  return 0;
}

int lsk_fd_close(int fd) {
  if (close(fd) < 0 && errno != EINTR && errno != ECONNRESET)
    return errno;
  return 0;
}
