/* core/tests/test_addr: address building and formatting round trips. */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>

#include "../addr.h"
#include "../err.h"
#include "check.h"

static void inet_round_trip(void) {
  lsk_addr a;
  char buf[LSK_ADDR_TEXT_MAX];
  ASSERT_OK(lsk_addr_inet(&a, AF_INET, "127.0.0.1", 8080, 0, 0));
  ASSERT_EQ(lsk_addr_port(&a), 8080);
  lsk_addr_format(&a, buf, sizeof buf);
  ASSERT_STR(buf, "127.0.0.1:8080");
  ASSERT_OK(lsk_addr_inet(&a, AF_INET, "", 0, 0, 0));
  lsk_addr_format(&a, buf, sizeof buf);
  ASSERT_STR(buf, "0.0.0.0:0");
  ASSERT_OK(lsk_addr_inet(&a, AF_INET, "<broadcast>", 9, 0, 0));
  lsk_addr_format(&a, buf, sizeof buf);
  ASSERT_STR(buf, "255.255.255.255:9");
}

static void inet6_round_trip(void) {
  lsk_addr a;
  char buf[LSK_ADDR_TEXT_MAX];
  ASSERT_OK(lsk_addr_inet(&a, AF_INET6, "::1", 443, 5, 0));
  lsk_addr_format(&a, buf, sizeof buf);
  ASSERT_STR(buf, "[::1]:443");
  ASSERT_EQ(ntohl(a.u.in6.sin6_flowinfo), 5);
  ASSERT_OK(lsk_addr_host(&a, buf, sizeof buf));
  ASSERT_STR(buf, "::1");
}

/* The hand-made dotted decimal matches inet_ntop's, digit counts 1-3 in
 * every position included. */
static void inet4_host_text(void) {
  static const unsigned char bytes[] = {0, 1, 9, 10, 42, 99, 100, 199, 255};
  lsk_addr a;
  char buf[LSK_HOST_MAX], want[INET_ADDRSTRLEN];
  size_t nb = sizeof bytes;
  ASSERT_OK(lsk_addr_inet(&a, AF_INET, "0.0.0.0", 1, 0, 0));
  for (size_t i = 0; i < nb * nb * nb * nb; i++) {
    unsigned char *p = (unsigned char *)&a.u.in.sin_addr.s_addr;
    p[0] = bytes[i % nb];
    p[1] = bytes[i / nb % nb];
    p[2] = bytes[i / (nb * nb) % nb];
    p[3] = bytes[i / (nb * nb * nb)];
    ASSERT_OK(lsk_addr_host(&a, buf, sizeof buf));
    ASSERT(inet_ntop(AF_INET, &a.u.in.sin_addr, want, sizeof want));
    ASSERT_STR(buf, want);
  }
  ASSERT_EQ(lsk_addr_host(&a, buf, 15), ENOSPC); /* 255.255.255.255 */
  ASSERT_OK(lsk_addr_host(&a, buf, 16));
}

/* The hand-made parser of dotted decimal takes exactly what inet_pton
 * takes: every string of up to 8 characters from "019.5" and a few others
 * (leading zeros, 256, too many or too few parts, signs, spaces). */
