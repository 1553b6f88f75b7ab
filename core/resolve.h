/* core/resolve: name resolution over getaddrinfo(3).
 * Blocking; failures come back as LSK_EAI() codes or, for EAI_SYSTEM, the
 * errno behind them. */
#ifndef LSK_RESOLVE_H
#define LSK_RESOLVE_H

#include "addr.h"

/* The first address getaddrinfo gives for `host` in `family` (AF_UNSPEC
 * for any), with `port` stored in it. Returns 0 or an error code. */
int lsk_resolve_first(lsk_addr *out, int family, const char *host, int port);

#endif
