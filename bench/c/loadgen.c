/* bench/c/loadgen.c: the one load generator of the concurrent workload,
 * shared by every implementation's echo server.
 *
 *   loadgen PORT CONNS ROUNDS [TIMEOUT_S]
 *
 * Opens CONNS connections to 127.0.0.1:PORT (at most 256 connects in
 * flight, so the server's accept queue never overflows into SYN retries),
 * and on each does one untimed round trip of 64 bytes, so that when the
 * clock starts the server has accepted and holds every connection. Then,
 * timed: every connection does ROUNDS round trips of 64 bytes, all of them
 * at once, each waiting for its reply before sending the next request.
 * Between the two it prints "READY" and reads one line from stdin (end of
 * file does as well), so that a runner can sample the server's CPU time
 * just around the timed part. Prints "RESULT <round trips> <seconds>".
 * Any error, an early end of stream or TIMEOUT_S seconds (default 600) in
 * all make it exit 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define INFLIGHT 256

enum { CONNECTING, WARMUP, IDLE, RUNNING, DONE };

typedef struct Conn {
  int fd, state, got, rounds;
} Conn;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static char msg[MSG];
static int ep;
static struct sockaddr_in addr;

static void start_connect(Conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0)
    die("loadgen: socket");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 &&
      errno != EINPROGRESS)
    die("loadgen: connect");
  c->state = CONNECTING;
  struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) < 0)
    die("loadgen: epoll_ctl");
}

/* A fresh request always fits the socket's empty send buffer. */
static void request(Conn *c) {
  if (send(c->fd, msg, MSG, MSG_NOSIGNAL) != MSG)
    die("loadgen: send");
  c->got = 0;
}

/* Reads what has come; 1 when a whole reply is in. */
static int reply(Conn *c) {
  char buf[MSG];
  ssize_t k = recv(c->fd, buf, MSG - c->got, 0);
  if (k < 0) {
    if (errno == EAGAIN || errno == EINTR)
      return 0;
    die("loadgen: recv");
  }
  if (k == 0) {
    fprintf(stderr, "loadgen: the server closed a connection\n");
    exit(1);
  }
  c->got += (int)k;
  return c->got == MSG;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: loadgen PORT CONNS ROUNDS [TIMEOUT_S]\n");
    return 2;
  }
  int port = atoi(argv[1]), nconn = atoi(argv[2]), rounds = atoi(argv[3]);
  double limit = argc > 4 ? atof(argv[4]) : 600;
  memset(msg, 'x', sizeof msg);
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t)nconn + 16) {
    fprintf(stderr, "loadgen: RLIMIT_NOFILE %lu is too low for %d connections\n",
            (unsigned long)rl.rlim_cur, nconn);
    return 1;
  }
  Conn *conns = calloc((size_t)nconn, sizeof *conns);
  if (!conns)
    die("loadgen: calloc");
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    die("loadgen: epoll_create1");

  struct epoll_event evs[1024];
  double deadline = now() + limit;
  /* Connect everything, with one round trip each. */
  int started = 0, ready = 0;
  while (ready < nconn) {
    while (started < nconn && started - ready < INFLIGHT)
      start_connect(&conns[started++]);
    int n = epoll_wait(ep, evs, 1024, 1000);
    if (n < 0 && errno != EINTR)
      die("loadgen: epoll_wait");
    if (now() > deadline) {
      fprintf(stderr, "loadgen: timed out connecting (%d of %d ready)\n",
              ready, nconn);
      return 1;
    }
    for (int i = 0; i < n; i++) {
      Conn *c = evs[i].data.ptr;
      if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
          errno = err;
          die("loadgen: connect");
        }
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        c->state = WARMUP;
        request(c);
      } else if (c->state == WARMUP && reply(c)) {
        c->state = IDLE;
        ready++;
      }
    }
  }

  printf("READY\n");
  fflush(stdout);
  char go[16];
  if (!fgets(go, sizeof go, stdin) && ferror(stdin))
    die("loadgen: stdin");

  /* The timed part: every connection at once. */
  double t0 = now();
  for (int i = 0; i < nconn; i++) {
    conns[i].state = RUNNING;
    conns[i].rounds = rounds;
    request(&conns[i]);
  }
  int done = 0;
  while (done < nconn) {
    int n = epoll_wait(ep, evs, 1024, 1000);
    if (n < 0 && errno != EINTR)
      die("loadgen: epoll_wait");
    if (now() > deadline) {
      fprintf(stderr, "loadgen: timed out (%d of %d connections done)\n", done,
              nconn);
      return 1;
    }
    for (int i = 0; i < n; i++) {
      Conn *c = evs[i].data.ptr;
      if (c->state != RUNNING || !reply(c))
        continue;
      if (--c->rounds > 0)
        request(c);
      else {
        c->state = DONE;
        done++;
      }
    }
  }
  double t1 = now();
  printf("RESULT %lld %.9f\n", (long long)nconn * rounds, t1 - t0);
  fflush(stdout);
  for (int i = 0; i < nconn; i++)
    close(conns[i].fd);
  free(conns);
  return 0;
}
