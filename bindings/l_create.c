/* bindings/l_create: create_connection and create_server (see l_create.h).
 * create_connection looks the name up (on a worker thread when anything
 * else could run meanwhile or a timeout must cover it), then hands the
 * addresses to core/race and waits for its sockets with lsockL_waitmany,
 * one deadline over the whole call. Its state lives in stack slots and in
 * a userdata that closes whatever sockets are left if the call dies. */
#include "l_create.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/race.h"
#include "../core/resolve.h"
#include "../core/wait.h"
#include "l_error.h"
#include "l_socket.h"
#include "l_task.h"

#define LSOCK_RACE "lsock.race"

/* RFC 8305's recommended Connection Attempt Delay, Python asyncio's too. */
#define DEFAULT_DELAY 0.25

/* Stack slots of create_connection. */
enum {
  C_HOSTS = 1, /* array of host strings */
  C_PORT,
  C_TIMEOUT,   /* seconds, -1 blocking: the new socket's timeout */
  C_DELAY,     /* seconds between attempts, -1 one at a time */
  C_SRCHOST,   /* string or nil */
  C_SRCPORT,
  C_DEADLINE,
  C_JOB,       /* the lookup in flight (light userdata) or nil */
  C_RACE,      /* the Conn userdata once the addresses are known */
  C_NAME,      /* "host:port", for errors */
  C_PHASE,
  NSLOTS = C_PHASE
};

enum { P_LOOKUP, P_RACE };

/* ---- the lookup job ---- */

typedef struct Lookup {
  lsk_job job; /* first: the loop sees a job */
  int nhosts;
  int err;          /* the first failure */
  char port[16];
  lsk_ainfo **res;  /* one list per host */
  char **hosts;
} Lookup;

static void lookup_run(lsk_job *job) {
  Lookup *l = (Lookup *)job;
  for (int i = 0; i < l->nhosts; i++) {
    int err = lsk_resolve_info(&l->res[i], l->hosts[i], l->port, AF_UNSPEC,
                               SOCK_STREAM, 0, 0);
    if (err && !l->err)
      l->err = err;
  }
}

static void lookup_free(lsk_job *job) {
  Lookup *l = (Lookup *)job;
  for (int i = 0; i < l->nhosts; i++)
    lsk_resolve_free(l->res[i]);
  free(l);
}

/* One block: the struct, the list heads, the host pointers, the text. */
static Lookup *newlookup(lua_State *L, int port) {
  int n = (int)lua_rawlen(L, C_HOSTS);
  size_t text = 0;
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, C_HOSTS, i);
    text += lua_rawlen(L, -1) + 1;
    lua_pop(L, 1);
  }
  size_t size = sizeof(Lookup) + (size_t)n * (sizeof(lsk_ainfo *) +
                                               sizeof(char *)) + text;
  Lookup *l = (Lookup *)calloc(1, size);
  if (!l)
    luaL_error(L, "not enough memory");
  l->job.run = lookup_run;
  l->job.free = lookup_free;
  l->nhosts = n;
  snprintf(l->port, sizeof l->port, "%d", port);
  l->res = (lsk_ainfo **)(l + 1);
  l->hosts = (char **)(l->res + n);
  char *p = (char *)(l->hosts + n);
  for (int i = 1; i <= n; i++) {
    size_t len;
    lua_rawgeti(L, C_HOSTS, i);
    const char *h = lua_tolstring(L, -1, &len);
    memcpy(p, h, len + 1);
    l->hosts[i - 1] = p;
    p += len + 1;
    lua_pop(L, 1);
  }
  return l;
}

/* ---- the race userdata ---- */

typedef struct Conn {
  int n;
  int nws;        /* waiters armed by the last wait */
  lsk_waiter *ws; /* n of them, after the header */
  lsk_race *r;    /* after the waiters */
} Conn;

#define CONN_HEAD ((sizeof(Conn) + 15) & ~(size_t)15)

static void forget(int fd, void *ctx) {
  lsockL_forget((lua_State *)ctx, NULL, fd);
}

