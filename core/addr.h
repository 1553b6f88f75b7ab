/* core/addr: build and format socket addresses (AF_INET, AF_INET6,
 * AF_UNIX including Linux's abstract namespace). */
#ifndef LSK_ADDR_H
#define LSK_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

typedef struct lsk_addr {
  union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct sockaddr_un un;
    struct sockaddr_storage ss;
  } u;
  socklen_t len;
} lsk_addr;

/* Longest host text lsk_addr_host writes, NUL included. */
#define LSK_HOST_MAX 64
/* Longest text lsk_addr_format writes, NUL included. */
#define LSK_ADDR_TEXT_MAX (sizeof(struct sockaddr_un) + LSK_HOST_MAX + 16)

/* An AF_INET or AF_INET6 address. `host` is a numeric address, "" (any),
 * "<broadcast>" (AF_INET only) or a name, which is resolved (blocking).
 * Returns 0, EAFNOSUPPORT for another family, EINVAL for a port outside
 * 0-65535, or an LSK_EAI() code from the resolver. */
int lsk_addr_inet(lsk_addr *a, int family, const char *host, int port,
                  uint32_t flowinfo, uint32_t scope_id);

/* lsk_addr_inet in two steps, so that the lookup can run elsewhere (a
 * worker thread): lsk_addr_literal fills `a` from numeric text, "" or
 * "<broadcast>" and returns 0, returns LSK_ADDR_NAME when `host` is a
 * name to look up with lsk_addr_resolve (blocking), or an error as
 * lsk_addr_inet does. */
#define LSK_ADDR_NAME (-1)
int lsk_addr_literal(lsk_addr *a, int family, const char *host, int port,
                     uint32_t flowinfo, uint32_t scope_id);
int lsk_addr_resolve(lsk_addr *a, int family, const char *host, int port,
                     uint32_t flowinfo, uint32_t scope_id);

/* An AF_UNIX address from `len` bytes of `path` (a leading NUL selects the
 * abstract namespace). Returns 0, or ENAMETOOLONG when it does not fit. */
int lsk_addr_unix(lsk_addr *a, const char *path, size_t len);

/* The numeric host of an AF_INET/AF_INET6 address into buf
 * (LSK_HOST_MAX bytes), as inet_ntop writes it. Returns 0, EAFNOSUPPORT,
 * or ENOSPC when n is too small. */
int lsk_addr_host(const lsk_addr *a, char *buf, size_t n);

/* The port of an AF_INET/AF_INET6 address, host order. */
int lsk_addr_port(const lsk_addr *a);

/* The path bytes of an AF_UNIX address and their count (0 for an unnamed
 * socket); abstract paths start with their NUL. */
size_t lsk_addr_path(const lsk_addr *a, const char **path);

/* One readable line: "127.0.0.1:80", "[::1]:80", or the Unix path with a
 * leading NUL shown as '@'. Truncates to n (always NUL-terminated). */
void lsk_addr_format(const lsk_addr *a, char *buf, size_t n);

#endif