static void inet4_literals(void) {
  static const char alphabet[] = "019.5";
  static const char *const extra[] = {
      "255.255.255.255", "256.1.1.1", "1.2.3.256", "01.2.3.4", "1.2.3.04",
      "0.0.0.0", "1.2.3", "1.2.3.4.5", "1.2.3.4.", ".1.2.3.4", "1..2.3",
      "+1.2.3.4", "1.2.3.-4", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4x",
      "999.1.1.1", "1.2.3.1000", "0x1.2.3.4", "", "localhost"};
  char host[16];
  lsk_addr a;
  struct in_addr want;
  size_t na = sizeof alphabet - 1, ne = sizeof extra / sizeof extra[0];
  size_t total = 0;
  for (size_t len = 1; len <= 8; len++) {
    size_t count = 1;
    for (size_t i = 0; i < len; i++)
      count *= na;
    for (size_t k = 0; k < count; k++, total++) {
      size_t x = k;
      for (size_t i = 0; i < len; i++, x /= na)
        host[i] = alphabet[x % na];
      host[len] = '\0';
      int ok = inet_pton(AF_INET, host, &want) == 1;
      int err = lsk_addr_literal(&a, AF_INET, host, 1, 0, 0);
      ASSERT_EQ(err == 0, ok);
      if (ok)
        ASSERT(a.u.in.sin_addr.s_addr == want.s_addr);
    }
  }
  for (size_t i = 0; i < ne; i++) {
    int ok = inet_pton(AF_INET, extra[i], &want) == 1;
    int err = lsk_addr_literal(&a, AF_INET, extra[i], 1, 0, 0);
    if (extra[i][0] == '\0')
      ASSERT_EQ(err, 0); /* "" is INADDR_ANY, as in Python */
    else
      ASSERT_EQ(err == 0, ok);
    if (ok)
      ASSERT(a.u.in.sin_addr.s_addr == want.s_addr);
  }
  ASSERT(total > 400000);
}

static void bad_inputs(void) {
  lsk_addr a;
  ASSERT_EQ(lsk_addr_inet(&a, AF_UNIX, "x", 1, 0, 0), EAFNOSUPPORT);
  ASSERT_EQ(lsk_addr_inet(&a, AF_INET, "127.0.0.1", 65536, 0, 0), EINVAL);
  ASSERT_EQ(lsk_addr_inet(&a, AF_INET, "127.0.0.1", -1, 0, 0), EINVAL);
  /* .invalid never resolves (RFC 6761), so no network is asked. */
  int err = lsk_addr_inet(&a, AF_INET, "no.such.host.invalid", 1, 0, 0);
  ASSERT(lsk_err_is_eai(err));
  ASSERT(lsk_err_name(err) != NULL);
}

static void unix_paths(void) {
  lsk_addr a;
  const char *p;
  char buf[LSK_ADDR_TEXT_MAX];
  ASSERT_OK(lsk_addr_unix(&a, "/tmp/x.sock", 11));
  ASSERT_EQ(lsk_addr_path(&a, &p), 11);
  lsk_addr_format(&a, buf, sizeof buf);
  ASSERT_STR(buf, "/tmp/x.sock");
  ASSERT_OK(lsk_addr_unix(&a, "\0abs", 4));
  ASSERT_EQ(lsk_addr_path(&a, &p), 4);
  ASSERT(p[0] == '\0' && memcmp(p + 1, "abs", 3) == 0);
  lsk_addr_format(&a, buf, sizeof buf);
  ASSERT_STR(buf, "@abs");
  char longpath[200];
  memset(longpath, 'a', sizeof longpath);
  ASSERT_EQ(lsk_addr_unix(&a, longpath, sizeof longpath), ENAMETOOLONG);
  /* A path filling sun_path leaves no room for its NUL; an abstract name
   * of the same length fits. */
  size_t room = sizeof a.u.un.sun_path;
  ASSERT_EQ(lsk_addr_unix(&a, longpath, room), ENAMETOOLONG);
  ASSERT_OK(lsk_addr_unix(&a, longpath, room - 1));
  longpath[0] = '\0';
  ASSERT_OK(lsk_addr_unix(&a, longpath, room));
}

static void unnamed_unix(void) {
  lsk_addr a;
  const char *p;
  char buf[8] = "x";
  ASSERT_OK(lsk_addr_unix(&a, "", 0));
  ASSERT_EQ(lsk_addr_path(&a, &p), 0);
  lsk_addr_format(&a, buf, sizeof buf);
  ASSERT_STR(buf, "");
}

int main(void) {
  RUN(inet_round_trip);
  RUN(inet6_round_trip);
  RUN(inet4_host_text);
  RUN(inet4_literals);
  RUN(bad_inputs);
  RUN(unix_paths);
  RUN(unnamed_unix);
  return 0;
}