/* __gc: a call that died (an error, an interrupt) leaves no socket open
 * and no waiter armed. */
static int mm_race_gc(lua_State *L) {
  Conn *c = (Conn *)luaL_checkudata(L, 1, LSOCK_RACE);
  if (c->r) {
    lsockL_waitdone(L, c->ws, c->n);
    c->r->forget = forget;
    c->r->ctx = L;
    lsk_race_close(c->r, ECANCELED);
    c->r = NULL;
  }
  return 0;
}

static Conn *newconn(lua_State *L, int n, double delay) {
  size_t wsize = (size_t)n * sizeof(lsk_waiter);
  wsize = (wsize + 15) & ~(size_t)15;
  Conn *c = (Conn *)lua_newuserdatauv(L, CONN_HEAD + wsize + lsk_race_size(n),
                                      0);
  memset(c, 0, CONN_HEAD + wsize);
  c->n = n;
  c->ws = (lsk_waiter *)((char *)c + CONN_HEAD);
  for (int i = 0; i < n; i++)
    c->ws[i].heap = -1;
  c->r = (lsk_race *)((char *)c + CONN_HEAD + wsize);
  lsk_race_init(c->r, n, delay);
  luaL_setmetatable(L, LSOCK_RACE);
  return c;
}

/* Raises the failure of the whole call: `address` names every address
 * tried, in order, and `errors` holds one error object per address. */
static int raise_race(lua_State *L, Conn *c, int err) {
  char text[LSK_ADDR_TEXT_MAX];
  luaL_Buffer b;
  int tried = 0;
  luaL_buffinit(L, &b);
  for (int i = 0; i < c->n; i++) {
    lsk_race_try *t = &c->r->tries[i];
    if (t->state != LSK_TRY_FAILED)
      continue;
    lsk_addr_format(&t->addr, text, sizeof text);
    if (tried++)
      luaL_addstring(&b, ", ");
    luaL_addstring(&b, text);
  }
  luaL_pushresult(&b); /* ..., where */
  int where = lua_gettop(L);
  lsockL_pusherror(L, err, "create_connection", lua_tostring(L, where));
  lua_createtable(L, tried, 0); /* ..., where, e, errors */
  tried = 0;
  for (int i = 0; i < c->n; i++) {
    lsk_race_try *t = &c->r->tries[i];
    if (t->state != LSK_TRY_FAILED)
      continue;
    lsk_addr_format(&t->addr, text, sizeof text);
    lsockL_pusherror(L, t->err, "connect", text);
    lua_rawseti(L, -2, ++tried);
  }
  lua_setfield(L, -2, "errors");
  return lua_error(L);
}

static int won(lua_State *L, Conn *c, int winner) {
  double timeout = lua_tonumber(L, C_TIMEOUT);
  lsockL_Socket *s = lsockL_newsock(L);
  c->r->forget = forget;
  c->r->ctx = L;
  lsk_race_take(c->r, winner, &s->s);
  c->r = NULL; /* nothing left for __gc */
  lsockL_opened(L, -1);
  s->timeout = timeout;
  return 1;
}

static int create_k(lua_State *L, int status, lua_KContext ctx);

/* The race: start and check attempts, wait for the sockets in flight or
 * for the next start, until one connects, all fail or the deadline
 * passes. */
