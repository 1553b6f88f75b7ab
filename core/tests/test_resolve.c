/* core/tests/test_resolve: getaddrinfo lists, getnameinfo, the host,
 * service and protocol lookups, address conversions, the herror codes and
 * the generated constants. Loopback names, /etc/services and
 * /etc/protocols only; names under .invalid fail without the network. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>

#include "../consts.h"
#include "../err.h"
#include "../inet.h"
#include "../lookup.h"
#include "../resolve.h"
#include "check.h"

static void info_numeric(void) {
  lsk_ainfo *list;
  char host[LSK_HOST_MAX];
  ASSERT_OK(lsk_resolve_info(&list, "127.0.0.1", "8080", AF_INET, SOCK_STREAM,
                             0, AI_NUMERICHOST));
  ASSERT(list != NULL);
  ASSERT(list->next == NULL);
  ASSERT_EQ(list->family, AF_INET);
  ASSERT_EQ(list->type, SOCK_STREAM);
  ASSERT_EQ(list->proto, IPPROTO_TCP);
  ASSERT_STR(list->canonname, "");
  ASSERT_EQ(lsk_addr_port(&list->addr), 8080);
  ASSERT_OK(lsk_addr_host(&list->addr, host, sizeof host));
  ASSERT_STR(host, "127.0.0.1");
  lsk_resolve_free(list);
  ASSERT_OK(lsk_resolve_info(&list, "::1", NULL, AF_INET6, SOCK_DGRAM, 0,
                             AI_CANONNAME));
  ASSERT_EQ(list->family, AF_INET6);
  ASSERT_EQ(list->proto, IPPROTO_UDP);
  ASSERT_EQ(lsk_addr_port(&list->addr), 0);
  /* Only the first entry carries a canonical name. */
  ASSERT(list->canonname[0] != '\0');
  lsk_resolve_free(list);
  lsk_resolve_free(NULL);
}

static void info_names(void) {
  lsk_ainfo *list;
  /* "localhost" and "http" come from /etc/hosts and /etc/services. */
  ASSERT_OK(
      lsk_resolve_info(&list, "localhost", "http", AF_INET, SOCK_STREAM, 0, 0));
  ASSERT_EQ(lsk_addr_port(&list->addr), 80);
  lsk_resolve_free(list);
  /* No host with AI_PASSIVE: the any address. */
  ASSERT_OK(
      lsk_resolve_info(&list, NULL, "0", AF_INET, SOCK_STREAM, 0, AI_PASSIVE));
  ASSERT_EQ(list->addr.u.in.sin_addr.s_addr, htonl(INADDR_ANY));
  lsk_resolve_free(list);
}

static void info_failures(void) {
  lsk_ainfo *list = (lsk_ainfo *)&list;
  int err = lsk_resolve_info(&list, "no.such.host.invalid", "80", AF_INET,
                             SOCK_STREAM, 0, 0);
  ASSERT(lsk_err_is_eai(err));
  ASSERT(list == NULL);
  ASSERT_EQ(lsk_resolve_info(&list, "localhost", "no-such-service", AF_INET,
                             SOCK_STREAM, 0, 0),
            LSK_EAI(EAI_SERVICE));
  ASSERT_EQ(lsk_resolve_info(&list, "localhost", "80", 12345, 0, 0, 0),
            LSK_EAI(EAI_FAMILY));
  ASSERT_EQ(
      lsk_resolve_info(&list, "localhost", NULL, AF_INET, 0, 0, AI_NUMERICHOST),
      LSK_EAI(EAI_NONAME));
  ASSERT_STR(lsk_err_name(LSK_EAI(EAI_SERVICE)), "EAI_SERVICE");
}

