/* core/inet: IPv4/IPv6 addresses between text and their packed binary
 * form (network order), as Python's inet_aton, inet_ntoa, inet_pton and
 * inet_ntop give them. No resolver: text is numeric or it is an error. */
#ifndef LSK_INET_H
#define LSK_INET_H

#include <stddef.h>

/* Longest binary address lsk_inet_pton writes (an IPv6 address). */
#define LSK_PACKED_MAX 16

/* inet_aton(3): IPv4 text in any of its classic forms ("127.1", "0x7f.1")
 * into 4 bytes, network order. Returns 0 or EINVAL. */
int lsk_inet_aton(const char *text, unsigned char out[4]);

/* inet_pton(3): `text` in `family` (AF_INET: 4 bytes, AF_INET6: 16) into
 * out (LSK_PACKED_MAX bytes), its length in *len. Returns 0, EINVAL for
 * text that is not an address of the family, or EAFNOSUPPORT. */
int lsk_inet_pton(int family, const char *text, unsigned char *out,
                  size_t *len);

/* inet_ntop(3): `len` bytes of a packed `family` address as text into buf
 * (LSK_HOST_MAX bytes are enough). Returns 0, EINVAL when len is not the
 * family's address length, EAFNOSUPPORT, or ENOSPC when buf is too
 * small. Python's inet_ntoa is the AF_INET case. */
int lsk_inet_ntop(int family, const void *packed, size_t len, char *buf,
                  size_t n);

#endif
