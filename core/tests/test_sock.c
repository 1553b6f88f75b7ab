/* core/tests/test_sock: the socket calls and the blocking engine on real
 * descriptors: EAGAIN, timeouts, EINTR (retried or interrupting), EPIPE
 * without SIGPIPE, connect outcomes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "../sock.h"
#include "../wait.h"
#include "check.h"

static void pair(lsk_sock *a, lsk_sock *b) {
  int sv[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  ASSERT_OK(lsk_sock_adopt(a, sv[0]));
  ASSERT_OK(lsk_sock_adopt(b, sv[1]));
  ASSERT_EQ(a->family, AF_UNIX);
  ASSERT_EQ(a->type, SOCK_STREAM);
}

struct recv_ctx {
  char buf[64];
  size_t got;
};

static int recv_op(const lsk_sock *s, void *p) {
  struct recv_ctx *c = p;
  return lsk_sock_recv(s, c->buf, sizeof c->buf, 0, &c->got, NULL);
}

static void open_close(void) {
  lsk_sock s;
  ASSERT_OK(lsk_sock_open(&s, AF_INET, SOCK_STREAM, 0));
  ASSERT(s.fd >= 0);
  /* Created close-on-exec, blocking unless asked, calls not blocking. */
  ASSERT(fcntl(s.fd, F_GETFD) & FD_CLOEXEC);
  ASSERT(!(fcntl(s.fd, F_GETFL) & O_NONBLOCK));
  ASSERT(!s.fdnb && !s.block);
  ASSERT_OK(lsk_sock_close(&s));
  ASSERT_OK(lsk_sock_open(&s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  ASSERT(fcntl(s.fd, F_GETFL) & O_NONBLOCK);
  ASSERT(s.fdnb);
  ASSERT_EQ(s.type, SOCK_STREAM);
  ASSERT_OK(lsk_sock_close(&s));
  ASSERT_EQ(s.fd, -1);
  ASSERT_OK(lsk_sock_close(&s)); /* idempotent */
  ASSERT_EQ(lsk_sock_open(&s, 12345, SOCK_STREAM, 0), EAFNOSUPPORT);
  ASSERT_EQ(s.fd, -1);
}

static void eagain_then_data(void) {
  lsk_sock a, b;
  struct recv_ctx c;
  size_t sent;
  pair(&a, &b);
  ASSERT_EQ(recv_op(&a, &c), EAGAIN);
  ASSERT_OK(lsk_sock_send(&b, "hi", 2, 0, &sent, NULL));
  ASSERT_EQ(sent, 2);
  ASSERT_OK(lsk_sock_call(&a, LSK_WANT_READ, recv_op, &c, LSK_NEVER));
  ASSERT_EQ(c.got, 2);
  lsk_sock_close(&b);
  ASSERT_OK(lsk_sock_call(&a, LSK_WANT_READ, recv_op, &c, LSK_NEVER));
  ASSERT_EQ(c.got, 0); /* end of stream */
  lsk_sock_close(&a);
}

static void timeout_is_kept(void) {
  lsk_sock a, b;
  struct recv_ctx c;
  pair(&a, &b);
  int64_t t0 = lsk_clock_now();
  ASSERT_EQ(lsk_sock_call(&a, LSK_WANT_READ, recv_op, &c,
                          lsk_deadline_after(0.05)),
            ETIMEDOUT);
  int64_t took = lsk_clock_now() - t0;
  ASSERT(took >= 50000000);
  ASSERT(took < 2000000000);
  lsk_sock_close(&a);
  lsk_sock_close(&b);
}

static volatile sig_atomic_t ticks;
static void on_alarm(int sig) {
  (void)sig;
  ticks++;
}

static void start_ticker(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; /* no SA_RESTART: every tick interrupts poll */
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 1000}, {0, 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void stop_ticker(void) {
  struct itimerval it = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
  signal(SIGALRM, SIG_DFL);
}

static void eintr_keeps_deadline(void) {
  lsk_sock a, b;
  struct recv_ctx c;
  pair(&a, &b);
  ticks = 0;
  start_ticker();
  int64_t t0 = lsk_clock_now();
  int err = lsk_sock_call(&a, LSK_WANT_READ, recv_op, &c,
                          lsk_deadline_after(0.2));
  int64_t took = lsk_clock_now() - t0;
  stop_ticker();
  ASSERT_EQ(err, ETIMEDOUT);
  ASSERT(ticks > 10);          /* the signals did interrupt */
  ASSERT(took >= 200000000);   /* not early */
  ASSERT(took < 2000000000);   /* nor restarted from scratch forever */
  lsk_sock_close(&a);
  lsk_sock_close(&b);
}

static void eintr_interrupts_when_asked(void) {
  lsk_sock a, b;
  struct recv_ctx c;
  pair(&a, &b);
  lsk_interrupted = 1;
  start_ticker();
  int err = lsk_sock_call(&a, LSK_WANT_READ, recv_op, &c, LSK_NEVER);
  stop_ticker();
  lsk_interrupted = 0;
  ASSERT_EQ(err, EINTR);
  lsk_sock_close(&a);
  lsk_sock_close(&b);
}

/* With an interrupt pending, a call that may block does not start: the
 * signal is gone, nothing would end it. Without `block` it is attempted. */
static void no_blocking_call_while_interrupted(void) {
  lsk_sock a, b, conn;
  lsk_addr peer;
  char buf[8];
  size_t n;
  pair(&a, &b);
  /* Were the recv started, the kernel would give up after 3 s (EAGAIN). */
  struct timeval tv = {3, 0};
  ASSERT_OK(lsk_sock_setopt(&a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  lsk_interrupted = 1;
  a.block = 1;
  ASSERT_EQ(lsk_sock_recv(&a, buf, sizeof buf, 0, &n, NULL), EINTR);
  ASSERT_EQ(lsk_sock_send(&a, "x", 1, 0, &n, NULL), EINTR);
  ASSERT_EQ(lsk_sock_accept(&a, &conn, &peer), EINTR);
  a.block = 0;
  ASSERT_EQ(lsk_sock_recv(&a, buf, sizeof buf, 0, &n, NULL), EAGAIN);
  ASSERT_OK(lsk_sock_send(&a, "x", 1, 0, &n, NULL));
  lsk_interrupted = 0;
  lsk_sock_close(&a);
  lsk_sock_close(&b);
}

static void epipe_not_sigpipe(void) {
  lsk_sock a, b;
  size_t sent;
  pair(&a, &b);
  lsk_sock_close(&b);
  /* Default SIGPIPE disposition: if MSG_NOSIGNAL were missing the test
   * process would die here. */
  signal(SIGPIPE, SIG_DFL);
  ASSERT_EQ(lsk_sock_send(&a, "x", 1, 0, &sent, NULL), EPIPE);
  lsk_sock_close(&a);
}

/* A blocking TCP listener on 127.0.0.1; *a its address. */
static void listener(lsk_sock *srv, lsk_addr *a) {
  ASSERT_OK(lsk_sock_open(srv, AF_INET, SOCK_STREAM, 0));
  ASSERT_OK(lsk_addr_inet(a, AF_INET, "127.0.0.1", 0, 0, 0));
  ASSERT_OK(lsk_sock_bind(srv, a));
  ASSERT_OK(lsk_sock_listen(srv, 8));
  ASSERT_OK(lsk_sock_name(srv, a));
}

static void connect_outcomes(void) {
  lsk_sock srv, cli, conn;
  lsk_addr a, peer;
  listener(&srv, &a);
  ASSERT_EQ(lsk_sock_accept(&srv, &conn, &peer), EAGAIN);
  ASSERT_OK(lsk_sock_open(&cli, AF_INET, SOCK_STREAM, 0));
  int err = lsk_sock_connect_start(&cli, &a);
  ASSERT(err == 0 || err == EINPROGRESS);
  ASSERT_OK(lsk_wait(cli.fd, LSK_WANT_WRITE, lsk_deadline_after(5)));
  ASSERT_OK(lsk_sock_connect_finish(&cli));
  ASSERT_OK(lsk_wait(srv.fd, LSK_WANT_READ, lsk_deadline_after(5)));
  ASSERT_OK(lsk_sock_accept(&srv, &conn, &peer));
  ASSERT(conn.fd >= 0);
  ASSERT_EQ(peer.u.sa.sa_family, AF_INET);
  lsk_sock_close(&conn);
  lsk_sock_close(&cli);
  /* The listener's port, once closed, refuses. */
  lsk_sock_close(&srv);
  ASSERT_OK(lsk_sock_open(&cli, AF_INET, SOCK_STREAM, 0));
  err = lsk_sock_connect_start(&cli, &a);
  if (err == EINPROGRESS) {
    ASSERT_OK(lsk_wait(cli.fd, LSK_WANT_WRITE, lsk_deadline_after(5)));
    err = lsk_sock_connect_finish(&cli);
  }
  ASSERT_EQ(err, ECONNREFUSED);
  lsk_sock_close(&cli);
}

/* A blocking descriptor still gets single attempts unless `block` is set;
 * accept and connect bring O_NONBLOCK in line with what the call wants. */
static void block_modes(void) {
  lsk_sock srv, cli, conn;
  lsk_addr a, peer;
  char buf[8];
  size_t n;
  listener(&srv, &a);
  ASSERT_EQ(lsk_sock_accept(&srv, &conn, &peer), EAGAIN);
  ASSERT(srv.fdnb && (fcntl(srv.fd, F_GETFL) & O_NONBLOCK));
  /* A blocking connect is done when it returns. */
  ASSERT_OK(lsk_sock_open(&cli, AF_INET, SOCK_STREAM, 0));
  cli.block = 1;
  ASSERT_OK(lsk_sock_connect_start(&cli, &a));
  ASSERT(!cli.fdnb && !(fcntl(cli.fd, F_GETFL) & O_NONBLOCK));
  srv.block = 1;
  ASSERT_OK(lsk_sock_accept(&srv, &conn, &peer));
  ASSERT(!srv.fdnb && !(fcntl(srv.fd, F_GETFL) & O_NONBLOCK));
  ASSERT(!conn.fdnb && !(fcntl(conn.fd, F_GETFL) & O_NONBLOCK));
  /* Single attempts on a blocking descriptor: MSG_DONTWAIT. */
  ASSERT_EQ(lsk_sock_recv(&conn, buf, sizeof buf, 0, &n, NULL), EAGAIN);
  ASSERT_OK(lsk_sock_send(&cli, "abc", 3, 0, &n, NULL));
  conn.block = 1;
  ASSERT_OK(lsk_sock_recv(&conn, buf, sizeof buf, 0, &n, NULL));
  ASSERT_EQ(n, 3);
  /* A non-blocking accept makes a non-blocking socket. */
  lsk_sock_close(&cli);
  lsk_sock_close(&conn);
  ASSERT_OK(lsk_sock_open(&cli, AF_INET, SOCK_STREAM, 0));
  cli.block = 1;
  ASSERT_OK(lsk_sock_connect_start(&cli, &a));
  srv.block = 0;
  ASSERT_OK(lsk_wait(srv.fd, LSK_WANT_READ, lsk_deadline_after(5)));
  ASSERT_OK(lsk_sock_accept(&srv, &conn, &peer));
  ASSERT(conn.fdnb && (fcntl(conn.fd, F_GETFL) & O_NONBLOCK));
  ASSERT_OK(lsk_sock_setnonblock(&conn, 0));
  ASSERT(!conn.fdnb && !(fcntl(conn.fd, F_GETFL) & O_NONBLOCK));
  lsk_sock_close(&conn);
  lsk_sock_close(&cli);
  lsk_sock_close(&srv);
}

static void adopt_refuses_non_socket(void) {
  int p[2];
  lsk_sock s;
  ASSERT_OK(pipe(p));
  ASSERT_EQ(lsk_sock_adopt(&s, p[0]), ENOTSOCK);
  close(p[0]);
  close(p[1]);
}

static void dup_shares_socket(void) {
  lsk_sock a, b, d;
  size_t sent;
  struct recv_ctx c;
  pair(&a, &b);
  ASSERT_OK(lsk_sock_setnonblock(&a, 0));
  ASSERT_OK(lsk_sock_dup(&a, &d));
  ASSERT(d.fd != a.fd);
  /* One open file: O_NONBLOCK, for both. */
  ASSERT(a.fdnb && d.fdnb && (fcntl(d.fd, F_GETFL) & O_NONBLOCK));
  lsk_sock_close(&a);
  ASSERT_OK(lsk_sock_send(&d, "x", 1, 0, &sent, NULL));
  ASSERT_OK(lsk_sock_call(&b, LSK_WANT_READ, recv_op, &c, LSK_NEVER));
  ASSERT_EQ(c.got, 1);
  lsk_sock_close(&d);
  lsk_sock_close(&b);
}

int main(void) {
  RUN(open_close);
  RUN(eagain_then_data);
  RUN(timeout_is_kept);
  RUN(eintr_keeps_deadline);
  RUN(eintr_interrupts_when_asked);
  RUN(no_blocking_call_while_interrupted);
  RUN(epipe_not_sigpipe);
  RUN(connect_outcomes);
  RUN(block_modes);
  RUN(adopt_refuses_non_socket);
  RUN(dup_shares_socket);
  return 0;
}
