/* core/resolve: name resolution over getaddrinfo(3) and getnameinfo(3). */
#include "resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static int eai_code(int rc) {
  /* EAI_SYSTEM means the real cause is in errno. */
  if (rc == EAI_SYSTEM && errno != 0)
    return errno;
  if (rc == EAI_MEMORY)
    return ENOMEM;
  return LSK_EAI(rc);
}

/* Python's herror carries an h_errno value. These lookups run on
 * getaddrinfo/getnameinfo (thread-safe and protocol-independent, where
 * CPython calls gethostbyname_r/gethostbyaddr_r), so their EAI_* codes are
 * mapped to what the old calls would have set in h_errno:
 *   EAI_NONAME (and a name that is no address) -> HOST_NOT_FOUND
 *   EAI_NODATA, EAI_ADDRFAMILY (the name has no address of the family)
 *                                              -> NO_DATA
 *   EAI_AGAIN (a temporary resolver failure)   -> TRY_AGAIN
 *   anything else from the resolver            -> NO_RECOVERY
 * Errno values (ENOMEM, EAI_SYSTEM's cause) stay what they are. */
static int herr_code(int code) {
  if (!lsk_err_is_eai(code))
    return code;
  int rc = lsk_err_eai(code);
  if (rc == EAI_NONAME)
    return LSK_HERR(HOST_NOT_FOUND);
#ifdef EAI_NODATA
  if (rc == EAI_NODATA)
    return LSK_HERR(NO_DATA);
#endif
#ifdef EAI_ADDRFAMILY
  if (rc == EAI_ADDRFAMILY)
    return LSK_HERR(NO_DATA);
#endif
  if (rc == EAI_AGAIN)
    return LSK_HERR(TRY_AGAIN);
  return LSK_HERR(NO_RECOVERY);
}

static void setport(lsk_addr *a, int port) {
  if (a->u.sa.sa_family == AF_INET)
    a->u.in.sin_port = htons((uint16_t)port);
  else if (a->u.sa.sa_family == AF_INET6)
    a->u.in6.sin6_port = htons((uint16_t)port);
}

int lsk_resolve_first(lsk_addr *out, int family, const char *host, int port) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM; /* one entry per address, not per type */
  errno = 0;
  int rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc != 0)
    return eai_code(rc);
  int err = LSK_EAI(EAI_FAMILY);
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof out->u)
      continue;
    if (family != AF_UNSPEC && ai->ai_family != family)
      continue;
    memset(out, 0, sizeof *out);
    memcpy(&out->u, ai->ai_addr, ai->ai_addrlen);
    out->len = ai->ai_addrlen;
    setport(out, port);
    err = 0;
    break;
  }
  freeaddrinfo(res);
  return err;
}

int lsk_resolve_info(lsk_ainfo **out, const char *host, const char *serv,
                     int family, int type, int proto, int flags) {
  struct addrinfo hints, *res = NULL;
  lsk_ainfo *head = NULL, **tail = &head;
  int err = 0;
  *out = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = type;
  hints.ai_protocol = proto;
  hints.ai_flags = flags;
  errno = 0;
  int rc = getaddrinfo(host, serv, &hints, &res);
  if (rc != 0)
    return eai_code(rc);
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof head->addr.u)
      continue; /* no family the resolver gives is that large */
    const char *canon = ai->ai_canonname ? ai->ai_canonname : "";
    size_t clen = strlen(canon);
    lsk_ainfo *e = calloc(1, sizeof *e + clen + 1);
    if (!e) {
      err = ENOMEM;
      goto out;
    }
    e->family = ai->ai_family;
    e->type = ai->ai_socktype;
    e->proto = ai->ai_protocol;
    memcpy(&e->addr.u, ai->ai_addr, ai->ai_addrlen);
    e->addr.len = ai->ai_addrlen;
    memcpy(e->canonname, canon, clen + 1);
    *tail = e;
    tail = &e->next;
  }
