/* core/lookup: host name, services and protocols. */
#include "lookup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

int lsk_lookup_hostname(char *buf, size_t n) {
  if (n == 0)
    return ENAMETOOLONG;
  if (gethostname(buf, n) < 0)
    return errno;
  /* POSIX leaves a truncated name unterminated; glibc says ENAMETOOLONG,
   * but be sure. */
  if (memchr(buf, '\0', n) == NULL) {
    buf[n - 1] = '\0';
    return ENAMETOOLONG;
  }
  return 0;
}

/* The reentrant lookups (thread-safe, unlike getservbyname) write into a
 * scratch buffer of a size they do not tell: start on the stack and grow
 * on ERANGE. */
struct scratch {
  char stack[1024];
  char *buf;
  size_t size;
};

static void scratch_init(struct scratch *s) {
  s->buf = s->stack;
  s->size = sizeof s->stack;
}

/* Doubles the buffer; returns 0 or ENOMEM (past 1 MiB, too). */
static int scratch_grow(struct scratch *s) {
  size_t size = s->size * 2;
  if (size > (1u << 20))
    return ENOMEM;
  char *buf = malloc(size);
  if (!buf)
    return ENOMEM;
  if (s->buf != s->stack)
    free(s->buf);
  s->buf = buf;
  s->size = size;
  return 0;
}

static void scratch_free(struct scratch *s) {
  if (s->buf != s->stack)
    free(s->buf);
}

/* Not found is a success with no entry in glibc; any other failure of the
 * lookup is reported as not found too, except running out of memory. */
static int notfound(int rc, int code) {
  return rc == ENOMEM ? ENOMEM : code;
}

int lsk_lookup_servbyname(const char *name, const char *proto, int *port) {
  struct scratch sc;
  struct servent se, *res = NULL;
  int rc;
  scratch_init(&sc);
  while ((rc = getservbyname_r(name, proto, &se, sc.buf, sc.size, &res)) ==
         ERANGE)
    if ((rc = scratch_grow(&sc)) != 0)
      break;
  int err = rc == 0 && res ? 0 : notfound(rc, LSK_EAI(EAI_SERVICE));
  if (!err)
    *port = ntohs((uint16_t)res->s_port);
  scratch_free(&sc);
  return err;
}

int lsk_lookup_servbyport(int port, const char *proto, char *buf, size_t n) {
  struct scratch sc;
  struct servent se, *res = NULL;
  int rc;
  if (port < 0 || port > 65535)
    return EINVAL;
  scratch_init(&sc);
  while ((rc = getservbyport_r(htons((uint16_t)port), proto, &se, sc.buf,
                               sc.size, &res)) == ERANGE)
    if ((rc = scratch_grow(&sc)) != 0)
      break;
  int err = rc == 0 && res ? 0 : notfound(rc, LSK_EAI(EAI_SERVICE));
  if (!err && strlen(res->s_name) >= n)
    err = ENAMETOOLONG;
  if (!err)
    memcpy(buf, res->s_name, strlen(res->s_name) + 1);
  scratch_free(&sc);
  return err;
}

int lsk_lookup_protobyname(const char *name, int *proto) {
  struct scratch sc;
  struct protoent pe, *res = NULL;
  int rc;
  scratch_init(&sc);
  while ((rc = getprotobyname_r(name, &pe, sc.buf, sc.size, &res)) == ERANGE)
    if ((rc = scratch_grow(&sc)) != 0)
      break;
  int err = rc == 0 && res ? 0 : notfound(rc, EPROTONOSUPPORT);
  if (!err)
    *proto = res->p_proto;
  scratch_free(&sc);
  return err;
}
