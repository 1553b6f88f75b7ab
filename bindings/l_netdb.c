/* bindings/l_netdb: name services, conversions and the other module
 * functions, each one core call between argument checks and results.
 * Resolver failures raise "gaierror" objects, the gethostbyname_ex and
 * gethostbyaddr lookups "herror" ones (core/resolve.c has the mapping). */
#include "l_netdb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/inet.h"
#include "../core/lookup.h"
#include "../core/resolve.h"
#include "../core/sock.h"
#include "l_addr.h"
#include "l_error.h"
#include "l_policy.h"
#include "l_socket.h"
#include "l_task.h"

/* Holds a getaddrinfo result while its Lua copy is built, so that a memory
 * error on the way frees it (at collection) instead of leaking it. */
#define LSOCK_AINFO "lsock.addrinfo"

/* ---- argument helpers ---- */

/* A string without embedded zeros: the C resolver would stop at one. */
static const char *checkcstr(lua_State *L, int i) {
  size_t len;
  const char *s = luaL_checklstring(L, i, &len);
  luaL_argcheck(L, strlen(s) == len, i, "string contains a zero byte");
  return s;
}

static const char *optcstr(lua_State *L, int i) {
  return lua_isnoneornil(L, i) ? NULL : checkcstr(L, i);
}

static int checkint(lua_State *L, int i) {
  lua_Integer v = luaL_checkinteger(L, i);
  luaL_argcheck(L, v >= INT_MIN && v <= INT_MAX, i, "integer out of range");
  return (int)v;
}

/* Packed bytes: a string proper. Lua would turn the number 1234 into
 * "1234", which is never the address a script meant. */
static const char *checkbytes(lua_State *L, int i, size_t *len) {
  luaL_checktype(L, i, LUA_TSTRING);
  return lua_tolstring(L, i, len);
}

static int optint(lua_State *L, int i, int def) {
  return lua_isnoneornil(L, i) ? def : checkint(L, i);
}

static int checkport(lua_State *L, int i) {
  lua_Integer port = luaL_checkinteger(L, i);
  luaL_argcheck(L, port >= 0 && port <= 65535, i, "port must be 0-65535");
  return (int)port;
}

/* Sets t[k] = v on the table at the top of the stack. */
static void setint(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* Pushes an array of the n strings at s, each `stride` bytes apart. */
static void pusharray(lua_State *L, const char *s, size_t stride, int n) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, s + (size_t)i * stride);
    lua_rawseti(L, -2, i + 1);
  }
}

/* ---- getaddrinfo and getnameinfo ---- */

static int mm_ainfo_gc(lua_State *L) {
  lsk_ainfo **box = (lsk_ainfo **)luaL_checkudata(L, 1, LSOCK_AINFO);
  lsk_resolve_free(*box);
  *box = NULL;
  return 0;
}

/* Pushes the address values as the socket methods return them, packed in
 * an array: {"127.0.0.1", 80} or {"::1", 80, 0, 0}. */
static void pushaddrtable(lua_State *L, const lsk_addr *a) {
  int n = lsockL_pushaddr(L, NULL, a);  /* v1 .. vn */
  lua_createtable(L, n, 0);
  lua_insert(L, -(n + 1));        /* t, v1 .. vn */
  int t = lua_gettop(L) - n;
  for (int i = n; i >= 1; i--)
    lua_rawseti(L, t, i);         /* t */
}

/* The service argument: nil, a port number (or a string that is one) or a
 * service name. Returns the text for getaddrinfo or NULL; buf holds a
 * number's digits. */
static const char *checkservice(lua_State *L, int i, char *buf, size_t n) {
  int isnum;
  switch (lua_type(L, i)) {
  case LUA_TNONE:
  case LUA_TNIL: return NULL;
  case LUA_TNUMBER: break;
  case LUA_TSTRING:
    lua_tointegerx(L, i, &isnum);
    if (!isnum)
      return checkcstr(L, i);
    break;
  default: luaL_typeerror(L, i, "integer, string or nil");
  }
  snprintf(buf, n, "%d", checkport(L, i));
  return buf;
}

/* socket.getaddrinfo(host, port [, family [, type [, proto [, flags]]]]) */
/* A getaddrinfo for a worker thread, so that a task's lookup stalls no
 * other task. The strings live after the struct. */
