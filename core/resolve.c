/* core/resolve: name resolution over getaddrinfo(3). */
#include "resolve.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "err.h"

static int eai_code(int rc) {
  /* EAI_SYSTEM means the real cause is in errno. */
  if (rc == EAI_SYSTEM && errno != 0)
    return errno;
  return LSK_EAI(rc);
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
    if (ai->ai_family == AF_INET)
      out->u.in.sin_port = htons((uint16_t)port);
    else if (ai->ai_family == AF_INET6)
      out->u.in6.sin6_port = htons((uint16_t)port);
    err = 0;
    break;
  }
  freeaddrinfo(res);
  return err;
}
