/* core/tests/test_msg: sendmsg/recvmsg with SCM_RIGHTS (close-on-exec on
 * arrival, truncation), sendfile and its fallback signal, bare reads, and
 * the connection race (ordering, refused and stalled loopback addresses).
 * Loopback only. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "msg.h"
#include "race.h"
#include "wait.h"

static void pair(lsk_sock *a, lsk_sock *b) {
  ASSERT_OK(lsk_sock_pair(a, b, AF_UNIX, SOCK_STREAM, 0));
}

static int count_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++)
    if (fcntl(fd, F_GETFD) >= 0)
      n++;
  return n;
}

static void collect(int fd, void *ctx) {
  int *out = ctx;
  out[out[0] + 1] = fd;
  out[0]++;
}

static void test_rights(void) {
  lsk_sock a, b, x, y;
  pair(&a, &b);
  pair(&x, &y);
  int before = count_fds();
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(2 * sizeof(int))];
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  char data = 'r';
  struct iovec iov = {&data, 1};
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl.buf;
  m.msg_controllen = CMSG_SPACE(2 * sizeof(int));
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  int fds[2] = {x.fd, y.fd};
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  size_t n;
  ASSERT_OK(lsk_sock_sendmsg(&a, &m, 0, &n));
  ASSERT_EQ(n, 1);

  char got;
  struct iovec riov = {&got, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(2 * sizeof(int))];
  } rctl;
  memset(&rctl, 0, sizeof rctl);
  struct msghdr r;
  memset(&r, 0, sizeof r);
  r.msg_iov = &riov;
  r.msg_iovlen = 1;
  r.msg_control = rctl.buf;
  r.msg_controllen = sizeof rctl.buf;
  ASSERT_OK(lsk_sock_recvmsg(&b, &r, 0, &n));
  ASSERT_EQ(n, 1);
  ASSERT_EQ(got, 'r');
  ASSERT_EQ(r.msg_flags, 0); /* MSG_CMSG_CLOEXEC is not reported */
  int seen[4] = {0};
  lsk_msg_each_fd(&r, collect, seen);
  ASSERT_EQ(seen[0], 2);
  for (int i = 1; i <= 2; i++) {
    ASSERT(fcntl(seen[i], F_GETFD) & FD_CLOEXEC);
    ASSERT_OK(lsk_fd_close(seen[i]));
  }
  ASSERT_EQ(count_fds(), before);
  ASSERT_EQ(lsk_fd_close(seen[1]), EBADF);

  /* Room for one: MSG_CTRUNC, and the other is not left open. */
  ASSERT_OK(lsk_sock_sendmsg(&a, &m, 0, &n));
  r.msg_controllen = CMSG_LEN(sizeof(int));
  ASSERT_OK(lsk_sock_recvmsg(&b, &r, 0, &n));
  ASSERT(r.msg_flags & MSG_CTRUNC);
  seen[0] = 0;
  lsk_msg_each_fd(&r, collect, seen);
  ASSERT(seen[0] <= 1);
  for (int i = 1; i <= seen[0]; i++)
    lsk_fd_close(seen[i]);
  ASSERT_EQ(count_fds(), before);

  /* Nothing waiting: EAGAIN. */
  r.msg_controllen = sizeof rctl.buf;
  ASSERT_EQ(lsk_sock_recvmsg(&b, &r, 0, &n), EAGAIN);
  lsk_sock_close(&a);
  lsk_sock_close(&b);
  lsk_sock_close(&x);
  lsk_sock_close(&y);
}

static void test_cmsg_sizes(void) {
  ASSERT_EQ(lsk_msg_cmsg_len(4), CMSG_LEN(4));
  ASSERT_EQ(lsk_msg_cmsg_space(4), CMSG_SPACE(4));
  ASSERT_EQ(lsk_msg_cmsg_len((size_t)-1), 0);
  ASSERT_EQ(lsk_msg_cmsg_space((size_t)-1), 0);
}