typedef struct AinfoJob {
  lsk_job job;
  lsk_ainfo *res;
  int err;
  int family, type, proto, flags;
  const char *host, *serv;
  char where[256];
  char text[];
} AinfoJob;

static void ainfo_run(lsk_job *job) {
  AinfoJob *j = (AinfoJob *)job;
  j->err = lsk_resolve_info(&j->res, j->host, j->serv, j->family, j->type,
                            j->proto, j->flags);
}

static void ainfo_free(lsk_job *job) {
  AinfoJob *j = (AinfoJob *)job;
  lsk_resolve_free(j->res);
  free(j);
}

/* The results of a lookup in `box` (slot 7) as API.md's array. */
static int pushinfo(lua_State *L, lsk_ainfo **box) {
  lua_newtable(L);  /* ..., results */
  int n = 0;
  for (const lsk_ainfo *e = *box; e; e = e->next) {
    lua_createtable(L, 0, 5);  /* ..., results, entry */
    setint(L, "family", e->family);
    setint(L, "type", e->type);
    setint(L, "proto", e->proto);
    lua_pushstring(L, e->canonname);
    lua_setfield(L, -2, "canonname");
    pushaddrtable(L, &e->addr);  /* ..., results, entry, addr */
    lua_setfield(L, -2, "addr");
    lua_rawseti(L, -2, ++n);  /* ..., results */
  }
  lsk_resolve_free(*box);
  *box = NULL;
  return 1;
}

/* After the worker's lookup: slot 7 the box, 8 the job. */
static int getaddrinfo_k(lua_State *L, int status, lua_KContext ctx) {
  lsk_ainfo **box = (lsk_ainfo **)lua_touserdata(L, 7);
  AinfoJob *j = (AinfoJob *)lua_touserdata(L, 8);
  char where[256];
  int err = status == LUA_YIELD ? lsockL_resumed(L, NULL) : (int)ctx;
  lua_settop(L, 7);
  memcpy(where, j->where, sizeof where);
  if (err) /* the wait gave up: the job is the pool's now */
    return lsockL_error(L, err, "getaddrinfo", where[0] ? where : NULL);
  *box = j->res; /* the box frees the list if building the table fails */
  j->res = NULL;
  err = j->err;
  free(j);
  if (err)
    return lsockL_error(L, err, "getaddrinfo", where[0] ? where : NULL);
  return pushinfo(L, box);
}

static int f_getaddrinfo(lua_State *L) {
  char portbuf[16];
  const char *host = optcstr(L, 1);
  const char *serv = checkservice(L, 2, portbuf, sizeof portbuf);
  int family = optint(L, 3, AF_UNSPEC);
  int type = optint(L, 4, 0);
  int proto = optint(L, 5, 0);
  int flags = optint(L, 6, 0);
  size_t hl = host ? strlen(host) + 1 : 0, sl = serv ? strlen(serv) + 1 : 0;
  AinfoJob *j = (AinfoJob *)calloc(1, sizeof *j + hl + sl);
  if (!j)
    return luaL_error(L, "not enough memory");
  j->job.run = ainfo_run;
  j->job.free = ainfo_free;
  j->family = family;
  j->type = type;
  j->proto = proto;
  j->flags = flags;
  if (host)
    j->host = memcpy(j->text, host, hl);
  if (serv)
    j->serv = memcpy(j->text + hl, serv, sl);
  snprintf(j->where, sizeof j->where, "%.200s%s%.32s", host ? host : "",
           host && serv ? ":" : "", serv ? serv : "");
  lua_settop(L, 6);
  lsk_ainfo **box = (lsk_ainfo **)lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  luaL_setmetatable(L, LSOCK_AINFO);  /* slot 7: box */
  lua_pushlightuserdata(L, j);        /* slot 8: the job */
  if (lsockL_canblock(L, lsockL_ctx(L))) {
    /* Nothing else could run meanwhile: look it up here. */
    ainfo_run(&j->job);
    return getaddrinfo_k(L, LUA_OK, 0);
  }
  int err = lsockL_waitjob(L, &j->job, LSK_NEVER, getaddrinfo_k, 0);
  if (err && err != ETIMEDOUT && err != EINTR) {
    free(j); /* never queued */
    return lsockL_error(L, err, "getaddrinfo", NULL);
  }
  return getaddrinfo_k(L, LUA_OK, err);
}

