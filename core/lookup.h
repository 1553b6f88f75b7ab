/* core/lookup: the small lookups of Python's socket module that are not
 * getaddrinfo: the host name and the services and protocols databases.
 * Thread-safe (the _r calls). */
#ifndef LSK_LOOKUP_H
#define LSK_LOOKUP_H

#include <stddef.h>

/* This host's name (gethostname) into buf, NUL-terminated. Returns 0 or
 * ENAMETOOLONG when it does not fit in n bytes. */
int lsk_lookup_hostname(char *buf, size_t n);

/* The port (host order) of service `name` for `proto` ("tcp", "udp", or
 * NULL for the first entry of any protocol). Returns 0 or
 * LSK_EAI(EAI_SERVICE) when there is no such service (what getaddrinfo
 * says for an unknown service name), or ENOMEM. Reads the services
 * database (/etc/services): may block. */
int lsk_lookup_servbyname(const char *name, const char *proto, int *port);

/* The name of the service on `port` (0-65535) for `proto` (or NULL) into
 * buf. Returns 0, LSK_EAI(EAI_SERVICE) when there is none, EINVAL for a
 * port out of range, ENAMETOOLONG when the name does not fit, or ENOMEM. */
int lsk_lookup_servbyport(int port, const char *proto, char *buf, size_t n);

/* The number of protocol `name` ("tcp" -> 6) from /etc/protocols. Returns
 * 0, EPROTONOSUPPORT when there is no such protocol, or ENOMEM. */
int lsk_lookup_protobyname(const char *name, int *proto);

#endif