static void test_sendfile(void) {
  char name[] = "/tmp/lsk_test_msg_XXXXXX";
  int fd = mkstemp(name);
  ASSERT(fd >= 0);
  unlink(name);
  ASSERT_EQ(write(fd, "0123456789", 10), 10);
  lsk_sock a, b;
  pair(&a, &b);
  off_t off = 2;
  size_t sent;
  ASSERT_OK(lsk_sock_sendfile(&a, fd, &off, 5, &sent));
  ASSERT_EQ(sent, 5);
  ASSERT_EQ(off, 7);
  char buf[16];
  size_t got;
  ASSERT_OK(lsk_sock_recv(&b, buf, sizeof buf, 0, &got, NULL));
  ASSERT_EQ(got, 5);
  ASSERT(memcmp(buf, "23456", 5) == 0);
  /* At the end: 0 bytes. */
  off = 10;
  ASSERT_OK(lsk_sock_sendfile(&a, fd, &off, 5, &sent));
  ASSERT_EQ(sent, 0);
  /* pread leaves the position alone; read uses it. */
  ASSERT_OK(lsk_fd_read(fd, buf, 3, 4, &got));
  ASSERT_EQ(got, 3);
  ASSERT(memcmp(buf, "456", 3) == 0);
  lseek(fd, 8, SEEK_SET);
  ASSERT_OK(lsk_fd_read(fd, buf, 16, -1, &got));
  ASSERT_EQ(got, 2);
  close(fd);

  /* A pipe is no file sendfile can read: ENOTSUP, the fallback signal. */
  int p[2];
  ASSERT_OK(pipe(p));
  ASSERT_EQ(write(p[1], "x", 1), 1);
  off = 0;
  ASSERT_EQ(lsk_sock_sendfile(&a, p[0], &off, 1, &sent), ENOTSUP);
  ASSERT_EQ(lsk_fd_read(p[0], buf, 1, 0, &got), ESPIPE);
  close(p[0]);
  close(p[1]);

  /* A peer that has gone: EPIPE, and the process lives (no SIGPIPE). */
  char name2[] = "/tmp/lsk_test_msg_XXXXXX";
  fd = mkstemp(name2);
  ASSERT(fd >= 0);
  unlink(name2);
  ASSERT_EQ(write(fd, "abc", 3), 3);
  lsk_sock_close(&b);
  off = 0;
  int err = lsk_sock_sendfile(&a, fd, &off, 3, &sent);
  ASSERT(err == EPIPE || err == ECONNRESET);
  close(fd);
  lsk_sock_close(&a);
}

static lsk_race *newrace(int n, double delay) {
  lsk_race *r = malloc(lsk_race_size(n));
  ASSERT(r);
  lsk_race_init(r, n, delay);
  return r;
}

static void set_try(lsk_race *r, int i, int family, const char *host,
                    int port) {
  ASSERT_OK(lsk_addr_inet(&r->tries[i].addr, family, host, port, 0, 0));
  r->tries[i].type = SOCK_STREAM;
}

static void test_interleave(void) {
  lsk_race *r = newrace(5, 0.25);
  set_try(r, 0, AF_INET6, "::1", 1);
  set_try(r, 1, AF_INET6, "::1", 2);
  set_try(r, 2, AF_INET6, "::1", 3);
  set_try(r, 3, AF_INET, "127.0.0.1", 4);
  set_try(r, 4, AF_INET, "127.0.0.1", 5);
  lsk_race_interleave(r);
  int want[5] = {1, 4, 2, 5, 3};
  for (int i = 0; i < 5; i++)
    ASSERT_EQ(lsk_addr_port(&r->tries[i].addr), want[i]);
  free(r);
}

/* Runs the race to its end, waiting with poll for the sockets in flight
 * or the next start; returns step's result. */
static int run(lsk_race *r, int *winner, lsk_deadline d) {
  for (;;) {
    int err = lsk_race_step(r, winner);
    if (err != EAGAIN)
      return err;
    if (lsk_deadline_expired(d)) {
      lsk_race_close(r, ETIMEDOUT);
      return ETIMEDOUT;
    }
    struct pollfd p[8];
    int k = 0;
    for (int i = 0; i < r->n; i++)
      if (r->tries[i].state == LSK_TRY_CONNECTING) {
        p[k].fd = r->tries[i].sock.fd;
        p[k].events = POLLOUT;
        k++;
      }
    lsk_deadline wake = lsk_race_wake(r);
    poll(p, (nfds_t)k, lsk_deadline_remaining_ms(wake < d ? wake : d));
  }
}

static int listener(int family, const char *host, int port, int backlog,
                    lsk_sock *l) {
  lsk_addr a;
  ASSERT_OK(lsk_sock_open(l, family, SOCK_STREAM, 0));
  ASSERT_OK(lsk_addr_inet(&a, family, host, port, 0, 0));
  int err = lsk_sock_bind(l, &a);
  if (err) {
    lsk_sock_close(l);
    return err;
  }
  ASSERT_OK(lsk_sock_listen(l, backlog));
  ASSERT_OK(lsk_sock_name(l, &a));
  return lsk_addr_port(&a);
}

