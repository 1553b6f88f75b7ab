/* core/tests/test_err: names and messages for errno and resolver codes. */
#include <errno.h>
#include <netdb.h>

#include "../err.h"
#include "check.h"

static void canonical_names(void) {
  ASSERT_STR(lsk_err_name(ECONNREFUSED), "ECONNREFUSED");
  ASSERT_STR(lsk_err_name(EAGAIN), "EAGAIN");
  ASSERT_STR(lsk_err_name(EWOULDBLOCK), "EAGAIN");
  ASSERT_STR(lsk_err_name(EOPNOTSUPP), "EOPNOTSUPP");
  ASSERT(lsk_err_name(99999) == NULL);
}

static void messages(void) {
  char buf[128];
  ASSERT_STR(lsk_err_message(ETIMEDOUT, buf, sizeof buf), "timed out");
  ASSERT_STR(lsk_err_message(ECONNREFUSED, buf, sizeof buf),
             "Connection refused");
  char tiny[4];
  lsk_err_message(ECONNREFUSED, tiny, sizeof tiny);
  ASSERT_EQ(strlen(tiny), 3);
}

static void resolver_codes(void) {
  int code = LSK_EAI(EAI_NONAME);
  char buf[128];
  ASSERT(code < 0);
  ASSERT(lsk_err_is_eai(code));
  ASSERT(!lsk_err_is_eai(ECONNREFUSED));
  ASSERT_EQ(lsk_err_eai(code), EAI_NONAME);
  ASSERT_STR(lsk_err_name(code), "EAI_NONAME");
  ASSERT_STR(lsk_err_message(code, buf, sizeof buf), gai_strerror(EAI_NONAME));
}

static void table_has_aliases_after(void) {
  int n = lsk_err_count(), value, seen_eagain = -1, seen_ewouldblock = -1;
  ASSERT(n > 100);
  for (int i = 0; i < n; i++) {
    const char *name = lsk_err_entry(i, &value);
    ASSERT(name != NULL);
    if (strcmp(name, "EAGAIN") == 0)
      seen_eagain = i;
    if (strcmp(name, "EWOULDBLOCK") == 0)
      seen_ewouldblock = i;
  }
  ASSERT(seen_eagain >= 0 && seen_ewouldblock > seen_eagain);
  ASSERT(lsk_err_entry(n, &value) == NULL);
}

int main(void) {
  RUN(canonical_names);
  RUN(messages);
  RUN(resolver_codes);
  RUN(table_has_aliases_after);
  return 0;
}