/* socket.getnameinfo(flags, host, port [, flowinfo [, scope_id]]): the
 * host must be numeric, as in Python, which parses it with
 * AI_NUMERICHOST. */
static int f_getnameinfo(lua_State *L) {
  char host[LSK_HOSTNAME_MAX], serv[NI_MAXSERV], where[256];
  lsk_addr a;
  int flags = checkint(L, 1);
  const char *text = checkcstr(L, 2);
  int port = checkport(L, 3);
  lua_Integer flow = luaL_optinteger(L, 4, 0);
  luaL_argcheck(L, flow >= 0 && flow <= 0xfffff, 4,
                "flowinfo must be 0-1048575");
  lua_Integer scope = luaL_optinteger(L, 5, 0);
  luaL_argcheck(L, scope >= 0 && scope <= 0xffffffff, 5,
                "scope_id out of range");
  snprintf(where, sizeof where, "%.200s:%d", text, port);
  int err = lsk_resolve_numeric(&a, text, port, (uint32_t)flow,
                                (uint32_t)scope);
  if (err)
    return lsockL_error(L, err, "getnameinfo", where);
  /* Python: "IPv4 sockaddr must be 2 tuple". */
  luaL_argcheck(L, a.u.sa.sa_family != AF_INET ||
                (lua_isnoneornil(L, 4) && lua_isnoneornil(L, 5)),
                4, "an IPv4 address is host and port only");
  err = lsk_resolve_nameinfo(&a, flags, host, sizeof host, serv, sizeof serv);
  if (err)
    return lsockL_error(L, err, "getnameinfo", where);
  lua_pushstring(L, host);
  lua_pushstring(L, serv);
  return 2;
}

/* ---- host names ---- */

static int f_gethostname(lua_State *L) {
  char name[LSK_HOSTNAME_MAX];
  int err = lsk_lookup_hostname(name, sizeof name);
  if (err)
    return lsockL_error(L, err, "gethostname", NULL);
  lua_pushstring(L, name);
  return 1;
}

/* socket.gethostbyname(name): Python's setipaddr, so "" is 0.0.0.0 and
 * "<broadcast>" 255.255.255.255; failures are gaierror, as in Python. */
static int f_gethostbyname(lua_State *L) {
  char text[LSK_HOST_MAX];
  lsk_addr a;
  const char *name = checkcstr(L, 1);
  int err = lsk_addr_inet(&a, AF_INET, name, 0, 0, 0);
  if (!err)
    err = lsk_addr_host(&a, text, sizeof text);
  if (err)
    return lsockL_error(L, err, "gethostbyname", name);
  lua_pushstring(L, text);
  return 1;
}

static int pushhost(lua_State *L, const lsk_host *h) {
  lua_pushstring(L, h->name);
  pusharray(L, h->alias, sizeof h->alias, h->alias[0] ? 1 : 0);
  pusharray(L, h->addrs[0], sizeof h->addrs[0], h->naddrs);
  return 3;
}

/* lsk_host is about 4 KiB: a userdata rather than the C stack of a
 * function that may run deep in a script's recursion. */
static lsk_host *newhost(lua_State *L) {
  return (lsk_host *)lua_newuserdatauv(L, sizeof(lsk_host), 0);
}

/* socket.gethostbyname_ex(name) -> name, aliases, addresses (IPv4) */
static int f_gethostbyname_ex(lua_State *L) {
  const char *name = checkcstr(L, 1);
  lsk_host *h = newhost(L);
  int err = lsk_resolve_hostbyname(h, name);
  if (err)
    return lsockL_error(L, err, "gethostbyname_ex", name);
  return pushhost(L, h);
}

/* socket.gethostbyaddr(ip) -> name, aliases, addresses */
static int f_gethostbyaddr(lua_State *L) {
  const char *ip = checkcstr(L, 1);
  lsk_host *h = newhost(L);
  int err = lsk_resolve_hostbyaddr(h, ip);
  if (err)
    return lsockL_error(L, err, "gethostbyaddr", ip);
  return pushhost(L, h);
}

/* ---- services and protocols ---- */

