/* core/resolve: name resolution over getaddrinfo(3) and getnameinfo(3).
 * Blocking; failures come back as LSK_EAI() codes, or errno values for
 * EAI_SYSTEM (the errno behind it) and EAI_MEMORY (ENOMEM); the
 * gethostbyname_ex/gethostbyaddr lookups give LSK_HERR() codes instead, as
 * Python's herror. */
#ifndef LSK_RESOLVE_H
#define LSK_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* The first address getaddrinfo gives for `host` in `family` (AF_UNSPEC
 * for any), with `port` stored in it. Returns 0 or an error code. */
int lsk_resolve_first(lsk_addr *out, int family, const char *host, int port);

/* One entry of a getaddrinfo result. */
typedef struct lsk_ainfo {
  struct lsk_ainfo *next;
  int family, type, proto;
  lsk_addr addr;
  char canonname[]; /* "" when the resolver gave none */
} lsk_ainfo;

/* getaddrinfo(3) with these hints: `host` may be NULL (the local or, with
 * AI_PASSIVE, the any address), `serv` NULL, a port number or a service
 * name. On success *out is a list (in the resolver's order) that the
 * caller frees with lsk_resolve_free. Returns 0, an LSK_EAI() code
 * (EAI_NONAME, EAI_SERVICE, EAI_FAMILY, EAI_AGAIN, ...), or an errno
 * (ENOMEM; the cause of EAI_SYSTEM); *out is NULL then. Blocking. */
int lsk_resolve_info(lsk_ainfo **out, const char *host, const char *serv,
                     int family, int type, int proto, int flags);

/* Frees a list from lsk_resolve_info; NULL is fine. */
void lsk_resolve_free(lsk_ainfo *list);

/* A numeric AF_INET/AF_INET6 address, parsed the way Python's getnameinfo
 * reads its sockaddr (getaddrinfo with AI_NUMERICHOST: no name is looked
 * up; "fe80::1%lo" scope syntax works). `flowinfo` and a nonzero
 * `scope_id` go into an AF_INET6 result. Returns 0, LSK_EAI(EAI_NONAME)
 * for text that is not a numeric address, or EINVAL for a port outside
 * 0-65535. */
int lsk_resolve_numeric(lsk_addr *a, const char *host, int port,
                        uint32_t flowinfo, uint32_t scope_id);

/* getnameinfo(3): the host and service of `a` with NI_* `flags` into
 * host (hostlen bytes, NI_MAXHOST is enough) and serv (servlen bytes,
 * NI_MAXSERV; serv may be NULL with servlen 0). Returns 0, an LSK_EAI()
 * code or an errno. Blocking unless NI_NUMERICHOST | NI_NUMERICSERV. */
int lsk_resolve_nameinfo(const lsk_addr *a, int flags, char *host,
                         size_t hostlen, char *serv, size_t servlen);

/* Most addresses an lsk_host holds; further ones are left out. */
#define LSK_HOST_ADDRS 32
/* Longest host name an lsk_host holds, NUL included (NI_MAXHOST). */
#define LSK_HOSTNAME_MAX 1025

/* A gethostbyname_ex/gethostbyaddr result: the canonical name, at most
 * one alias, and the numeric addresses, without duplicates. */
typedef struct lsk_host {
  char name[LSK_HOSTNAME_MAX];
  char alias[LSK_HOSTNAME_MAX]; /* "" when there is none */
  int naddrs;
  char addrs[LSK_HOST_ADDRS][LSK_HOST_MAX];
} lsk_host;

/* Python's gethostbyname_ex over getaddrinfo: the IPv4 addresses of
 * `name` and its canonical name (AI_CANONNAME). getaddrinfo reports no
 * aliases, so the alias is `name` itself when the canonical name differs.
 * Returns 0, an LSK_HERR() code (see resolve.c for the mapping from
 * EAI_*), or an errno (ENOMEM, EAI_SYSTEM's cause). Blocking. */
int lsk_resolve_hostbyname(lsk_host *h, const char *name);

/* Python's gethostbyaddr over getnameinfo: `ip` (numeric, IPv4 or IPv6,
 * or a name, which is resolved first) and the name the reverse lookup
 * gives for it (NI_NAMEREQD); the one address is `ip`'s numeric form.
 * Returns 0, an LSK_HERR() code or an errno. Blocking. */
int lsk_resolve_hostbyaddr(lsk_host *h, const char *ip);

#endif
