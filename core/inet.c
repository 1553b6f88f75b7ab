/* core/inet: address text conversions. */
#include "inet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int lsk_inet_aton(const char *text, unsigned char out[4]) {
  struct in_addr in;
  if (inet_aton(text, &in) == 0)
    return EINVAL;
  memcpy(out, &in, 4);
  return 0;
}

static size_t packedlen(int family) {
  switch (family) {
  case AF_INET: return sizeof(struct in_addr);
  case AF_INET6: return sizeof(struct in6_addr);
  default: return 0;
  }
}

int lsk_inet_pton(int family, const char *text, unsigned char *out,
                  size_t *len) {
  size_t need = packedlen(family);
  if (need == 0)
    return EAFNOSUPPORT;
  if (inet_pton(family, text, out) != 1)
    return EINVAL;
  *len = need;
  return 0;
}

int lsk_inet_ntop(int family, const void *packed, size_t len, char *buf,
                  size_t n) {
  size_t need = packedlen(family);
  if (need == 0)
    return EAFNOSUPPORT;
  if (len != need)
    return EINVAL;
  if (!inet_ntop(family, packed, buf, (socklen_t)n))
    return errno;
  return 0;
}
