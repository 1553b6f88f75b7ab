/* bench/c/ref.c: the C reference of the benchmark, the physical limit the
 * other implementations are compared with. Plain blocking sockets, one
 * system call per operation, and epoll for the concurrent echo server.
 *
 *   ref ROLE [ARGS...]
 *
 * Every server binds 127.0.0.1 port 0 and prints the port on the first line
 * of stdout; every client prints "RESULT <count> <seconds>" and checks what
 * it got back. The roles and their protocols are the same in
 * bench/impl/lsock.lua, bench/impl/python.py and bench/impl/luasocket.lua.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536
#define MSG 64
#define LINE 80

static void die(const char *what) {
  perror(what);
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long arg(int argc, char **argv, int i) {
  if (i >= argc) {
    fprintf(stderr, "ref: missing argument %d\n", i);
    exit(2);
  }
  return atoll(argv[i]);
}

static void nodelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
    die("setsockopt TCP_NODELAY");
}

/* A socket bound to 127.0.0.1 port 0 (listening if a stream); prints the
 * port on stdout. */
static int server_socket(int type, int backlog) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0)
    die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
    die("bind");
  if (type == SOCK_STREAM && listen(fd, backlog) < 0)
    die("listen");
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
    die("getsockname");
  printf("%d\n", ntohs(a.sin_port));
  fflush(stdout);
  return fd;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    die("socket");
  struct sockaddr_in a = loopback(port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
    die("connect");
  return fd;
}

static void sendall(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      die("send");
    }
    p += k;
    n -= (size_t)k;
  }
}

/* recv until n bytes have come; 0 at end of stream before the first. */
static size_t recv_exact(int fd, char *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = recv(fd, p + got, n - got, 0);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      die("recv");
    }
    if (k == 0) {
      if (got == 0)
        return 0;
      fprintf(stderr, "ref: end of stream inside a message\n");
      exit(1);
    }
    got += (size_t)k;
  }
  return got;
}

static void result(long long count, double secs) {
  printf("RESULT %lld %.9f\n", count, secs);
}

/* ---- bulk: the client sends `bytes` in 64 KiB sendall()s, shuts down its
 * side and waits for the server's byte count. */

static int bulk_server(void) {
  int ls = server_socket(SOCK_STREAM, 16);
  int c = accept(ls, NULL, NULL);
  if (c < 0)
    die("accept");
  static char buf[CHUNK];
  long long total = 0;
  for (;;) {
    ssize_t k = recv(c, buf, sizeof buf, 0);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      die("recv");
    }
    if (k == 0)
      break;
    total += k;
  }
  char ack[32];
  int n = snprintf(ack, sizeof ack, "%lld", total);
  sendall(c, ack, (size_t)n);
  close(c);
  close(ls);
  return 0;
}

static int bulk_client(int port, long long bytes) {
  static char buf[CHUNK];
  memset(buf, 'x', sizeof buf);
  int fd = connect_to(port);
  double t0 = now();
  for (long long left = bytes; left > 0; left -= CHUNK)
    sendall(fd, buf, left < CHUNK ? (size_t)left : CHUNK);
  shutdown(fd, SHUT_WR);
  char ack[32];
  size_t got = 0;
  ssize_t k;
  while ((k = recv(fd, ack + got, sizeof ack - 1 - got, 0)) > 0)
    got += (size_t)k;
  double t1 = now();
  ack[got] = 0;
  if (atoll(ack) != bytes) {
    fprintf(stderr, "ref: server got %s bytes, sent %lld\n", ack, bytes);
    return 1;
  }
  result(bytes, t1 - t0);
  close(fd);
  return 0;
}

/* ---- pingpong: 64-byte request, 64-byte reply, one at a time. */

static int pingpong_server(void) {
  int ls = server_socket(SOCK_STREAM, 16);
  int c = accept(ls, NULL, NULL);
  if (c < 0)
    die("accept");
  nodelay(c);
  char buf[MSG];
  while (recv_exact(c, buf, MSG))
    sendall(c, buf, MSG);
  close(c);
  close(ls);
  return 0;
}