static int race(lua_State *L) {
  Conn *c = (Conn *)lua_touserdata(L, C_RACE);
  lsk_deadline d = (lsk_deadline)lua_tointeger(L, C_DEADLINE);
  for (;;) {
    int winner = -1, k = 0;
    c->r->forget = forget;
    c->r->ctx = L;
    int err = lsk_race_step(c->r, &winner);
    if (err == 0)
      return won(L, c, winner);
    if (err != EAGAIN) {
      lsk_race_close(c->r, err);
      return raise_race(L, c, err);
    }
    if (lsk_deadline_expired(d)) {
      lsk_race_close(c->r, ETIMEDOUT);
      return raise_race(L, c, ETIMEDOUT);
    }
    for (int i = 0; i < c->n; i++) {
      lsk_race_try *t = &c->r->tries[i];
      if (t->state != LSK_TRY_CONNECTING)
        continue;
      memset(&c->ws[k], 0, sizeof c->ws[k]);
      c->ws[k].heap = -1;
      c->ws[k].fd = t->sock.fd;
      c->ws[k].events = LSK_WANT_WRITE;
      k++;
    }
    lsk_deadline wake = lsk_race_wake(c->r);
    c->nws = k;
    err = lsockL_waitmany(L, c->ws, k, wake < d ? wake : d, create_k, 0);
    c->nws = 0; /* outside a task the wait disarmed them all */
    if (err && err != ETIMEDOUT) {
      lsk_race_close(c->r, err);
      return raise_race(L, c, err);
    }
  }
}

/* Fills the race from the lookup's results and frees the lookup; raises
 * the lookup's failure when no address came back. */
static void setup(lua_State *L, Lookup *l) {
  int n = 0;
  for (int i = 0; i < l->nhosts; i++)
    for (lsk_ainfo *e = l->res[i]; e; e = e->next)
      n++;
  if (n == 0 || n > 4096) {
    int err = n ? E2BIG : l->err ? l->err : LSK_EAI(EAI_NONAME);
    lookup_free(&l->job);
    lsockL_error(L, err, "create_connection", lua_tostring(L, C_NAME));
  }
  double delay = lua_tonumber(L, C_DELAY);
  Conn *c = newconn(L, n, delay);
  lua_replace(L, C_RACE);
  int k = 0;
  for (int i = 0; i < l->nhosts; i++)
    for (lsk_ainfo *e = l->res[i]; e; e = e->next, k++) {
      lsk_race_try *t = &c->r->tries[k];
      t->addr = e->addr;
      t->type = e->type;
      t->proto = e->proto;
    }
  lookup_free(&l->job);
  if (!lua_isnil(L, C_SRCHOST)) {
    /* The source address in each family that occurs, looked up once. */
    const char *src = lua_tostring(L, C_SRCHOST);
    int port = (int)lua_tointeger(L, C_SRCPORT);
    lsk_addr a4, a6;
    int e4 = -1, e6 = -1;
    for (int i = 0; i < n; i++) {
      lsk_race_try *t = &c->r->tries[i];
      int fam = t->addr.u.sa.sa_family;
      int *e = fam == AF_INET6 ? &e6 : &e4;
      lsk_addr *a = fam == AF_INET6 ? &a6 : &a4;
      if (*e < 0)
        *e = lsk_addr_inet(a, fam, src, port, 0, 0);
      t->has_src = 1;
      t->src = *a;
      t->src_err = *e;
    }
  }
  if (delay >= 0)
    lsk_race_interleave(c->r);
}

static int create_k(lua_State *L, int status, lua_KContext ctx) {
  int err = status == LUA_YIELD ? lsockL_resumed(L, NULL) : 0;
  (void)ctx;
  lua_settop(L, NSLOTS);
  if (lua_tointeger(L, C_PHASE) == P_LOOKUP) {
    Lookup *l = (Lookup *)lua_touserdata(L, C_JOB);
    lua_pushnil(L);
    lua_replace(L, C_JOB);
    lua_pushinteger(L, P_RACE);
    lua_replace(L, C_PHASE);
    /* A lookup that outlived the deadline was given up: the pool frees
     * it when it ends. */
    if (err)
      return lsockL_error(L, err, "create_connection",
                          lua_tostring(L, C_NAME));
    setup(L, l);
  } else if (status == LUA_YIELD) {
    Conn *c = (Conn *)lua_touserdata(L, C_RACE);
    lsockL_waitdone(L, c->ws, c->nws);
    c->nws = 0;
  }
  return race(L);
}

/* ---- arguments ---- */

