/* core/consts: the platform's socket constants by name (AF_*, SOCK_*,
 * SO_*, IPPROTO_*, AI_*, ...), listed from its headers at build time by
 * cmake/sockconsts.cmake, for the bindings to export. */
#ifndef LSK_CONSTS_H
#define LSK_CONSTS_H

/* How many constants there are; entry i (0 <= i < count) gives a name
 * (static storage) and stores its value, or NULL out of range. */
int lsk_const_count(void);
const char *lsk_const_entry(int i, long long *value);

#endif
