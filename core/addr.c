/* core/addr: build and format socket addresses. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "resolve.h"

/* Dotted decimal in, by hand, with inet_pton's rules: exactly four
 * decimal parts of 0-255, no leading zeros, nothing else. glibc's
 * inet_pton was a tenth of a UDP client's instructions (sendto parses
 * its address each time). Returns 1 when host is such a literal. */
static int parse4(const char *host, struct in_addr *in) {
  unsigned char b[4];
  int part = 0;
  const char *p = host;
  for (;;) {
    if (*p < '0' || *p > '9')
      return 0;
    unsigned v = (unsigned)(*p++ - '0');
    if (v != 0)
      while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned)(*p++ - '0');
        if (v > 255)
          return 0;
      }
    b[part++] = (unsigned char)v;
    if (part == 4)
      break;
    if (*p++ != '.')
      return 0;
  }
  if (*p != '\0')
    return 0;
  memcpy(&in->s_addr, b, 4);
  return 1;
}

int lsk_addr_literal(lsk_addr *a, int family, const char *host, int port,
                     uint32_t flowinfo, uint32_t scope_id) {
  if (family != AF_INET && family != AF_INET6)
    return EAFNOSUPPORT;
  if (port < 0 || port > 65535)
    return EINVAL;
  memset(a, 0, sizeof *a);
  if (family == AF_INET) {
    struct sockaddr_in *in = &a->u.in;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    a->len = sizeof *in;
    /* Python's setipaddr: "" is INADDR_ANY, "<broadcast>" the broadcast
     * address; numeric text needs no resolver. */
    if (host[0] == '\0') {
      in->sin_addr.s_addr = htonl(INADDR_ANY);
      return 0;
    }
    if (strcmp(host, "<broadcast>") == 0) {
      in->sin_addr.s_addr = htonl(INADDR_BROADCAST);
      return 0;
    }
    if (parse4(host, &in->sin_addr))
      return 0;
  } else {
    struct sockaddr_in6 *in6 = &a->u.in6;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    in6->sin6_flowinfo = htonl(flowinfo);
    in6->sin6_scope_id = scope_id;
    a->len = sizeof *in6;
    if (host[0] == '\0') {
      in6->sin6_addr = in6addr_any;
      return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1)
      return 0;
  }
  return LSK_ADDR_NAME;
}

int lsk_addr_resolve(lsk_addr *a, int family, const char *host, int port,
                     uint32_t flowinfo, uint32_t scope_id) {
  int err = lsk_resolve_first(a, family, host, port);
  if (err == 0 && family == AF_INET6) {
    a->u.in6.sin6_flowinfo = htonl(flowinfo);
    if (scope_id)
      a->u.in6.sin6_scope_id = scope_id;
  }
  return err;
}

int lsk_addr_inet(lsk_addr *a, int family, const char *host, int port,
                  uint32_t flowinfo, uint32_t scope_id) {
  int err = lsk_addr_literal(a, family, host, port, flowinfo, scope_id);
  if (err == LSK_ADDR_NAME)
    err = lsk_addr_resolve(a, family, host, port, flowinfo, scope_id);
  return err;
}

int lsk_addr_unix(lsk_addr *a, const char *path, size_t len) {
  memset(a, 0, sizeof *a);
  /* A filesystem path needs room for its terminating NUL; an abstract name
   * (leading NUL) is counted by length and may fill sun_path. */
  size_t room = sizeof a->u.un.sun_path - (len > 0 && path[0] == '\0' ? 0 : 1);
  if (len > room)
    return ENAMETOOLONG;
  a->u.un.sun_family = AF_UNIX;
  memcpy(a->u.un.sun_path, path, len);
  a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
  if (len > 0 && path[0] != '\0')
    a->len++; /* count the NUL, as SUN_LEN does */
  return 0;
}

/* Dotted decimal by hand: glibc's inet_ntop goes through sprintf, which
 * was a visible share of a UDP server's time (recvfrom formats every
 * sender). */
static int format4(const struct in_addr *in, char *buf, size_t n) {
  const unsigned char *b = (const unsigned char *)&in->s_addr;
  char text[16];
  size_t o = 0;
  for (int i = 0; i < 4; i++) {
    unsigned v = b[i];
    if (v >= 100)
      text[o++] = (char)('0' + v / 100);
    if (v >= 10)
      text[o++] = (char)('0' + v / 10 % 10);
    text[o++] = (char)('0' + v % 10);
    text[o++] = i < 3 ? '.' : '\0';
  }
  if (o > n)
    return ENOSPC;
  memcpy(buf, text, o);
  return 0;
}

int lsk_addr_host(const lsk_addr *a, char *buf, size_t n) {
  const void *src;
  switch (a->u.sa.sa_family) {
  case AF_INET: return format4(&a->u.in.sin_addr, buf, n);
  case AF_INET6: src = &a->u.in6.sin6_addr; break;
  default: return EAFNOSUPPORT;
  }
  if (!inet_ntop(a->u.sa.sa_family, src, buf, (socklen_t)n))
    return errno;
  return 0;
}

int lsk_addr_port(const lsk_addr *a) {
  switch (a->u.sa.sa_family) {
  case AF_INET: return ntohs(a->u.in.sin_port);
  case AF_INET6: return ntohs(a->u.in6.sin6_port);
  default: return 0;
  }
}

size_t lsk_addr_path(const lsk_addr *a, const char **path) {
  size_t off = offsetof(struct sockaddr_un, sun_path);
  *path = a->u.un.sun_path;
  if (a->len <= off)
    return 0; /* unnamed */
  size_t len = a->len - off;
  if (a->u.un.sun_path[0] == '\0')
    return len; /* abstract: every byte counts, NULs included */
  /* A filesystem path: the kernel's length may or may not count the NUL. */
  size_t n = strnlen(a->u.un.sun_path, len);
  return n;
}

void lsk_addr_format(const lsk_addr *a, char *buf, size_t n) {
  char host[LSK_HOST_MAX];
  if (n == 0)
    return;
  switch (a->u.sa.sa_family) {
  case AF_INET:
  case AF_INET6:
    if (lsk_addr_host(a, host, sizeof host) != 0)
      snprintf(host, sizeof host, "?");
    snprintf(buf, n, a->u.sa.sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d",
             host, lsk_addr_port(a));
    return;
  case AF_UNIX: {
    const char *p;
    size_t len = lsk_addr_path(a, &p);
    size_t o = 0;
    /* Show the abstract namespace's leading NUL as '@', as ss(8) does;
     * other bytes as they are, up to the first further NUL. */
    for (size_t i = 0; i < len && o + 1 < n; i++) {
      char c = p[i];
      if (c == '\0') {
        if (i > 0)
          break;
        c = '@';
      }
      buf[o++] = c;
    }
    buf[o] = '\0';
    return;
  }
  default:
    snprintf(buf, n, "<family %d>", a->u.sa.sa_family);
  }
}