static const char *checkhost(lua_State *L, int arg, int i) {
  size_t len = 0;
  /* A number is no host: lua_tolstring would make "5" of it, which the
   * resolver reads as 0.0.0.5. */
  const char *h = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len)
                                                 : NULL;
  if (!h || strlen(h) != len) {
    if (i)
      luaL_error(L, "bad argument #%d to 'create_connection' (host %d must "
                    "be a string without zero bytes)", arg, i);
    luaL_argerror(L, arg, "host must be a string without zero bytes");
  }
  return h;
}

static double checktimeout(lua_State *L, int i) {
  if (lua_isnil(L, i))
    return lsockL_getdefault(L);
  lua_Number t = luaL_checknumber(L, i);
  luaL_argcheck(L, !isnan(t) && t >= 0, i,
                "timeout must be non-negative or nil");
  luaL_argcheck(L, t <= 1e9, i, "timeout too large");
  return t;
}

static int checkport(lua_State *L, int i) {
  lua_Integer port = luaL_checkinteger(L, i);
  luaL_argcheck(L, port >= 0 && port <= 65535, i, "port must be 0-65535");
  return (int)port;
}

/* Rejects option names it does not know: a misspelt option would
 * otherwise be silently ignored. */
static void checkkeys(lua_State *L, int t, const char *const names[],
                      const char *fn) {
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int known = 0;
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING)
      for (int i = 0; names[i] && !known; i++)
        known = strcmp(lua_tostring(L, -1), names[i]) == 0;
    if (!known)
      luaL_error(L, "bad argument #%d to '%s' (unknown option '%s')", t, fn,
                 luaL_tolstring(L, -1, NULL));
  }
}

/* socket.create_connection(host, port [, timeout [, src_host, src_port]])
 * socket.create_connection(host, port, opts): opts.timeout,
 * source_host, source_port, happy_eyeballs_delay. `host` may also be an
 * array of hosts, whose addresses are tried in that order (an lsock
 * extension: it lets a script race addresses it chose). */