static void numeric_and_nameinfo(void) {
  lsk_addr a;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  ASSERT_OK(lsk_resolve_numeric(&a, "::1", 443, 5, 0));
  ASSERT_EQ(a.u.sa.sa_family, AF_INET6);
  ASSERT_EQ(lsk_addr_port(&a), 443);
  ASSERT_EQ(ntohl(a.u.in6.sin6_flowinfo), 5);
  ASSERT_OK(lsk_resolve_nameinfo(&a, NI_NUMERICHOST | NI_NUMERICSERV, host,
                                 sizeof host, serv, sizeof serv));
  ASSERT_STR(host, "::1");
  ASSERT_STR(serv, "443");
  ASSERT_OK(lsk_resolve_numeric(&a, "127.0.0.1", 80, 0, 0));
  ASSERT_EQ(a.u.sa.sa_family, AF_INET);
  ASSERT_OK(lsk_resolve_nameinfo(&a, 0, host, sizeof host, serv, sizeof serv));
  ASSERT_STR(host, "localhost"); /* /etc/hosts */
  ASSERT_STR(serv, "http");      /* /etc/services */
  /* Names are not numeric: Python's getnameinfo refuses them too. */
  ASSERT_EQ(lsk_resolve_numeric(&a, "localhost", 80, 0, 0),
            LSK_EAI(EAI_NONAME));
  ASSERT_EQ(lsk_resolve_numeric(&a, "127.0.0.1", 65536, 0, 0), EINVAL);
  ASSERT_EQ(lsk_resolve_numeric(&a, "127.0.0.1", -1, 0, 0), EINVAL);
}

static void host_lookups(void) {
  lsk_host h;
  ASSERT_OK(lsk_resolve_hostbyname(&h, "localhost"));
  ASSERT_STR(h.name, "localhost");
  ASSERT_STR(h.alias, "");
  ASSERT(h.naddrs >= 1);
  int found = 0;
  for (int i = 0; i < h.naddrs; i++)
    found |= strcmp(h.addrs[i], "127.0.0.1") == 0;
  ASSERT(found);
  ASSERT_OK(lsk_resolve_hostbyname(&h, "127.0.0.1"));
  ASSERT_EQ(h.naddrs, 1);
  ASSERT_STR(h.addrs[0], "127.0.0.1");
  ASSERT_OK(lsk_resolve_hostbyaddr(&h, "127.0.0.1"));
  ASSERT(h.name[0] != '\0');
  ASSERT_EQ(h.naddrs, 1);
  ASSERT_STR(h.addrs[0], "127.0.0.1");
  int err = lsk_resolve_hostbyname(&h, "no.such.host.invalid");
  ASSERT(lsk_err_is_herr(err));
  ASSERT(!lsk_err_is_eai(err));
  err = lsk_resolve_hostbyaddr(&h, "no.such.host.invalid");
  ASSERT(lsk_err_is_herr(err));
}

static void herr_codes(void) {
  char buf[128];
  int code = LSK_HERR(HOST_NOT_FOUND);
  ASSERT(lsk_err_is_herr(code));
  ASSERT(!lsk_err_is_eai(code));
  ASSERT(!lsk_err_is_herr(LSK_EAI(EAI_NONAME)));
  ASSERT(!lsk_err_is_herr(ENOENT));
  ASSERT_EQ(lsk_err_herr(code), HOST_NOT_FOUND);
  ASSERT_STR(lsk_err_name(code), "HOST_NOT_FOUND");
  ASSERT_STR(lsk_err_name(LSK_HERR(TRY_AGAIN)), "TRY_AGAIN");
  ASSERT_STR(lsk_err_name(LSK_HERR(NO_RECOVERY)), "NO_RECOVERY");
  ASSERT_STR(lsk_err_name(LSK_HERR(NO_DATA)), "NO_DATA");
  ASSERT_STR(lsk_err_message(code, buf, sizeof buf), hstrerror(HOST_NOT_FOUND));
}

static void services_and_protocols(void) {
  int port, proto;
  char name[64], tiny[2];
  ASSERT_OK(lsk_lookup_servbyname("http", "tcp", &port));
  ASSERT_EQ(port, 80);
  ASSERT_OK(lsk_lookup_servbyname("http", NULL, &port));
  ASSERT_EQ(port, 80);
  ASSERT_EQ(lsk_lookup_servbyname("no-such-service", NULL, &port),
            LSK_EAI(EAI_SERVICE));
  ASSERT_OK(lsk_lookup_servbyport(80, "tcp", name, sizeof name));
  ASSERT_STR(name, "http");
  ASSERT_EQ(lsk_lookup_servbyport(80, "tcp", tiny, sizeof tiny), ENAMETOOLONG);
  ASSERT_EQ(lsk_lookup_servbyport(65536, NULL, name, sizeof name), EINVAL);
  ASSERT_EQ(lsk_lookup_servbyport(80, "no-such-proto", name, sizeof name),
            LSK_EAI(EAI_SERVICE));
  ASSERT_OK(lsk_lookup_protobyname("tcp", &proto));
  ASSERT_EQ(proto, IPPROTO_TCP);
  ASSERT_OK(lsk_lookup_protobyname("udp", &proto));
  ASSERT_EQ(proto, IPPROTO_UDP);
  ASSERT_EQ(lsk_lookup_protobyname("no-such-proto", &proto), EPROTONOSUPPORT);
}