static int pingpong_client(int port, long long n) {
  char buf[MSG];
  memset(buf, 'x', sizeof buf);
  int fd = connect_to(port);
  nodelay(fd);
  double t0 = now();
  for (long long i = 0; i < n; i++) {
    sendall(fd, buf, MSG);
    if (!recv_exact(fd, buf, MSG)) {
      fprintf(stderr, "ref: server closed early\n");
      return 1;
    }
  }
  double t1 = now();
  result(n, t1 - t0);
  close(fd);
  return 0;
}

/* ---- connrate: connect, send 1 byte, the server reads it and closes, the
 * client sees the end of stream and closes; then the next one. */

static int connrate_server(long long n) {
  int ls = server_socket(SOCK_STREAM, 128);
  char b;
  for (long long i = 0; i < n; i++) {
    int c = accept(ls, NULL, NULL);
    if (c < 0)
      die("accept");
    if (recv(c, &b, 1, 0) != 1)
      die("recv");
    close(c);
  }
  close(ls);
  return 0;
}

static int connrate_client(int port, long long n) {
  struct sockaddr_in a = loopback(port);
  char b = 'x';
  double t0 = now();
  for (long long i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
      die("connect");
    sendall(fd, &b, 1);
    if (recv(fd, &b, 1, 0) != 0) {
      fprintf(stderr, "ref: expected the end of stream\n");
      return 1;
    }
    close(fd);
  }
  double t1 = now();
  result(n, t1 - t0);
  return 0;
}

/* ---- udp: a 64-byte datagram, echoed before the next is sent; a shorter
 * datagram ("END") stops the server. No implementation sets a timeout (in
 * Python a timeout adds a poll before every call): the runner bounds every
 * run in time, so a lost datagram fails the run rather than hanging it. */

static int udp_server(void) {
  int fd = server_socket(SOCK_DGRAM, 0);
  char buf[MSG];
  for (;;) {
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t k = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      die("recvfrom");
    }
    if (k != MSG)
      break;
    if (sendto(fd, buf, (size_t)k, 0, (struct sockaddr *)&from, len) < 0)
      die("sendto");
  }
  close(fd);
  return 0;
}

static int udp_client(int port, long long n) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0)
    die("socket");
  struct sockaddr_in a = loopback(port);
  char buf[MSG];
  memset(buf, 'x', sizeof buf);
  double t0 = now();
  for (long long i = 0; i < n; i++) {
    if (sendto(fd, buf, MSG, 0, (struct sockaddr *)&a, sizeof a) != MSG)
      die("sendto");
    if (recv(fd, buf, sizeof buf, 0) != MSG)
      die("recv");
  }
  double t1 = now();
  sendto(fd, "END", 3, 0, (struct sockaddr *)&a, sizeof a);
  result(n, t1 - t0);
  close(fd);
  return 0;
}

/* ---- echo-server: the concurrent workload's server, epoll, level
 * triggered, non-blocking; runs until killed. A connection costs 16 bytes
 * of state: replies are read into one shared buffer and copied out only
 * when the socket cannot take them at once (never, with 64-byte messages). */

typedef struct Conn {
  int fd;
  unsigned len;  /* bytes of `rest` still to send back */
  char *rest;
} Conn;

static void drop(Conn *c) {
  close(c->fd); /* also leaves the epoll set */
  free(c->rest);
  free(c);
}

