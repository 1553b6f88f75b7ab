/* core/tests/test_pair: lsk_sock_pair and lsk_sock_fromfd, the core of
 * socket.socketpair and socket.fromfd; and lsk_ready. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "../sock.h"
#include "../wait.h"
#include "check.h"

static int cloexec(int fd) {
  return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

static int nonblocking(int fd) {
  return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}

static void pair_talks(void) {
  lsk_sock a, b;
  char buf[8];
  size_t n;
  ASSERT_OK(lsk_sock_pair(&a, &b, AF_UNIX, SOCK_STREAM, 0));
  ASSERT(a.fd >= 0 && b.fd >= 0 && a.fd != b.fd);
  ASSERT_EQ(a.family, AF_UNIX);
  ASSERT_EQ(b.type, SOCK_STREAM);
  ASSERT(cloexec(a.fd) && cloexec(b.fd));
  ASSERT(!nonblocking(a.fd) && !nonblocking(b.fd));
  ASSERT_OK(lsk_sock_send(&a, "ping", 4, 0, &n, NULL));
  ASSERT_EQ(n, 4);
  ASSERT_OK(lsk_sock_recv(&b, buf, sizeof buf, 0, &n, NULL));
  ASSERT_EQ(n, 4);
  ASSERT(memcmp(buf, "ping", 4) == 0);
  ASSERT_EQ(lsk_sock_recv(&b, buf, sizeof buf, 0, &n, NULL), EAGAIN);
  ASSERT_OK(lsk_sock_close(&a));
  ASSERT_OK(lsk_sock_close(&b));
  ASSERT_OK(lsk_sock_pair(&a, &b, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0));
  ASSERT_EQ(b.type, SOCK_DGRAM);
  ASSERT(nonblocking(a.fd) && nonblocking(b.fd) && a.fdnb && b.fdnb);
  lsk_sock_close(&a);
  lsk_sock_close(&b);
}

static void pair_fails(void) {
  lsk_sock a, b;
  /* Linux has no AF_INET pairs. */
  ASSERT_EQ(lsk_sock_pair(&a, &b, AF_INET, SOCK_STREAM, 0), EOPNOTSUPP);
  ASSERT_EQ(a.fd, -1);
  ASSERT_EQ(b.fd, -1);
}

static void fromfd_dups(void) {
  lsk_sock a, b, c;
  size_t n;
  char buf[4];
  ASSERT_OK(lsk_sock_pair(&a, &b, AF_UNIX, SOCK_DGRAM, 0));
  ASSERT_OK(lsk_sock_fromfd(&c, a.fd));
  ASSERT(c.fd >= 0 && c.fd != a.fd);
  ASSERT_EQ(c.family, AF_UNIX);
  ASSERT_EQ(c.type, SOCK_DGRAM);
  ASSERT(cloexec(c.fd));
  /* The copy is the same socket; the original stays open and usable. */
  ASSERT_OK(lsk_sock_send(&c, "x", 1, 0, &n, NULL));
  ASSERT_OK(lsk_sock_close(&c));
  ASSERT(fcntl(a.fd, F_GETFD) >= 0);
  ASSERT_OK(lsk_sock_recv(&b, buf, sizeof buf, 0, &n, NULL));
  ASSERT_EQ(n, 1);
  lsk_sock_close(&a);
  lsk_sock_close(&b);
}

static void fromfd_fails(void) {
  lsk_sock s;
  int p[2];
  ASSERT_EQ(lsk_sock_fromfd(&s, -1), EBADF);
  ASSERT_EQ(s.fd, -1);
  ASSERT_OK(pipe(p));
  int before = dup(p[0]);
  close(before);
  /* Not a socket: the duplicate is closed again, so the lowest free
   * descriptor is the same as before. */
  ASSERT_EQ(lsk_sock_fromfd(&s, p[0]), ENOTSOCK);
  ASSERT_EQ(s.fd, -1);
  int after = dup(p[0]);
  ASSERT_EQ(after, before);
  close(after);
  close(p[0]);
  close(p[1]);
}

/* lsk_ready: a look at readiness that never waits. */
static void ready_now(void) {
  int p[2];
  ASSERT(pipe(p) == 0);
  ASSERT_EQ(lsk_ready(p[0], LSK_WANT_READ), 0);
  ASSERT_EQ(lsk_ready(p[1], LSK_WANT_WRITE), 1);
  ASSERT(write(p[1], "x", 1) == 1);
  ASSERT_EQ(lsk_ready(p[0], LSK_WANT_READ), 1);
  close(p[1]);
  char c;
  ASSERT(read(p[0], &c, 1) == 1);
  ASSERT_EQ(lsk_ready(p[0], LSK_WANT_READ), 1); /* the hang-up */
  close(p[0]);
}

int main(void) {
  RUN(pair_talks);
  RUN(pair_fails);
  RUN(fromfd_dups);
  RUN(fromfd_fails);
  RUN(ready_now);
  return 0;
}