static int f_create_connection(lua_State *L) {
  static const char *const keys[] = {"timeout", "source_host", "source_port",
                                     "happy_eyeballs_delay", NULL};
  int top = lua_gettop(L);
  int port = checkport(L, 2);
  double timeout, delay = DEFAULT_DELAY;
  int srchost = 0, srcport = 0; /* stack indices, 0 when absent */
  if (lua_istable(L, 3)) {
    luaL_argcheck(L, lua_isnoneornil(L, 4) && lua_isnoneornil(L, 5), 4,
                  "source address goes in the options table");
    checkkeys(L, 3, keys, "create_connection");
    lua_getfield(L, 3, "timeout");
    timeout = checktimeout(L, lua_gettop(L));
    lua_getfield(L, 3, "happy_eyeballs_delay");
    int di = lua_gettop(L);
    if (lua_type(L, di) == LUA_TBOOLEAN) {
      if (!lua_toboolean(L, di))
        delay = -1;
    } else if (!lua_isnil(L, di)) {
      lua_Number v = lua_tonumber(L, di);
      if (!lua_isnumber(L, di) || isnan(v) || v < 0 || v > 1e9)
        luaL_error(L, "bad argument #3 to 'create_connection' "
                      "(happy_eyeballs_delay must be a non-negative number "
                      "or false)");
      delay = v;
    }
    lua_getfield(L, 3, "source_host");
    if (!lua_isnil(L, -1))
      srchost = lua_gettop(L);
    lua_getfield(L, 3, "source_port");
    if (!lua_isnil(L, -1))
      srcport = lua_gettop(L);
  } else {
    luaL_checkany(L, 2);
    timeout = lua_isnoneornil(L, 3) ? lsockL_getdefault(L)
                                    : checktimeout(L, 3);
    if (!lua_isnoneornil(L, 4))
      srchost = 4;
    if (!lua_isnoneornil(L, 5))
      srcport = 5;
  }
  int sp = 0;
  if (srchost) {
    size_t len;
    const char *h = luaL_checklstring(L, srchost, &len);
    luaL_argcheck(L, strlen(h) == len, srchost > 5 ? 3 : srchost,
                  "source host contains a zero byte");
  }
  if (srcport) {
    if (!lua_isinteger(L, srcport) && !lua_isnumber(L, srcport))
      luaL_error(L, "bad argument #%d to 'create_connection' (source port "
                    "must be an integer)", srcport > 5 ? 3 : srcport);
    lua_Integer v = lua_tointeger(L, srcport);
    if (!lua_isinteger(L, srcport) &&
        (lua_Number)v != lua_tonumber(L, srcport))
      luaL_error(L, "bad argument #%d to 'create_connection' (source port "
                    "must be an integer)", srcport > 5 ? 3 : srcport);
    if (v < 0 || v > 65535)
      luaL_error(L, "bad argument #%d to 'create_connection' (source port "
                    "must be 0-65535)", srcport > 5 ? 3 : srcport);
    sp = (int)v;
  }
  /* The slots, pushed above the arguments, which then go. */
  int base = lua_gettop(L);
  lua_newtable(L); /* C_HOSTS */
  luaL_Buffer name;
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, 1);
    luaL_argcheck(L, n > 0 && n <= 64, 1, "host list must hold 1-64 hosts");
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, 1, i);
      checkhost(L, 1, (int)i);
      lua_rawseti(L, -2, i);
    }
  } else {
    lua_pushvalue(L, 1);
    checkhost(L, 1, 0);
    lua_rawseti(L, -2, 1);
  }
  lua_pushinteger(L, port);
  lua_pushnumber(L, timeout);
  lua_pushnumber(L, delay);
  if (srchost)
    lua_pushvalue(L, srchost);
  else if (srcport)
    lua_pushliteral(L, ""); /* a port alone: any address */
  else
    lua_pushnil(L);
  lua_pushinteger(L, sp);
  lua_pushinteger(L, timeout < 0 ? LSK_NEVER : lsk_deadline_after(timeout));
  lua_pushnil(L); /* C_JOB */
  lua_pushnil(L); /* C_RACE */
  luaL_buffinit(L, &name);
  lua_Integer nh = (lua_Integer)lua_rawlen(L, base + C_HOSTS);
  for (lua_Integer i = 1; i <= nh; i++) {
    lua_rawgeti(L, base + C_HOSTS, i);
    if (i > 1)
      luaL_addchar(&name, ',');
    luaL_addvalue(&name);
  }
  lua_pushfstring(L, ":%d", port);
  luaL_addvalue(&name);
  luaL_pushresult(&name); /* C_NAME */
  lua_pushinteger(L, P_LOOKUP);
  lua_rotate(L, 1, -base);
  lua_settop(L, NSLOTS); /* only the slots are left */
  (void)top;
  Lookup *l = newlookup(L, port);
  if (timeout <= 0 && lsockL_canblock(L, lsockL_ctx(L))) {
    /* Nothing else could run meanwhile and no timeout covers it: the
     * plain blocking resolver call, as connect does. */
    lookup_run(&l->job);
    lua_pushlightuserdata(L, l);
    lua_replace(L, C_JOB);
    return create_k(L, LUA_OK, 0);
  }
  lua_pushlightuserdata(L, l);
  lua_replace(L, C_JOB);
  lsk_deadline d = (lsk_deadline)lua_tointeger(L, C_DEADLINE);
  int err = lsockL_waitjob(L, &l->job, d, create_k, 0);
  if (err) {
    /* Outside a task: ETIMEDOUT gave the job up (the pool frees it);
     * any other error means it was never queued. */
    if (err != ETIMEDOUT)
      lookup_free(&l->job);
    return lsockL_error(L, err, "create_connection", lua_tostring(L, C_NAME));
  }
  return create_k(L, LUA_OK, 0);
}

/* ---- create_server ---- */