static void hostname(void) {
  char buf[LSK_HOSTNAME_MAX], tiny[1];
  ASSERT_OK(lsk_lookup_hostname(buf, sizeof buf));
  ASSERT(buf[0] != '\0');
  ASSERT_EQ(lsk_lookup_hostname(tiny, sizeof tiny), ENAMETOOLONG);
  ASSERT_EQ(lsk_lookup_hostname(tiny, 0), ENAMETOOLONG);
}

static void conversions(void) {
  unsigned char p[LSK_PACKED_MAX];
  char text[LSK_HOST_MAX];
  size_t len = 0;
  ASSERT_OK(lsk_inet_aton("127.1", p));
  ASSERT(p[0] == 127 && p[1] == 0 && p[2] == 0 && p[3] == 1);
  ASSERT_EQ(lsk_inet_aton("1.2.3.x", p), EINVAL);
  ASSERT_OK(lsk_inet_pton(AF_INET6, "::ffff:1.2.3.4", p, &len));
  ASSERT_EQ(len, 16);
  ASSERT(p[10] == 0xff && p[11] == 0xff && p[12] == 1 && p[15] == 4);
  ASSERT_OK(lsk_inet_ntop(AF_INET6, p, len, text, sizeof text));
  ASSERT_STR(text, "::ffff:1.2.3.4");
  ASSERT_OK(lsk_inet_pton(AF_INET, "10.0.0.255", p, &len));
  ASSERT_EQ(len, 4);
  ASSERT_OK(lsk_inet_ntop(AF_INET, p, len, text, sizeof text));
  ASSERT_STR(text, "10.0.0.255");
  /* inet_pton is strict where inet_aton is not. */
  ASSERT_EQ(lsk_inet_pton(AF_INET, "127.1", p, &len), EINVAL);
  ASSERT_EQ(lsk_inet_pton(AF_INET6, "1:2:3", p, &len), EINVAL);
  ASSERT_EQ(lsk_inet_pton(AF_UNIX, "x", p, &len), EAFNOSUPPORT);
  ASSERT_EQ(lsk_inet_ntop(AF_INET, p, 3, text, sizeof text), EINVAL);
  ASSERT_EQ(lsk_inet_ntop(AF_INET6, p, 4, text, sizeof text), EINVAL);
  ASSERT_EQ(lsk_inet_ntop(AF_UNIX, p, 4, text, sizeof text), EAFNOSUPPORT);
  ASSERT_EQ(lsk_inet_ntop(AF_INET, p, 4, text, 4), ENOSPC);
}

static long long constant(const char *want) {
  long long v;
  for (int i = 0, n = lsk_const_count(); i < n; i++) {
    const char *name = lsk_const_entry(i, &v);
    if (strcmp(name, want) == 0)
      return v;
  }
  FAIL_AT("no constant %s", want);
}

static void constants(void) {
  long long v;
  ASSERT(lsk_const_count() > 100);
  ASSERT(lsk_const_entry(-1, &v) == NULL);
  ASSERT(lsk_const_entry(lsk_const_count(), &v) == NULL);
  ASSERT_EQ(constant("AF_INET6"), AF_INET6);
  ASSERT_EQ(constant("SOCK_DGRAM"), SOCK_DGRAM);
  ASSERT_EQ(constant("SO_REUSEADDR"), SO_REUSEADDR);
  ASSERT_EQ(constant("IPPROTO_TCP"), IPPROTO_TCP);
  ASSERT_EQ(constant("SCM_RIGHTS"), SCM_RIGHTS);
  ASSERT_EQ(constant("SHUT_RDWR"), SHUT_RDWR);
  ASSERT_EQ(constant("NI_NAMEREQD"), NI_NAMEREQD);
  ASSERT_EQ(constant("EAI_NONAME"), EAI_NONAME);
  ASSERT_EQ(constant("INADDR_NONE"), 0xffffffffLL);
  ASSERT_EQ(constant("SOMAXCONN"), SOMAXCONN);
}

int main(void) {
  RUN(info_numeric);
  RUN(info_names);
  RUN(info_failures);
  RUN(numeric_and_nameinfo);
  RUN(host_lookups);
  RUN(herr_codes);
  RUN(services_and_protocols);
  RUN(hostname);
  RUN(conversions);
  RUN(constants);
  return 0;
}