/* socket.getservbyname(name [, proto]) -> port */
static int f_getservbyname(lua_State *L) {
  int port;
  const char *name = checkcstr(L, 1);
  const char *proto = optcstr(L, 2);
  int err = lsk_lookup_servbyname(name, proto, &port);
  if (err)
    return lsockL_error(L, err, "getservbyname", name);
  lua_pushinteger(L, port);
  return 1;
}

/* socket.getservbyport(port [, proto]) -> name */
static int f_getservbyport(lua_State *L) {
  char name[256], where[16];
  int port = checkport(L, 1);
  const char *proto = optcstr(L, 2);
  int err = lsk_lookup_servbyport(port, proto, name, sizeof name);
  if (err) {
    snprintf(where, sizeof where, "%d", port);
    return lsockL_error(L, err, "getservbyport", where);
  }
  lua_pushstring(L, name);
  return 1;
}

/* socket.getprotobyname(name) -> number */
static int f_getprotobyname(lua_State *L) {
  int proto;
  const char *name = checkcstr(L, 1);
  int err = lsk_lookup_protobyname(name, &proto);
  if (err)
    return lsockL_error(L, err, "getprotobyname", name);
  lua_pushinteger(L, proto);
  return 1;
}

/* ---- address conversions ---- */

/* Text that is no address raises an EINVAL error object where Python
 * raises OSError ("illegal IP address string"); wrong lengths and
 * families of packed input are argument errors, as Python's ValueError. */

static int f_inet_aton(lua_State *L) {
  unsigned char packed[4];
  const char *text = checkcstr(L, 1);
  int err = lsk_inet_aton(text, packed);
  if (err)
    return lsockL_error(L, err, "inet_aton", text);
  lua_pushlstring(L, (const char *)packed, sizeof packed);
  return 1;
}

static int f_inet_ntoa(lua_State *L) {
  char text[LSK_HOST_MAX];
  size_t len;
  const char *packed = checkbytes(L, 1, &len);
  luaL_argcheck(L, len == 4, 1, "packed IPv4 address must be 4 bytes");
  int err = lsk_inet_ntop(AF_INET, packed, len, text, sizeof text);
  if (err)
    return lsockL_error(L, err, "inet_ntoa", NULL);
  lua_pushstring(L, text);
  return 1;
}

/* socket.inet_pton(family, text): EAFNOSUPPORT for another family, as
 * Python. */
static int f_inet_pton(lua_State *L) {
  unsigned char packed[LSK_PACKED_MAX];
  size_t len;
  int family = checkint(L, 1);
  const char *text = checkcstr(L, 2);
  int err = lsk_inet_pton(family, text, packed, &len);
  if (err)
    return lsockL_error(L, err, "inet_pton", text);
  lua_pushlstring(L, (const char *)packed, len);
  return 1;
}

static int f_inet_ntop(lua_State *L) {
  char text[LSK_HOST_MAX];
  size_t len;
  int family = checkint(L, 1);
  const char *packed = checkbytes(L, 2, &len);
  int err = lsk_inet_ntop(family, packed, len, text, sizeof text);
  luaL_argcheck(L, err != EAFNOSUPPORT, 1, "unknown address family");
  luaL_argcheck(L, err != EINVAL, 2,
                "packed address has the wrong length for the family");
  if (err)
    return lsockL_error(L, err, "inet_ntop", NULL);
  lua_pushstring(L, text);
  return 1;
}

/* ---- byte order ---- */

static lua_Integer checkrange(lua_State *L, int i, lua_Integer max) {
  lua_Integer v = luaL_checkinteger(L, i);
  luaL_argcheck(L, v >= 0 && v <= max, i,
                max == 0xffff ? "value must be 0-65535"
                              : "value must be 0-4294967295");
  return v;
}

static int f_htons(lua_State *L) {
  lua_pushinteger(L, htons((uint16_t)checkrange(L, 1, 0xffff)));
  return 1;
}

static int f_ntohs(lua_State *L) {
  lua_pushinteger(L, ntohs((uint16_t)checkrange(L, 1, 0xffff)));
  return 1;
}

static int f_htonl(lua_State *L) {
  lua_pushinteger(L, htonl((uint32_t)checkrange(L, 1, 0xffffffff)));
  return 1;
}

