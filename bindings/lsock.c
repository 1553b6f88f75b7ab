/* bindings/lsock: luaopen_lsock, the module table and its constants.
 * The socket object lives in l_socket.c, errors in l_error.c, file objects
 * in l_file.c. */
#include "lsock.h"

#include <lauxlib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "../core/clock.h"
#include "../core/err.h"
#include "l_error.h"
#include "l_file.h"
#include "l_socket.h"

struct constant {
  const char *name;
  lua_Integer value;
};

/* The platform's socket constants by name; those that only some systems
 * define are guarded. The errno and EAI names come from core/err. */
static const struct constant constants[] = {
#define C(x) {#x, x},
  C(AF_UNSPEC) C(AF_INET) C(AF_INET6) C(AF_UNIX)
#ifdef AF_PACKET
  C(AF_PACKET)
#endif
#ifdef AF_NETLINK
  C(AF_NETLINK)
#endif
  C(SOCK_STREAM) C(SOCK_DGRAM) C(SOCK_RAW) C(SOCK_SEQPACKET) C(SOCK_RDM)
#ifdef SOCK_NONBLOCK
  C(SOCK_NONBLOCK) C(SOCK_CLOEXEC)
#endif
  C(SOL_SOCKET)
#ifdef SOL_IP
  C(SOL_IP) C(SOL_TCP)
#endif
#ifdef SOL_UDP
  C(SOL_UDP)
#endif
  C(SO_ACCEPTCONN) C(SO_BROADCAST) C(SO_DEBUG) C(SO_DONTROUTE) C(SO_ERROR)
  C(SO_KEEPALIVE) C(SO_LINGER) C(SO_OOBINLINE) C(SO_RCVBUF) C(SO_RCVLOWAT)
  C(SO_RCVTIMEO) C(SO_REUSEADDR) C(SO_SNDBUF) C(SO_SNDLOWAT) C(SO_SNDTIMEO)
  C(SO_TYPE)
#ifdef SO_REUSEPORT
  C(SO_REUSEPORT)
#endif
#ifdef SO_DOMAIN
  C(SO_DOMAIN) C(SO_PROTOCOL) C(SO_PEERCRED) C(SO_PASSCRED) C(SO_PRIORITY)
  C(SO_MARK) C(SO_BINDTODEVICE)
#endif
  C(IPPROTO_IP) C(IPPROTO_IPV6) C(IPPROTO_TCP) C(IPPROTO_UDP) C(IPPROTO_ICMP)
  C(IPPROTO_ICMPV6) C(IPPROTO_RAW)
#ifdef IPPROTO_SCTP
  C(IPPROTO_SCTP)
#endif
  C(IP_TOS) C(IP_TTL) C(IP_HDRINCL) C(IP_OPTIONS) C(IP_MULTICAST_IF)
  C(IP_MULTICAST_TTL) C(IP_MULTICAST_LOOP) C(IP_ADD_MEMBERSHIP)
  C(IP_DROP_MEMBERSHIP)
#ifdef IP_RECVTOS
  C(IP_RECVTOS)
#endif
  C(IPV6_V6ONLY) C(IPV6_UNICAST_HOPS) C(IPV6_MULTICAST_IF)
  C(IPV6_MULTICAST_HOPS) C(IPV6_MULTICAST_LOOP) C(IPV6_JOIN_GROUP)
  C(IPV6_LEAVE_GROUP)
#ifdef IPV6_RECVPKTINFO
  C(IPV6_RECVPKTINFO) C(IPV6_TCLASS)
#endif
  C(TCP_NODELAY) C(TCP_MAXSEG)
#ifdef TCP_KEEPIDLE
  C(TCP_KEEPIDLE) C(TCP_KEEPINTVL) C(TCP_KEEPCNT)
#endif
#ifdef TCP_CORK
  C(TCP_CORK) C(TCP_QUICKACK) C(TCP_DEFER_ACCEPT) C(TCP_USER_TIMEOUT)
  C(TCP_FASTOPEN) C(TCP_CONGESTION) C(TCP_INFO)
#endif
  C(MSG_OOB) C(MSG_PEEK) C(MSG_DONTROUTE) C(MSG_WAITALL) C(MSG_TRUNC)
  C(MSG_CTRUNC) C(MSG_EOR)
#ifdef MSG_DONTWAIT
  C(MSG_DONTWAIT) C(MSG_NOSIGNAL) C(MSG_MORE) C(MSG_CMSG_CLOEXEC)
  C(MSG_CONFIRM) C(MSG_ERRQUEUE)
#endif
  C(SHUT_RD) C(SHUT_WR) C(SHUT_RDWR)
  C(SOMAXCONN)
  C(AI_PASSIVE) C(AI_CANONNAME) C(AI_NUMERICHOST) C(AI_NUMERICSERV)
  C(AI_V4MAPPED) C(AI_ALL) C(AI_ADDRCONFIG)
  C(NI_NUMERICHOST) C(NI_NUMERICSERV) C(NI_NOFQDN) C(NI_NAMEREQD)
  C(NI_DGRAM) C(NI_MAXHOST) C(NI_MAXSERV)
  C(INADDR_ANY) C(INADDR_BROADCAST) C(INADDR_LOOPBACK) C(INADDR_NONE)
#undef C
  {NULL, 0}
};

/* socket.monotonic(): seconds from the clock deadlines use, for timing. */
static int f_monotonic(lua_State *L) {
  lua_pushnumber(L, (lua_Number)lsk_clock_now() / 1e9);
  return 1;
}

static void setconstants(lua_State *L) {
  for (const struct constant *c = constants; c->name; c++) {
    lua_pushinteger(L, c->value);
    lua_setfield(L, -2, c->name);
  }
  /* Errno and EAI names; an alias never overwrites its canonical name's
   * entry, and both names are set. */
  for (int i = 0, n = lsk_err_count(); i < n; i++) {
    int value;
    const char *name = lsk_err_entry(i, &value);
    lua_pushinteger(L, value);
    lua_setfield(L, -2, name);
  }
}

LSOCK_API int luaopen_lsock(lua_State *L) {
  luaL_checkversion(L);
  lua_newtable(L);  /* module */
  lsockL_openerror(L);
  lsockL_opensocket(L);
  lsockL_openfile(L);
  setconstants(L);
  lua_pushcfunction(L, f_monotonic);
  lua_setfield(L, -2, "monotonic");
  lua_pushliteral(L, LSOCK_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