static int echo_server(void) {
  int ls = server_socket(SOCK_STREAM, 4096);
  if (fcntl(ls, F_SETFL, fcntl(ls, F_GETFL) | O_NONBLOCK) < 0)
    die("fcntl");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0)
    die("epoll_ctl");
  static char buf[4096];
  struct epoll_event evs[512];
  for (;;) {
    int n = epoll_wait(ep, evs, 512, -1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      Conn *c = evs[i].data.ptr;
      if (!c) {
        int fd;
        while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          nodelay(fd);
          c = calloc(1, sizeof *c);
          if (!c)
            die("calloc");
          c->fd = fd;
          struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
            die("epoll_ctl");
        }
        if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR)
          die("accept4");
        continue;
      }
      const char *p;
      size_t len;
      if (c->len) { /* writable again: the rest of a reply */
        p = c->rest;
        len = c->len;
      } else {
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
          continue;
        if (k <= 0) {
          drop(c);
          continue;
        }
        p = buf;
        len = (size_t)k;
      }
      ssize_t k = send(c->fd, p, len, MSG_NOSIGNAL);
      if (k < 0 && errno != EAGAIN && errno != EINTR) {
        drop(c);
        continue;
      }
      size_t left = len - (k > 0 ? (size_t)k : 0);
      int was = c->len > 0;
      if (left) {
        char *r = malloc(left);
        if (!r)
          die("malloc");
        memcpy(r, p + (len - left), left);
        free(c->rest);
        c->rest = r;
      } else {
        free(c->rest);
        c->rest = NULL;
      }
      c->len = (unsigned)left;
      /* Wait for room only while a reply is half sent. */
      if (was != (left > 0)) {
        struct epoll_event e = {.events = left ? EPOLLOUT : EPOLLIN,
                                .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
      }
    }
  }
  return 0;
}

/* ---- lines: the server sends `bytes` as 80-byte lines (79 characters and
 * a newline); the client reads them one by one through a buffered stream. */

static int lines_server(long long bytes) {
  int ls = server_socket(SOCK_STREAM, 16);
  int c = accept(ls, NULL, NULL);
  if (c < 0)
    die("accept");
  enum { PER = CHUNK / LINE };
  static char buf[PER * LINE];
  for (int i = 0; i < PER; i++) {
    memset(buf + i * LINE, 'a' + i % 26, LINE - 1);
    buf[i * LINE + LINE - 1] = '\n';
  }
  for (long long lines = bytes / LINE; lines > 0; lines -= PER)
    sendall(c, buf, (size_t)(lines < PER ? lines : PER) * LINE);
  close(c);
  close(ls);
  return 0;
}

static int lines_client(int port, long long bytes) {
  int fd = connect_to(port);
  double t0 = now();
  FILE *f = fdopen(fd, "r");
  if (!f)
    die("fdopen");
  char *line = NULL;
  size_t cap = 0;
  ssize_t k;
  long long lines = 0, total = 0;
  while ((k = getline(&line, &cap, f)) > 0) {
    lines++;
    total += k;
  }
  double t1 = now();
  if (lines != bytes / LINE || total != lines * LINE) {
    fprintf(stderr, "ref: got %lld lines, %lld bytes\n", lines, total);
    return 1;
  }
  result(total, t1 - t0);
  free(line);
  fclose(f);
  return 0;
}

/* ---- startup: what "load the socket module" is for C: nothing, then one
 * socket so the process has done some socket work. */

static int startup(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    die("socket");
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  const char *role = argc > 1 ? argv[1] : "";
  if (!strcmp(role, "bulk-server"))
    return bulk_server();
  if (!strcmp(role, "bulk-client"))
    return bulk_client((int)arg(argc, argv, 2), arg(argc, argv, 3));
  if (!strcmp(role, "pingpong-server"))
    return pingpong_server();
  if (!strcmp(role, "pingpong-client"))
    return pingpong_client((int)arg(argc, argv, 2), arg(argc, argv, 3));
  if (!strcmp(role, "connrate-server"))
    return connrate_server(arg(argc, argv, 2));
  if (!strcmp(role, "connrate-client"))
    return connrate_client((int)arg(argc, argv, 2), arg(argc, argv, 3));
  if (!strcmp(role, "udp-server"))
    return udp_server();
  if (!strcmp(role, "udp-client"))
    return udp_client((int)arg(argc, argv, 2), arg(argc, argv, 3));
  if (!strcmp(role, "echo-server"))
    return echo_server();
  if (!strcmp(role, "lines-server"))
    return lines_server(arg(argc, argv, 2));
  if (!strcmp(role, "lines-client"))
    return lines_client((int)arg(argc, argv, 2), arg(argc, argv, 3));
  if (!strcmp(role, "startup"))
    return startup();
  fprintf(stderr, "usage: ref ROLE [ARGS...] (see the top of ref.c)\n");
  return 2;
}