static int optbool(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* socket.create_server(host, port [, opts]): a listening TCP socket with
 * SO_REUSEADDR on, as Python's; opts.family (AF_INET, or AF_INET6),
 * backlog, reuse_port, dualstack_ipv6 (IPV6_V6ONLY off: IPv4 clients too,
 * as mapped addresses; otherwise an AF_INET6 server is IPv6 only). */
static int f_create_server(lua_State *L) {
  static const char *const keys[] = {"family", "backlog", "reuse_port",
                                     "dualstack_ipv6", NULL};
  size_t len;
  const char *host = luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, strlen(host) == len, 1, "host contains a zero byte");
  int port = checkport(L, 2);
  int family = AF_INET, reuse_port = 0, dual = 0;
  lua_Integer backlog = SOMAXCONN < 128 ? SOMAXCONN : 128;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    checkkeys(L, 3, keys, "create_server");
    lua_getfield(L, 3, "family");
    if (!lua_isnil(L, -1)) {
      lua_Integer f = lua_tointeger(L, -1);
      luaL_argcheck(L, lua_isinteger(L, -1) && (f == AF_INET || f == AF_INET6),
                    3, "family must be AF_INET or AF_INET6");
      family = (int)f;
    }
    lua_getfield(L, 3, "backlog");
    if (!lua_isnil(L, -1)) {
      luaL_argcheck(L, lua_isinteger(L, -1), 3, "backlog must be an integer");
      backlog = lua_tointeger(L, -1);
      if (backlog < 0)
        backlog = 0;
      if (backlog > INT_MAX)
        backlog = INT_MAX;
    }
    lua_pop(L, 2);
    reuse_port = optbool(L, 3, "reuse_port");
    dual = optbool(L, 3, "dualstack_ipv6");
    luaL_argcheck(L, !dual || family == AF_INET6, 3,
                  "dualstack_ipv6 requires AF_INET6 family");
  }
  char where[LSK_ADDR_TEXT_MAX];
  snprintf(where, sizeof where, family == AF_INET6 ? "[%.60s]:%d" : "%.60s:%d",
           host, port);
  lsockL_Socket *s = lsockL_newsock(L);
  int err = lsk_sock_open(&s->s, family, SOCK_STREAM | lsockL_newflags(L, s),
                          0);
  if (err)
    return lsockL_error(L, err, "create_server", where);
  lsockL_opened(L, -1);
  int one = 1, zero = 0;
  lsk_addr a;
  err = lsk_sock_setopt(&s->s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (!err && reuse_port)
    err = lsk_sock_setopt(&s->s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (!err && family == AF_INET6)
    err = lsk_sock_setopt(&s->s, IPPROTO_IPV6, IPV6_V6ONLY,
                          dual ? &zero : &one, sizeof one);
  if (!err)
    err = lsk_addr_inet(&a, family, host, port, 0, 0);
  if (!err)
    err = lsk_sock_bind(&s->s, &a);
  if (!err)
    err = lsk_sock_listen(&s->s, (int)backlog);
  if (err) {
    s->closed = 1;
    lsockL_forget(L, s->ctx, s->s.fd);
    lsk_sock_close(&s->s);
    return lsockL_error(L, err, "create_server", where);
  }
  return 1;
}

/* socket.has_dualstack_ipv6(): whether an AF_INET6 socket can accept
 * IPv4 too (IPV6_V6ONLY can be turned off), as Python's. */
static int f_has_dualstack_ipv6(lua_State *L) {
  lsk_sock s;
  int zero = 0, ok = 0;
  if (lsk_sock_open(&s, AF_INET6, SOCK_STREAM, 0) == 0) {
    ok = lsk_sock_setopt(&s, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
                         sizeof zero) == 0;
    lsk_sock_close(&s);
  }
  lua_pushboolean(L, ok);
  return 1;
}

static const luaL_Reg functions[] = {
  {"create_connection", f_create_connection},
  {"create_server", f_create_server},
  {"has_dualstack_ipv6", f_has_dualstack_ipv6},
  {NULL, NULL}
};

void lsockL_opencreate(lua_State *L) {
  luaL_newmetatable(L, LSOCK_RACE); /* module, mt */
  lua_pushcfunction(L, mm_race_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);                    /* module */
  luaL_setfuncs(L, functions, 0);
}
