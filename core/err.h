/* core/err: error codes, their names and messages.
 * Core functions return 0 or a positive errno; resolver (getaddrinfo)
 * failures use a reserved negative range built with LSK_EAI(). */
#ifndef LSK_ERR_H
#define LSK_ERR_H

#include <stddef.h>

/* Resolver codes live below LSK_EAI_BASE, whatever sign the platform's
 * EAI_* values have (negative on glibc, positive on the BSDs). */
#define LSK_EAI_BASE (-100000)
#define LSK_EAI(c) (LSK_EAI_BASE - ((c) < 0 ? -(c) : (c)))

/* Nonzero when `code` was built with LSK_EAI. */
int lsk_err_is_eai(int code);

/* The platform's EAI_* value that `code` carries. */
int lsk_err_eai(int code);

/* Host lookup failures in the old netdb style (Python's socket.herror):
 * the h_errno values HOST_NOT_FOUND, TRY_AGAIN, NO_RECOVERY and NO_DATA,
 * in a range of their own below the resolver's. core/resolve maps EAI_*
 * codes onto them for the gethostbyname_ex/gethostbyaddr lookups. */
#define LSK_HERR_BASE (-200000)
#define LSK_HERR(h) (LSK_HERR_BASE - (h))

/* Nonzero when `code` was built with LSK_HERR; lsk_err_herr gives back
 * the h_errno value. */
int lsk_err_is_herr(int code);
int lsk_err_herr(int code);

/* The symbolic name ("ECONNREFUSED", "EAI_NONAME", "HOST_NOT_FOUND"), or
 * NULL when unknown.
 * Where two names share a value the canonical one wins (EAGAIN over
 * EWOULDBLOCK, EOPNOTSUPP over ENOTSUP). Static storage. */
const char *lsk_err_name(int code);

/* The system's text for `code` into buf (always NUL-terminated); returns
 * buf. ETIMEDOUT reads "timed out", as Python's socket.timeout does. */
const char *lsk_err_message(int code, char *buf, size_t n);

/* The errno names this platform defines, for exporting as constants:
 * entry i of lsk_err_count() gives a name and its value. Canonical names
 * come first, aliases after them. */
int lsk_err_count(void);
const char *lsk_err_entry(int i, int *value);

#endif
