/* core/consts: the generated table of socket constants. */
#include "consts.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>

struct entry {
  const char *name;
  long long value;
};

/* Every name is guarded: the list was made with the build's compiler, but
 * a header that differs by configuration then still compiles. */
static const struct entry consts[] = {
#define X(c) {#c, (long long)(c)},
#include "lsk_sockconsts.h"
#undef X
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

int lsk_const_count(void) {
  return COUNT(consts);
}

const char *lsk_const_entry(int i, long long *value) {
  if (i < 0 || i >= COUNT(consts))
    return NULL;
  *value = consts[i].value;
  return consts[i].name;
}