out:
  freeaddrinfo(res);
  if (err)
    lsk_resolve_free(head);
  else
    *out = head;
  return err;
}

void lsk_resolve_free(lsk_ainfo *list) {
  while (list) {
    lsk_ainfo *next = list->next;
    free(list);
    list = next;
  }
}

int lsk_resolve_numeric(lsk_addr *a, const char *host, int port,
                        uint32_t flowinfo, uint32_t scope_id) {
  struct addrinfo hints, *res = NULL;
  if (port < 0 || port > 65535)
    return EINVAL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM; /* one entry, as Python asks for */
  hints.ai_flags = AI_NUMERICHOST;
  errno = 0;
  int rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc != 0)
    return eai_code(rc);
  int err = 0;
  if (res->ai_addrlen > sizeof a->u) {
    err = EAFNOSUPPORT;
    goto out;
  }
  memset(a, 0, sizeof *a);
  memcpy(&a->u, res->ai_addr, res->ai_addrlen);
  a->len = res->ai_addrlen;
  setport(a, port);
  if (a->u.sa.sa_family == AF_INET6) {
    a->u.in6.sin6_flowinfo = htonl(flowinfo);
    /* Python overwrites the scope with its default 0, losing a "%lo"
     * suffix; keep the parsed one unless a scope was given. */
    if (scope_id)
      a->u.in6.sin6_scope_id = scope_id;
  }
out:
  freeaddrinfo(res);
  return err;
}

int lsk_resolve_nameinfo(const lsk_addr *a, int flags, char *host,
                         size_t hostlen, char *serv, size_t servlen) {
  errno = 0;
  int rc = getnameinfo(&a->u.sa, a->len, host, (socklen_t)hostlen, serv,
                       (socklen_t)servlen, flags);
  return rc ? eai_code(rc) : 0;
}

/* Appends the numeric form of `a` to h->addrs unless it is there. */
static void addaddr(lsk_host *h, const lsk_addr *a) {
  char text[LSK_HOST_MAX];
  if (h->naddrs >= LSK_HOST_ADDRS || lsk_addr_host(a, text, sizeof text))
    return;
  for (int i = 0; i < h->naddrs; i++)
    if (strcmp(h->addrs[i], text) == 0)
      return;
  memcpy(h->addrs[h->naddrs++], text, sizeof text);
}

int lsk_resolve_hostbyname(lsk_host *h, const char *name) {
  lsk_ainfo *list;
  memset(h, 0, sizeof *h);
  /* SOCK_STREAM: one entry per address rather than one per socket type. */
  int err = lsk_resolve_info(&list, name, NULL, AF_INET, SOCK_STREAM, 0,
                             AI_CANONNAME);
  if (err)
    return herr_code(err);
  const char *canon = list && list->canonname[0] ? list->canonname : name;
  snprintf(h->name, sizeof h->name, "%s", canon);
  if (strcmp(canon, name) != 0)
    snprintf(h->alias, sizeof h->alias, "%s", name);
  for (lsk_ainfo *e = list; e; e = e->next)
    addaddr(h, &e->addr);
  lsk_resolve_free(list);
  return h->naddrs > 0 ? 0 : LSK_HERR(NO_DATA);
}

int lsk_resolve_hostbyaddr(lsk_host *h, const char *ip) {
  lsk_addr a;
  int err;
  memset(h, 0, sizeof *h);
  /* Python's setipaddr: "" and "<broadcast>" are IPv4 addresses; anything
   * else is numeric text or a name to resolve, in any family. */
  if (ip[0] == '\0' || strcmp(ip, "<broadcast>") == 0)
    err = lsk_addr_inet(&a, AF_INET, ip, 0, 0, 0);
  else
    err = lsk_resolve_first(&a, AF_UNSPEC, ip, 0);
  if (err)
    return herr_code(err);
  err = lsk_resolve_nameinfo(&a, NI_NAMEREQD, h->name, sizeof h->name, NULL, 0);
  if (err)
    return herr_code(err);
  addaddr(h, &a);
  return 0;
}