static void test_race_refused_then_good(void) {
  lsk_sock good, probe;
  int port = listener(AF_INET, "127.0.0.1", 0, 8, &good);
  /* A port nothing listens on. */
  int dead = listener(AF_INET, "127.0.0.1", 0, 8, &probe);
  lsk_sock_close(&probe);
  lsk_race *r = newrace(2, 5.0);
  set_try(r, 0, AF_INET, "127.0.0.1", dead);
  set_try(r, 1, AF_INET, "127.0.0.1", port);
  int64_t t0 = lsk_clock_now();
  int winner = -1;
  ASSERT_OK(run(r, &winner, lsk_deadline_after(5)));
  /* The refusal started the next attempt at once, not after 5 s. */
  ASSERT(lsk_clock_now() - t0 < 2000000000LL);
  ASSERT_EQ(winner, 1);
  ASSERT_EQ(r->tries[0].state, LSK_TRY_FAILED);
  ASSERT_EQ(r->tries[0].err, ECONNREFUSED);
  lsk_sock s;
  lsk_race_take(r, winner, &s);
  ASSERT(s.fd >= 0);
  lsk_sock_close(&s);
  free(r);

  /* All refused: the first try's error. */
  r = newrace(2, 0.01);
  set_try(r, 0, AF_INET, "127.0.0.1", dead);
  set_try(r, 1, AF_INET, "127.0.0.1", dead);
  ASSERT_EQ(run(r, &winner, lsk_deadline_after(5)), ECONNREFUSED);
  free(r);
  lsk_sock_close(&good);
}

static void test_race_stalled(void) {
  lsk_sock good, bad, filler;
  int port = -1;
  for (int i = 0; i < 20 && port < 0; i++) {
    port = listener(AF_INET, "127.0.0.1", 0, 8, &good);
    if (listener(AF_INET6, "::1", port, 0, &bad) != port) {
      lsk_sock_close(&good);
      port = -1;
    }
  }
  if (port < 0) {
    printf("# skipped: no port free on both 127.0.0.1 and ::1\n");
    return;
  }
  /* Fill ::1's backlog: further SYNs go unanswered. */
  lsk_addr a;
  ASSERT_OK(lsk_addr_inet(&a, AF_INET6, "::1", port, 0, 0));
  ASSERT_OK(lsk_sock_open(&filler, AF_INET6, SOCK_STREAM, 0));
  int err = lsk_sock_connect_start(&filler, &a);
  ASSERT(err == 0 || err == EINPROGRESS);
  ASSERT_OK(lsk_wait(filler.fd, LSK_WANT_WRITE, lsk_deadline_after(5)));

  lsk_race *r = newrace(2, 0.1);
  set_try(r, 0, AF_INET6, "::1", port);
  set_try(r, 1, AF_INET, "127.0.0.1", port);
  int64_t t0 = lsk_clock_now();
  int winner = -1;
  ASSERT_OK(run(r, &winner, lsk_deadline_after(5)));
  int64_t dt = lsk_clock_now() - t0;
  ASSERT(dt >= 90000000LL && dt < 2000000000LL);
  ASSERT_EQ(winner, 1);
  ASSERT_EQ(r->tries[0].state, LSK_TRY_CONNECTING);
  lsk_sock s;
  lsk_race_take(r, winner, &s);
  ASSERT_EQ(r->tries[0].sock.fd, -1); /* the loser is closed */
  lsk_sock_close(&s);
  free(r);

  /* One at a time: the stalled attempt takes the whole deadline. */
  r = newrace(2, -1);
  set_try(r, 0, AF_INET6, "::1", port);
  set_try(r, 1, AF_INET, "127.0.0.1", port);
  ASSERT_EQ(run(r, &winner, lsk_deadline_after(0.3)), ETIMEDOUT);
  ASSERT_EQ(r->tries[0].state, LSK_TRY_FAILED);
  ASSERT_EQ(r->tries[0].err, ETIMEDOUT);
  ASSERT_EQ(r->tries[1].state, LSK_TRY_IDLE);
  free(r);
  lsk_sock_close(&filler);
  lsk_sock_close(&bad);
  lsk_sock_close(&good);
}

int main(void) {
  RUN(test_rights);
  RUN(test_cmsg_sizes);
  RUN(test_sendfile);
  RUN(test_interleave);
  RUN(test_race_refused_then_good);
  RUN(test_race_stalled);
  return 0;
}
