/* fuzz/fuzz_addr: a libFuzzer harness for core/addr, the parsing and
 * formatting of socket addresses (built with -DLSOCK_FUZZ=ON and clang).
 * The first input byte picks a case; the rest is the text or the raw
 * address:
 *   0  lsk_addr_unix on the bytes; path and text read back;
 *   1  lsk_addr_literal (AF_INET) on the text, port from 2 bytes;
 *   2  the same for AF_INET6, with flowinfo and scope_id;
 *   3  lsk_addr_format and lsk_addr_path on raw address bytes, as the
 *      kernel may hand them back from accept or recvfrom.
 * Names are never resolved (lsk_addr_literal only). Each case checks what
 * the header promises; a broken promise aborts. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "fuzz_addr: %s:%d: %s\n", __FILE__, __LINE__, #c);       \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* Formats a into buffers of every small size and a full one: always
 * NUL-terminated within the size given. */
static void format_all(const lsk_addr *a) {
  char buf[LSK_ADDR_TEXT_MAX];
  for (size_t n = 1; n <= 8; n++) {
    char *small = malloc(n); /* exact size: ASan sees any overrun */
    lsk_addr_format(a, small, n);
    CHECK(memchr(small, '\0', n) != NULL);
    free(small);
  }
  lsk_addr_format(a, buf, sizeof buf);
  CHECK(memchr(buf, '\0', sizeof buf) != NULL);
  lsk_addr_format(a, buf, 0); /* writes nothing */
}

static void unix_case(const uint8_t *p, size_t n) {
  lsk_addr a;
  const char *path;
  if (lsk_addr_unix(&a, (const char *)p, n) != 0) {
    CHECK(n >= sizeof a.u.un.sun_path);
    return;
  }
  size_t len = lsk_addr_path(&a, &path);
  CHECK(len <= sizeof a.u.un.sun_path);
  if (n > 0 && p[0] == '\0')
    CHECK(len == n && memcmp(path, p, n) == 0); /* abstract: every byte */
  else
    CHECK(len == strnlen((const char *)p, n) && memcmp(path, p, len) == 0);
  format_all(&a);
}

static void inet_case(int family, const uint8_t *p, size_t n) {
  lsk_addr a, b;
  char host[LSK_HOST_MAX], text[256];
  int port;
  uint32_t flow = 0, scope = 0;
  if (n < 2)
    return;
  /* Ports outside 0-65535 too: they must be refused. */
  port = (int)(int16_t)(p[0] << 8 | p[1]) * 3;
  p += 2, n -= 2;
  if (family == AF_INET6 && n >= 8) {
    memcpy(&flow, p, 4);
    memcpy(&scope, p + 4, 4);
    p += 8, n -= 8;
  }
  if (n >= sizeof text)
    n = sizeof text - 1;
  memcpy(text, p, n);
  text[n] = '\0';
  int err = lsk_addr_literal(&a, family, text, port, flow, scope);
  if (port < 0 || port > 65535) {
    CHECK(err == EINVAL);
    return;
  }
  if (err != 0) {
    CHECK(err == LSK_ADDR_NAME);
    return;
  }
  CHECK(a.u.sa.sa_family == family);
  CHECK(lsk_addr_port(&a) == port);
  CHECK(lsk_addr_host(&a, host, sizeof host) == 0);
  /* The numeric text parses back to the same address. */
  CHECK(lsk_addr_literal(&b, family, host, port, flow, scope) == 0);
  CHECK(a.len == b.len && memcmp(&a.u, &b.u, a.len) == 0);
  format_all(&a);
}

static void raw_case(const uint8_t *p, size_t n) {
  lsk_addr a;
  const char *path;
  memset(&a, 0, sizeof a);
  if (n > sizeof a.u)
    n = sizeof a.u;
  memcpy(&a.u, p, n);
  a.len = (socklen_t)n;
  /* The kernel never gives a Unix address longer than its struct. */
  if (a.u.sa.sa_family == AF_UNIX && a.len > sizeof(struct sockaddr_un))
    a.len = sizeof(struct sockaddr_un);
  if (a.u.sa.sa_family == AF_UNIX)
    CHECK(lsk_addr_path(&a, &path) <= sizeof a.u.un.sun_path);
  format_all(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  switch (data[0] % 4) {
  case 0: unix_case(data + 1, size - 1); break;
  case 1: inet_case(AF_INET, data + 1, size - 1); break;
  case 2: inet_case(AF_INET6, data + 1, size - 1); break;
  default: raw_case(data + 1, size - 1); break;
  }
  return 0;
}