static int f_ntohl(lua_State *L) {
  lua_pushinteger(L, ntohl((uint32_t)checkrange(L, 1, 0xffffffff)));
  return 1;
}

/* ---- socketpair and fromfd ---- */

/* socket.socketpair([family [, type [, proto]]]): Python's defaults,
 * AF_UNIX and SOCK_STREAM. Both take the module default timeout, or 0
 * with SOCK_NONBLOCK or-ed into type, as socket() does. */
static int f_socketpair(lua_State *L) {
  int family = optint(L, 1, AF_UNIX);
  int type = optint(L, 2, SOCK_STREAM);
  int proto = optint(L, 3, 0);
  luaL_argcheck(L, family > AF_UNSPEC && family < AF_MAX, 1,
                "unknown address family");
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  luaL_argcheck(L, base >= SOCK_STREAM && base <= SOCK_PACKET, 2,
                "unknown socket type");
  luaL_argcheck(L, proto >= 0 && proto <= 0xffff, 3, "protocol out of range");
  lsockL_policy_family(L, lsockL_ctx(L), family, "socketpair");
  lsockL_Socket *a = lsockL_newsock(L);
  lsockL_Socket *b = lsockL_newsock(L);  /* a, b: both closed for now */
  if (type & SOCK_NONBLOCK)
    a->timeout = b->timeout = 0;
  int err = lsk_sock_pair(&a->s, &b->s, family, base | lsockL_newflags(L, a),
                          proto);
  if (err)
    return lsockL_error(L, err, "socketpair", NULL);
  lsockL_opened(L, -2);
  lsockL_opened(L, -1);
  return 2;
}

/* socket.fromfd(fd, family, type [, proto]): a socket on a duplicate of
 * fd. Python takes family, type and proto on trust; the object reports
 * what the kernel says the descriptor is, so that addresses are always
 * read for the right family. The arguments must still be integers. */
static int f_fromfd(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  luaL_argcheck(L, fd >= 0 && fd <= INT_MAX, 1, "bad file descriptor");
  checkint(L, 2);
  checkint(L, 3);
  optint(L, 4, 0);
  lsockL_Socket *s = lsockL_newsock(L);
  int err = lsk_sock_fromfd(&s->s, (int)fd);
  if (err)
    return lsockL_error(L, err, "fromfd", NULL);
  lsockL_opened(L, -1);
  s->shared = 1;
  /* The family is known only now; a refused one leaves an object that
   * its __gc closes. */
  lsockL_policy_family(L, s->ctx, s->s.family, "fromfd");
  return 1;
}

/* Python sets has_ipv6 at build time; here it means an AF_INET6 socket
 * can be made now, which is what a script wants to know. */
static int hasipv6(void) {
  lsk_sock s;
  if (lsk_sock_open(&s, AF_INET6, SOCK_STREAM, 0) != 0)
    return 0;
  lsk_sock_close(&s);
  return 1;
}

static const luaL_Reg functions[] = {
  {"getaddrinfo", f_getaddrinfo},
  {"getnameinfo", f_getnameinfo},
  {"gethostname", f_gethostname},
  {"gethostbyname", f_gethostbyname},
  {"gethostbyname_ex", f_gethostbyname_ex},
  {"gethostbyaddr", f_gethostbyaddr},
  {"getservbyname", f_getservbyname},
  {"getservbyport", f_getservbyport},
  {"getprotobyname", f_getprotobyname},
  {"inet_aton", f_inet_aton},
  {"inet_ntoa", f_inet_ntoa},
  {"inet_pton", f_inet_pton},
  {"inet_ntop", f_inet_ntop},
  {"htons", f_htons},
  {"ntohs", f_ntohs},
  {"htonl", f_htonl},
  {"ntohl", f_ntohl},
  {"socketpair", f_socketpair},
  {"fromfd", f_fromfd},
  {NULL, NULL}
};

void lsockL_opennetdb(lua_State *L) {
  luaL_newmetatable(L, LSOCK_AINFO);  /* module, mt */
  lua_pushcfunction(L, mm_ainfo_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);                      /* module */
  luaL_setfuncs(L, functions, 0);
  lua_pushboolean(L, hasipv6());
  lua_setfield(L, -2, "has_ipv6");
}
