/* bindings/l_socket: the socket userdata and its methods, following
 * Python's socket object in Lua's calling conventions. Every method checks
 * its arguments, calls the core once per attempt and, on EAGAIN, waits
 * through lsockL_wait before trying again. A method that waits is an entry
 * function and a step function that is its own continuation: its state
 * (deadline, bytes done) lives in stack slots, so a task can yield in the
 * wait and resume in the step. */
#include "l_socket.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../core/loop.h"
#include "../core/wait.h"
#include "l_addr.h"
#include <stdlib.h>
#include "l_error.h"
#include "l_file.h"
#include "l_policy.h"
#include "l_msg.h"
#include "l_task.h"

double lsockL_getdefault(lua_State *L) {
  return lsockL_ctx(L)->deftimeout;
}

void lsockL_setdefault(lua_State *L, double t) {
  lsockL_ctx(L)->deftimeout = t;
}

/* ---- creation, self checks, lifetime ---- */

/* Metatables. A socket is made with the generic one, whose __index is a
 * function (mm_index) that serves the methods and the read-only fields
 * family, type and proto. Once it holds a descriptor (lsockL_opened) it
 * takes the metatable of its kind (family, type, proto), whose __index is
 * a table of the methods and those three values: a method look-up is
 * then a table read in the VM instead of a call to C, about 300
 * instructions less on every s:method(). The kinds are cached in a weak
 * table, so a kind no socket uses any more goes; the context (l_ctx.h)
 * holds references to that table and to the generic metatable.
 *
 * A socket is a full userdata of exactly its struct's size whose first
 * word is the address of markkey, a static of this file that no Lua code
 * and no other module knows. The check on every call reads that, in two
 * API calls where luaL_checkudata makes five, one of them a look-up of
 * the metatable by name; the size is read first, so nothing is read past
 * a smaller userdata. Unlike any check of the metatable, it also refuses a
 * foreign userdata given a socket metatable with debug.setmetatable. */
static const char markkey = 0;
static const char methodskey = 0; /* registry: the methods */

lsockL_Socket *lsockL_testsock(lua_State *L, int i) {
  lsockL_Socket *s = (lsockL_Socket *)lua_touserdata(L, i);
  /* lua_rawlen is 0 for a light userdata: only a full one gets read. */
  if (s && lua_rawlen(L, i) == sizeof *s && s->mark == &markkey)
    return s;
  return NULL;
}

lsockL_Socket *lsockL_tosock(lua_State *L, int i) {
  lsockL_Socket *s = lsockL_testsock(L, i);
  if (!s)
    luaL_typeerror(L, i, LSOCK_SOCKET);
  return s;
}

void lsockL_checkalive(lua_State *L, const lsockL_Socket *s, const char *op) {
  if (s->closed || s->s.fd < 0)
    lsockL_error(L, EBADF, op, NULL);
}

lsockL_Socket *lsockL_checkopen(lua_State *L, int i, const char *op) {
  lsockL_Socket *s = lsockL_tosock(L, i);
  lsockL_checkalive(L, s, op);
  return s;
}

static lsockL_Socket *newsock(lua_State *L, lsockL_Ctx *c) {
  lsockL_policy_count(L, c, c->open, "socket");
  lsockL_Socket *s =
      (lsockL_Socket *)lua_newuserdatauv(L, sizeof(lsockL_Socket), 0);
  s->mark = &markkey;
  s->ctx = c;
  s->counted = 1;
  c->open++;
  s->s.fd = -1;
  s->s.family = s->s.type = s->s.proto = 0;
  s->closed = 1; /* until the caller has a descriptor in it */
  s->nfiles = 0;
  s->shared = 0;
  s->timeout = c->deftimeout;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->metaref);
  lua_setmetatable(L, -2);
  return s;
}

lsockL_Socket *lsockL_newsock(lua_State *L) {
  return newsock(L, lsockL_ctx(L));
}

/* The socket no longer holds a descriptor: it stops counting. */
static void uncount(lsockL_Socket *s) {
  if (s->counted) {
    s->ctx->open--;
    s->counted = 0;
  }
}

void lsockL_release(lua_State *L, lsockL_Socket *s) {
  if (s->nfiles > 0)
    s->nfiles--;
  if (s->nfiles == 0 && s->closed) {
    uncount(s);
    lsockL_forget(L, s->ctx, s->s.fd);
    lsk_sock_close(&s->s);
  }
}

/* ---- blocking in the kernel, deadlines and waiting ---- */

int lsockL_direct(lua_State *L, lsockL_Socket *s) {
  s->s.block = s->timeout < 0 && !s->shared && lsockL_canblock(L, s->ctx);
  /* A descriptor made non-blocking earlier (accepted in a task, created
   * with a timeout) is cleared once, so that recv and send block in the
   * kernel too; if that fails they still work, by EAGAIN and a wait. */
  if (s->s.block && s->s.fdnb)
    lsk_sock_setnonblock(&s->s, 0);
  return s->s.block;
}

int lsockL_newflags(lua_State *L, const lsockL_Socket *s) {
  return s->timeout >= 0 || !lsockL_canblock(L, s->ctx) ? SOCK_NONBLOCK : 0;
}

lsk_deadline lsockL_deadline(const lsockL_Socket *s) {
  if (s->timeout < 0)
    return LSK_NEVER;
  return lsk_deadline_after(s->timeout);
}

/* The deadline is taken at the first wait, not at entry: an operation that
 * succeeds at once never reads the clock. It lives in a stack slot so that
 * it survives a task's yield. */

/* The interrupt is consumed here: the interpreter's hook would otherwise
 * raise it a second time, past a pcall that caught this one. */
static int interrupted(lua_State *L) {
  lsk_interrupted = 0;
  return luaL_error(L, "interrupted!");
}

int lsockL_wait(lua_State *L, const lsockL_Socket *s, int events,
                lsk_deadline d, lua_KFunction k, lua_KContext ctx) {
  if (s->timeout == 0)
    return EAGAIN;
  return lsockL_waitfd(L, s->ctx, s->s.fd, events, d, k, ctx);
}

lsk_deadline lsockL_slotdeadline(lua_State *L, const lsockL_Socket *s,
                                  int slot) {
  lsk_deadline d = (lsk_deadline)lua_tointeger(L, slot);
  if (d == LSOCK_DEADLINE_UNSET) {
    d = lsockL_deadline(s);
    lua_pushinteger(L, d);
    lua_replace(L, slot);
  }
  return d;
}

int lsockL_waitk(lua_State *L, const lsockL_Socket *s, int events, int slot,
                 lua_KFunction k) {
  return lsockL_wait(L, s, events, lsockL_slotdeadline(L, s, slot), k, slot);
}

int lsockL_fail(lua_State *L, int err, const char *op, const lsk_addr *a) {
  char where[LSK_ADDR_TEXT_MAX];
  if (err == EINTR && lsk_interrupted)
    return interrupted(L);
  if (a)
    lsk_addr_format(a, where, sizeof where);
  /* An unnamed Unix address formats as "": no address to show. */
  return lsockL_error(L, err, op, a && where[0] ? where : NULL);
}

lsockL_Socket *lsockL_resumek(lua_State *L, int status, int top,
                               const char *op, int *err) {
  lsockL_Socket *s = (lsockL_Socket *)lua_touserdata(L, 1);
  lsockL_checkalive(L, s, op);
  lua_settop(L, top);
  *err = status == LUA_YIELD ? lsockL_resumed(L, s->ctx) : 0;
  return s;
}

static double checktimeout(lua_State *L, int i) {
  if (lua_isnoneornil(L, i))
    return -1;
  lua_Number t = luaL_checknumber(L, i);
  luaL_argcheck(L, !isnan(t), i, "timeout is NaN");
  luaL_argcheck(L, t >= 0, i, "timeout must be non-negative or nil");
  /* Python refuses timeouts that overflow its clock; so do we, rather
   * than silently turning one into "forever". */
  luaL_argcheck(L, t <= 1e9, i, "timeout too large");
  return t;
}

static void pushtimeout(lua_State *L, double t) {
  if (t < 0)
    lua_pushnil(L);
  else
    lua_pushnumber(L, t);
}

/* socket.socket([family [, type [, proto]]]) */
static int f_socket(lua_State *L) {
  lua_Integer family = luaL_optinteger(L, 1, AF_INET);
  lua_Integer type = luaL_optinteger(L, 2, SOCK_STREAM);
  lua_Integer proto = luaL_optinteger(L, 3, 0);
  luaL_argcheck(L, family > AF_UNSPEC && family < AF_MAX, 1,
                "unknown address family");
  /* SOCK_NONBLOCK and SOCK_CLOEXEC may be or-ed in, as in Python; every
   * descriptor is close-on-exec anyway. */
  lua_Integer base = type & ~(lua_Integer)(SOCK_NONBLOCK | SOCK_CLOEXEC);
  luaL_argcheck(L, base >= SOCK_STREAM && base <= SOCK_PACKET, 2,
                "unknown socket type");
  luaL_argcheck(L, proto >= 0 && proto <= 0xffff, 3, "protocol out of range");
  lsockL_Ctx *c = lsockL_ctx(L);
  lsockL_policy_family(L, c, (int)family, "socket");
  lsockL_Socket *s = newsock(L, c);
  if (type & SOCK_NONBLOCK)
    s->timeout = 0;
  int err = lsk_sock_open(&s->s, (int)family,
                          (int)base | lsockL_newflags(L, s), (int)proto);
  if (err) {
    uncount(s);
    return lsockL_fail(L, err, "socket", NULL);
  }
  lsockL_opened(L, -1);
  return 1;
}

static int m_close(lua_State *L) {
  lsockL_Socket *s = lsockL_tosock(L, 1);
  int was = s->closed;
  s->closed = 1;
  if (!was && s->nfiles == 0) {
    uncount(s);
    lsockL_forget(L, s->ctx, s->s.fd);
    int err = lsk_sock_close(&s->s);
    if (err)
      return lsockL_fail(L, err, "close", NULL);
  }
  return 0;
}

/* __gc: whatever file objects remain are garbage too (they hold the
 * socket), so the descriptor goes now. Never raises. */
static int mm_gc(lua_State *L) {
  lsockL_Socket *s = lsockL_tosock(L, 1);
  if (s->s.fd < 0) /* closed or detached already: nothing to let go of */
    return 0;
  s->closed = 1;
  uncount(s);
  lsockL_forget(L, s->ctx, s->s.fd);
  lsk_sock_close(&s->s);
  return 0;
}

static int m_fileno(lua_State *L) {
  lsockL_Socket *s = lsockL_tosock(L, 1);
  lua_pushinteger(L, s->closed ? -1 : s->s.fd);
  return 1;
}

static int m_detach(lua_State *L) {
  lsockL_Socket *s = lsockL_tosock(L, 1);
  int fd = s->closed ? -1 : s->s.fd;
  /* The descriptor now belongs to the caller: file objects still made
   * from this socket see a closed socket rather than someone's fd. */
  s->closed = 1;
  uncount(s);
  lsockL_forget(L, s->ctx, s->s.fd);
  s->s.fd = -1;
  lua_pushinteger(L, fd);
  return 1;
}

static int m_dup(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "dup");
  lsockL_Socket *d = newsock(L, s->ctx);
  int err = lsk_sock_dup(&s->s, &d->s);
  if (err)
    return lsockL_fail(L, err, "dup", NULL);
  lsockL_opened(L, -1);
  d->timeout = s->timeout; /* as Python's dup() */
  s->shared = d->shared = 1;
  return 1;
}

/* ---- names and tostring ---- */

static const char *familyname(int f) {
  switch (f) {
  case AF_INET: return "AF_INET";
  case AF_INET6: return "AF_INET6";
  case AF_UNIX: return "AF_UNIX";
  default: return NULL;
  }
}

static const char *typename(int t) {
  switch (t) {
  case SOCK_STREAM: return "SOCK_STREAM";
  case SOCK_DGRAM: return "SOCK_DGRAM";
  case SOCK_RAW: return "SOCK_RAW";
  case SOCK_SEQPACKET: return "SOCK_SEQPACKET";
  case SOCK_RDM: return "SOCK_RDM";
  default: return NULL;
  }
}

static void addname(luaL_Buffer *b, const char *key, const char *name,
                    int value) {
  char num[32];
  luaL_addstring(b, key);
  if (!name) {
    snprintf(num, sizeof num, "%d", value);
    name = num;
  }
  luaL_addstring(b, name);
}

/* <lsock.socket fd=3, family=AF_INET, type=SOCK_STREAM, proto=0,
 *  laddr=127.0.0.1:5000, raddr=127.0.0.1:41234>, as Python's repr. */
static int mm_tostring(lua_State *L) {
  lsockL_Socket *s = lsockL_tosock(L, 1);
  int open = !s->closed && s->s.fd >= 0;
  char text[LSK_ADDR_TEXT_MAX];
  luaL_Buffer b;
  lsk_addr a;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, open ? "<lsock.socket fd=" : "<lsock.socket [closed] fd=");
  snprintf(text, sizeof text, "%d", open ? s->s.fd : -1);
  luaL_addstring(&b, text);
  addname(&b, ", family=", familyname(s->s.family), s->s.family);
  addname(&b, ", type=", typename(s->s.type), s->s.type);
  addname(&b, ", proto=", NULL, s->s.proto);
  if (open && lsk_sock_name(&s->s, &a) == 0) {
    lsk_addr_format(&a, text, sizeof text);
    if (text[0]) {
      luaL_addstring(&b, ", laddr=");
      luaL_addstring(&b, text);
    }
  }
  if (open && lsk_sock_peer(&s->s, &a) == 0) {
    lsk_addr_format(&a, text, sizeof text);
    if (text[0]) {
      luaL_addstring(&b, ", raddr=");
      luaL_addstring(&b, text);
    }
  }
  luaL_addchar(&b, '>');
  luaL_pushresult(&b);
  return 1;
}

/* Methods first, then the read-only fields family, type and proto. A
 * method is found before self is checked: the method checks it anyway. */
static int mm_index(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return 1;
  lsockL_Socket *s = lsockL_tosock(L, 1);
  const char *k = lua_tostring(L, 2);
  if (k && strcmp(k, "family") == 0)
    lua_pushinteger(L, s->s.family);
  else if (k && strcmp(k, "type") == 0)
    lua_pushinteger(L, s->s.type);
  else if (k && strcmp(k, "proto") == 0)
    lua_pushinteger(L, s->s.proto);
  else
    lua_pushnil(L);
  return 1;
}

static int mm_newindex(lua_State *L) {
  lsockL_tosock(L, 1);
  return luaL_error(L, "cannot assign field '%s' of a socket (read-only)",
                    luaL_tolstring(L, 2, NULL));
}

/* ---- binding and connecting ---- */

/* A name lookup in flight (light userdata in `slot`) has ended with err
 * (0, or ETIMEDOUT when the deadline passed first and the loop gave the
 * job up): its address goes into *a, its "host:port" into where, the job
 * is freed if it is still ours, and the slot is cleared. Returns the
 * lookup's outcome. */
static int lookup_done(lua_State *L, int slot, int err, lsk_addr *a,
                       char *where) {
  lsockL_Lookup *l = (lsockL_Lookup *)lua_touserdata(L, slot);
  memcpy(where, l->where, LSK_ADDR_TEXT_MAX);
  if (err == 0) {
    err = l->err;
    *a = l->addr;
    free(l);
  }
  lua_pushnil(L);
  lua_replace(L, slot);
  return err;
}

/* Starts the lookup in `slot` under the deadline in `dslot`; outside a
 * task, returns when it is over (0 or an error), the job given up on
 * error. In a task, resumes at k. */
static int lookup_wait(lua_State *L, const lsockL_Socket *s, int slot,
                       int dslot, lua_KFunction k) {
  lsockL_Lookup *l = (lsockL_Lookup *)lua_touserdata(L, slot);
  int err = lsockL_waitjob(L, &l->job, lsockL_slotdeadline(L, s, dslot), k, 0);
  if (err && err != ETIMEDOUT) {
    char where[LSK_ADDR_TEXT_MAX];
    memcpy(where, l->where, sizeof where);
    free(l); /* never queued */
    lua_pushnil(L);
    lua_replace(L, slot);
    return lsockL_error(L, err, "lookup", where);
  }
  return err;
}

/* bind: slot 2 the address, 3 the deadline, 4 a lookup in flight. A name
 * is looked up on a worker thread when tasks could run meanwhile. */
static int bind_k(lua_State *L, int status, lua_KContext ctx) {
  int err;
  lsockL_Socket *s = lsockL_resumek(L, status, 4, "bind", &err);
  lsk_addr *a = (lsk_addr *)lua_touserdata(L, 2);
  if (lua_islightuserdata(L, 4)) {
    char where[LSK_ADDR_TEXT_MAX];
    if (status != LUA_YIELD)
      err = (int)ctx;
    if ((err = lookup_done(L, 4, err, a, where)) != 0)
      return lsockL_error(L, err, "bind", where);
  }
  lsockL_policy_addr(L, s->ctx, a, "bind");
  err = lsk_sock_bind(&s->s, a);
  if (err)
    return lsockL_fail(L, err, "bind", a);
  return 0;
}

static int m_bind(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "bind");
  lsk_addr a;
  lsockL_Lookup *l = NULL;
  lsockL_checkaddrk(L, 2, s->s.family, &a, "bind",
                    lsockL_canblock(L, s->ctx) ? NULL : &l);
  lua_settop(L, 1);
  *(lsk_addr *)lua_newuserdatauv(L, sizeof(lsk_addr), 0) = a;
  lua_pushinteger(L, LSOCK_DEADLINE_UNSET);
  if (!l) {
    lua_pushnil(L);
    return bind_k(L, LUA_OK, 0);
  }
  lua_pushlightuserdata(L, l);
  return bind_k(L, LUA_OK, lookup_wait(L, s, 4, 3, bind_k));
}

static int m_listen(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "listen");
  /* Python's default backlog: min(SOMAXCONN, 128); negative means 0. */
  lua_Integer backlog = luaL_optinteger(L, 2, SOMAXCONN < 128 ? SOMAXCONN : 128);
  if (backlog < 0)
    backlog = 0;
  if (backlog > INT32_MAX)
    backlog = INT32_MAX;
  int err = lsk_sock_listen(&s->s, (int)backlog);
  if (err)
    return lsockL_fail(L, err, "listen", NULL);
  return 0;
}

/* accept: slot 2 the new socket, 3 the deadline. */
static int accept_k(lua_State *L, int status, lua_KContext ctx) {
  int err;
  lsockL_Socket *s = lsockL_resumek(L, status, 3, "accept", &err);
  lsockL_Socket *c = (lsockL_Socket *)lua_touserdata(L, 2);
  lsk_addr peer;
  (void)ctx;
  while (err == 0) {
    lsockL_direct(L, s);
    err = lsk_sock_accept(&s->s, &c->s, &peer);
    if (err != EAGAIN)
      break;
    err = lsockL_waitk(L, s, LSK_WANT_READ, 3, accept_k);
  }
  if (err) {
    uncount(c);
    return lsockL_fail(L, err, "accept", NULL);
  }
  lua_settop(L, 2);
  lsockL_opened(L, 2);
  return 1 + lsockL_pushaddr(L, s->ctx, &peer);
}

static int m_accept(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "accept");
  lua_settop(L, 1);
  /* The new object exists before the descriptor does, so nothing can
   * fail between accept4 and the descriptor having an owner. */
  newsock(L, s->ctx);
  lua_pushinteger(L, LSOCK_DEADLINE_UNSET);
  return accept_k(L, LUA_OK, 0);
}

/* The end of connect and connect_ex once the outcome is err. */
static int connect_done(lua_State *L, int ex, int err, const lsk_addr *a) {
  if (ex) {
    /* Python's connect_ex: the errno as a result, except for failures
     * that are not the connection's (bad arguments, name resolution). */
    if (err == EINTR && lsk_interrupted)
      return interrupted(L);
    lua_pushinteger(L, err);
    return 1;
  }
  if (err)
    return lsockL_fail(L, err, "connect", a);
  return 0;
}

/* connect and connect_ex: slot 2 the address, 3 the deadline, 4 true for
 * connect_ex, 5 the phase, 6 a name lookup in flight (light userdata).
 * The deadline covers the whole call, the lookup included; a
 * non-blocking socket gets EINPROGRESS back. Entered fresh in C_WAIT, the
 * caller's attempt said EINPROGRESS: it waits first. */
enum { C_LOOKUP, C_START, C_WAIT };

static int connect_k(lua_State *L, int status, lua_KContext ctx) {
  int ex = lua_toboolean(L, 4);
  const char *op = ex ? "connect_ex" : "connect";
  int err;
  lsockL_Socket *s = lsockL_resumek(L, status, 6, op, &err);
  lsk_addr *a = (lsk_addr *)lua_touserdata(L, 2);
  int phase = (int)lua_tointeger(L, 5);
  if (phase == C_LOOKUP) {
    char where[LSK_ADDR_TEXT_MAX];
    if (status != LUA_YIELD)
      err = (int)ctx;
    if ((err = lookup_done(L, 6, err, a, where)) != 0) {
      if (ex && !lsk_err_is_eai(err) && err != ETIMEDOUT) {
        lua_pushinteger(L, err);
        return 1;
      }
      return lsockL_error(L, err, op, where);
    }
    phase = C_START;
  }
  if (phase == C_START) {
    lsockL_policy_addr(L, s->ctx, a, op);
    lsockL_direct(L, s);
    err = lsk_sock_connect_start(&s->s, a);
    if (err != EINPROGRESS || s->timeout == 0)
      return connect_done(L, ex, err, a);
    lua_pushinteger(L, C_WAIT);
    lua_replace(L, 5);
    err = lsockL_waitk(L, s, LSK_WANT_WRITE, 3, connect_k);
  } else if (status != LUA_YIELD) {
    err = lsockL_waitk(L, s, LSK_WANT_WRITE, 3, connect_k);
  }
  while (err == 0) {
    err = lsk_sock_connect_finish(&s->s);
    if (err != EINPROGRESS && err != EALREADY)
      break;
    err = lsockL_waitk(L, s, LSK_WANT_WRITE, 3, connect_k);
  }
  return connect_done(L, ex, err, a);
}

static int connect_start(lua_State *L, int ex) {
  const char *op = ex ? "connect_ex" : "connect";
  lsockL_Socket *s = lsockL_checkopen(L, 1, op);
  lsk_addr a;
  lsockL_Lookup *l = NULL;
  int err = 0;
  /* A name is looked up on a worker thread when anything else could run
   * meanwhile or a timeout must cover the lookup; a plain blocking
   * connect with nothing else going on just calls the resolver. */
  int async = s->timeout > 0 || !lsockL_canblock(L, s->ctx);
  lsockL_checkaddrk(L, 2, s->s.family, &a, op, async ? &l : NULL);
  if (!l) {
    /* The first attempt, with the address on the C stack: a connect that
     * is done at once (in the kernel, or refused) needs no slots. */
    lsockL_policy_addr(L, s->ctx, &a, op);
    lsockL_direct(L, s);
    err = lsk_sock_connect_start(&s->s, &a);
    if (err != EINPROGRESS || s->timeout == 0)
      return connect_done(L, ex, err, &a);
  }
  lua_settop(L, 1);
  /* The address moves to a stack slot: it must survive a yield. */
  *(lsk_addr *)lua_newuserdatauv(L, sizeof(lsk_addr), 0) = a;
  lua_pushinteger(L, LSOCK_DEADLINE_UNSET);
  lua_pushboolean(L, ex);
  lua_pushinteger(L, l ? C_LOOKUP : C_WAIT);
  if (!l) {
    lua_pushnil(L);
    return connect_k(L, LUA_OK, 0);
  }
  lua_pushlightuserdata(L, l);
  return connect_k(L, LUA_OK, lookup_wait(L, s, 6, 3, connect_k));
}

static int m_connect(lua_State *L) {
  return connect_start(L, 0);
}

static int m_connect_ex(lua_State *L) {
  return connect_start(L, 1);
}

/* ---- data ---- */

/* Reads up to this much straight into a C stack buffer; larger requests
 * get a buffer from Lua's allocator. */
#define STACKBUF 65536
/* A stream read never returns more than this at once, so recv(2^40)
 * cannot allocate without bound. */
#define STREAM_MAX (1 << 20)
/* Nor may a datagram buffer grow past this, whatever FIONREAD says. */
#define DGRAM_MAX (64 << 20)

static size_t checksize(lua_State *L, int i) {
  lua_Integer n = luaL_checkinteger(L, i);
  luaL_argcheck(L, n >= 0, i, "negative buffer size");
  return (size_t)n;
}

/* How much to ask the kernel for when the script asked for n. A datagram
 * socket must get the whole next datagram if n allows (no silent
 * truncation), so past STACKBUF it asks FIONREAD for its size. */
static size_t recvsize(const lsockL_Socket *s, size_t n) {
  if (n <= STACKBUF)
    return n;
  if (s->s.type == SOCK_STREAM)
    return n < STREAM_MAX ? n : STREAM_MAX;
  size_t pending = 0;
  lsk_sock_pending(&s->s, &pending);
  if (pending < STACKBUF)
    pending = STACKBUF;
  if (pending > DGRAM_MAX)
    pending = DGRAM_MAX;
  return pending < n ? pending : n;
}

/* One recv attempt for n bytes: pushes the data (and, for recvfrom, the
 * sender's address) and returns 0, or returns EAGAIN or errno with
 * nothing pushed. */
static int recv_once(lua_State *L, lsockL_Socket *s, size_t n, int flags,
                     int withaddr, int *nres) {
  char stackbuf[STACKBUF];
  lsk_addr from;
  size_t got = 0, want;
  struct lsk_loop *hints = NULL;
  /* A socket that waits through the loop skips an attempt the loop knows
   * would say EAGAIN (a timeout of 0 never waits: it always tries). */
  if (!lsockL_direct(L, s) && s->timeout != 0 &&
      (hints = lsockL_hints(L, s->ctx)) != NULL &&
      lsk_loop_isdrained(hints, s->s.fd, LSK_WANT_READ))
    return EAGAIN;
  want = recvsize(s, n);
  char *buf = want <= STACKBUF ? stackbuf
                               : (char *)lua_newuserdatauv(L, want, 0);
  int err = lsk_sock_recv(&s->s, buf, want, flags, &got,
                          withaddr ? &from : NULL);
  /* EAGAIN, or a TCP read short of what was asked: Linux stops a TCP
   * read short only when the receive queue is empty (or at the end of
   * stream, which the loop's hints keep apart, or at urgent data: not
   * with MSG_PEEK or MSG_OOB). A Unix stream read may stop short with
   * bytes left (at a message carrying descriptors), so it never counts. */
  if (hints && (err == EAGAIN ||
                (err == 0 && got > 0 && got < want &&
                 s->s.type == SOCK_STREAM &&
                 (s->s.family == AF_INET || s->s.family == AF_INET6) &&
                 !(flags & (MSG_PEEK | MSG_OOB)))))
    lsk_loop_drained(hints, s->s.fd, LSK_WANT_READ);
  if (err) {
    if (buf != stackbuf)
      lua_pop(L, 1);
    return err;
  }
  lua_pushlstring(L, buf, got);
  if (buf != stackbuf)
    lua_remove(L, -2);
  *nres = withaddr ? 1 + lsockL_pushaddr(L, s->ctx, &from) : 1;
  return 0;
}

/* recv and recvfrom once the first attempt said EAGAIN: slots 2 bufsize,
 * 3 flags, 4 deadline, 5 true for recvfrom. Waits, then tries again. */
static int recv_k(lua_State *L, int status, lua_KContext ctx) {
  int withaddr = lua_toboolean(L, 5);
  const char *op = withaddr ? "recvfrom" : "recv";
  int err, nres = 0;
  lsockL_Socket *s = lsockL_resumek(L, status, 5, op, &err);
  size_t n = (size_t)lua_tointeger(L, 2);
  int flags = (int)lua_tointeger(L, 3);
  (void)ctx;
  if (status != LUA_YIELD)
    err = lsockL_waitk(L, s, LSK_WANT_READ, 4, recv_k);
  while (err == 0) {
    err = recv_once(L, s, n, flags, withaddr, &nres);
    if (err != EAGAIN)
      break;
    err = lsockL_waitk(L, s, LSK_WANT_READ, 4, recv_k);
  }
  if (err)
    return lsockL_fail(L, err, op, NULL);
  return nres;
}

/* The first attempt is made here, before any stack slot is set up: most
 * calls end with it. */
static int recv_start(lua_State *L, int withaddr) {
  const char *op = withaddr ? "recvfrom" : "recv";
  lsockL_Socket *s = lsockL_checkopen(L, 1, op);
  size_t n = checksize(L, 2);
  lua_Integer flags = luaL_optinteger(L, 3, 0);
  int nres = 0, err;
  if (n == 0 && !withaddr) {
    /* As CPython's sock_recv: nothing asked, nothing to wait for. */
    lua_pushliteral(L, "");
    return 1;
  }
  err = recv_once(L, s, n, (int)flags, withaddr, &nres);
  if (err == 0)
    return nres;
  if (err != EAGAIN)
    return lsockL_fail(L, err, op, NULL);
  lua_settop(L, 2);
  lua_pushinteger(L, flags);
  lua_pushinteger(L, LSOCK_DEADLINE_UNSET);
  lua_pushboolean(L, withaddr);
  return recv_k(L, LUA_OK, 0);
}

static int m_recv(lua_State *L) {
  return recv_start(L, 0);
}

static int m_recvfrom(lua_State *L) {
  return recv_start(L, 1);
}

/* send, sendall and sendto share one step: slots 2 data, 3 flags,
 * 4 deadline, 5 bytes sent so far, 6 the address (sendto) or nil,
 * 7 true for sendall. sendall loops until every byte went, under one
 * deadline; send and sendto return after the first success. ctx
 * SEND_WAIT says the caller's attempt said EAGAIN: wait first. */
enum { SEND_TRY, SEND_WAIT };

static int send_k(lua_State *L, int status, lua_KContext ctx) {
  int all = lua_toboolean(L, 7);
  const lsk_addr *to = (const lsk_addr *)lua_touserdata(L, 6);
  const char *op = all ? "sendall" : to ? "sendto" : "send";
  int err;
  lsockL_Socket *s = lsockL_resumek(L, status, 7, op, &err);
  size_t len;
  const char *data = lua_tolstring(L, 2, &len);
  int flags = (int)lua_tointeger(L, 3);
  size_t off = (size_t)lua_tointeger(L, 5);
  int wait = status != LUA_YIELD && ctx == SEND_WAIT;
  while (err == 0) {
    size_t sent;
    if (!wait) {
      lsockL_direct(L, s);
      err = lsk_sock_send(&s->s, data + off, len - off, flags, &sent, to);
      if (err == 0) {
        off += sent;
        if (!all || off >= len)
          break;
        continue;
      }
      if (err != EAGAIN)
        break;
    }
    wait = 0;
    /* Progress must survive a yield. */
    lua_pushinteger(L, (lua_Integer)off);
    lua_replace(L, 5);
    err = lsockL_waitk(L, s, LSK_WANT_WRITE, 4, send_k);
  }
  if (err)
    return lsockL_fail(L, err, op, to);
  if (all)
    return 0;
  lua_pushinteger(L, (lua_Integer)off);
  return 1;
}

/* Cuts the stack to self and the data, pushes send_k's slots and runs
 * it: `to` (copied) for sendto, else NULL; `sent` bytes already gone; the
 * deadline d (LSOCK_DEADLINE_UNSET if not taken yet); `how` SEND_TRY or
 * SEND_WAIT. */
static int send_enter(lua_State *L, lua_Integer flags, lua_Integer d,
                      size_t sent, const lsk_addr *to, int all, int how) {
  lua_settop(L, 2);
  lua_pushinteger(L, flags);
  lua_pushinteger(L, d);
  lua_pushinteger(L, (lua_Integer)sent);
  if (to)
    *(lsk_addr *)lua_newuserdatauv(L, sizeof(lsk_addr), 0) = *to;
  else
    lua_pushnil(L);
  lua_pushboolean(L, all);
  return send_k(L, LUA_OK, how);
}

/* The first attempt is made here, before any stack slot is set up: most
 * calls end with it. */
static int send_start(lua_State *L, int all) {
  const char *op = all ? "sendall" : "send";
  lsockL_Socket *s = lsockL_checkopen(L, 1, op);
  size_t len, sent = 0;
  const char *data = luaL_checklstring(L, 2, &len);
  lua_Integer flags = luaL_optinteger(L, 3, 0);
  lsockL_direct(L, s);
  int err = lsk_sock_send(&s->s, data, len, (int)flags, &sent, NULL);
  if (err == 0 && (!all || sent >= len)) {
    if (all)
      return 0;
    lua_pushinteger(L, (lua_Integer)sent);
    return 1;
  }
  if (err && err != EAGAIN)
    return lsockL_fail(L, err, op, NULL);
  return send_enter(L, flags, LSOCK_DEADLINE_UNSET, sent, NULL, all,
                    err == EAGAIN ? SEND_WAIT : SEND_TRY);
}

static int m_send(lua_State *L) {
  return send_start(L, 0);
}

static int m_sendall(lua_State *L) {
  return send_start(L, 1);
}

/* sendto's lookup phase: slots 2 data, 3 flags, 4 the address, 5 the
 * lookup, 6 the deadline; then the slots of send_k. */
static int sendto_k(lua_State *L, int status, lua_KContext ctx) {
  int err;
  lsockL_Socket *s = lsockL_resumek(L, status, 6, "sendto", &err);
  lsk_addr *to = (lsk_addr *)lua_touserdata(L, 4);
  if (lua_islightuserdata(L, 5)) {
    char where[LSK_ADDR_TEXT_MAX];
    if (status != LUA_YIELD)
      err = (int)ctx;
    if ((err = lookup_done(L, 5, err, to, where)) != 0)
      return lsockL_error(L, err, "sendto", where);
  }
  lsockL_policy_addr(L, s->ctx, to, "sendto");
  /* The deadline, if the lookup started it, goes on. */
  lsk_addr a = *to;
  return send_enter(L, lua_tointeger(L, 3), lua_tointeger(L, 6), 0, &a, 0,
                    SEND_TRY);
}

/* sendto(data, [flags,] addr...): a number in second place is flags, as no
 * address starts with a number. */
static int m_sendto(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "sendto");
  luaL_checkstring(L, 2);
  lua_Integer flags = 0;
  int first = 3;
  if (lua_type(L, 3) == LUA_TNUMBER) {
    flags = luaL_checkinteger(L, 3);
    first = 4;
  }
  lsk_addr to;
  lsockL_Lookup *l = NULL;
  lsockL_checkaddrk(L, first, s->s.family, &to, "sendto",
                    lsockL_canblock(L, s->ctx) && s->timeout <= 0 ? NULL : &l);
  if (!l) {
    /* The first attempt, with the address on the C stack. */
    size_t len, sent = 0;
    const char *data = lua_tolstring(L, 2, &len);
    lsockL_policy_addr(L, s->ctx, &to, "sendto");
    lsockL_direct(L, s);
    int err = lsk_sock_send(&s->s, data, len, (int)flags, &sent, &to);
    if (err == 0) {
      lua_pushinteger(L, (lua_Integer)sent);
      return 1;
    }
    if (err != EAGAIN)
      return lsockL_fail(L, err, "sendto", &to);
    return send_enter(L, flags, LSOCK_DEADLINE_UNSET, 0, &to, 0, SEND_WAIT);
  }
  lua_settop(L, 2);
  lua_pushinteger(L, flags);
  *(lsk_addr *)lua_newuserdatauv(L, sizeof(lsk_addr), 0) = to;
  lua_pushlightuserdata(L, l);
  lua_pushinteger(L, LSOCK_DEADLINE_UNSET);
  return sendto_k(L, LUA_OK, lookup_wait(L, s, 5, 6, sendto_k));
}

static int m_shutdown(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "shutdown");
  lua_Integer how = luaL_checkinteger(L, 2);
  luaL_argcheck(L, how >= SHUT_RD && how <= SHUT_RDWR, 2,
                "must be SHUT_RD, SHUT_WR or SHUT_RDWR");
  int err = lsk_sock_shutdown(&s->s, (int)how);
  if (err)
    return lsockL_fail(L, err, "shutdown", NULL);
  return 0;
}

/* ---- names ---- */

static int m_getsockname(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "getsockname");
  lsk_addr a;
  int err = lsk_sock_name(&s->s, &a);
  if (err)
    return lsockL_fail(L, err, "getsockname", NULL);
  return lsockL_pushaddr(L, NULL, &a);
}

static int m_getpeername(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "getpeername");
  lsk_addr a;
  int err = lsk_sock_peer(&s->s, &a);
  if (err)
    return lsockL_fail(L, err, "getpeername", NULL);
  return lsockL_pushaddr(L, NULL, &a);
}

/* ---- options ---- */

static int checkint(lua_State *L, int i) {
  lua_Integer v = luaL_checkinteger(L, i);
  luaL_argcheck(L, v >= INT32_MIN && v <= INT32_MAX, i, "out of range");
  return (int)v;
}

static int m_setsockopt(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "setsockopt");
  int level = checkint(L, 2), name = checkint(L, 3);
  const void *v;
  socklen_t len;
  int iv;
  switch (lua_type(L, 4)) {
  case LUA_TBOOLEAN:
    iv = lua_toboolean(L, 4);
    v = &iv;
    len = sizeof iv;
    break;
  case LUA_TNUMBER:
    iv = checkint(L, 4);
    v = &iv;
    len = sizeof iv;
    break;
  case LUA_TSTRING: {
    size_t n;
    v = lua_tolstring(L, 4, &n);
    luaL_argcheck(L, n <= 65536, 4, "option value too long");
    len = (socklen_t)n;
    break;
  }
  default:
    return luaL_typeerror(L, 4, "integer, boolean or string");
  }
  int err = lsk_sock_setopt(&s->s, level, name, v, len);
  if (err)
    return lsockL_fail(L, err, "setsockopt", NULL);
  return 0;
}

static int m_getsockopt(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "getsockopt");
  int level = checkint(L, 2), name = checkint(L, 3);
  int err;
  if (lua_isnoneornil(L, 4)) {
    int v = 0;
    socklen_t len = sizeof v;
    if ((err = lsk_sock_getopt(&s->s, level, name, &v, &len)) != 0)
      return lsockL_fail(L, err, "getsockopt", NULL);
    lua_pushinteger(L, v);
    return 1;
  }
  /* Python allows 1..1024 bytes for a raw option value. */
  lua_Integer buflen = luaL_checkinteger(L, 4);
  luaL_argcheck(L, buflen > 0 && buflen <= 1024, 4, "buflen must be 1-1024");
  char buf[1024];
  socklen_t len = (socklen_t)buflen;
  if ((err = lsk_sock_getopt(&s->s, level, name, buf, &len)) != 0)
    return lsockL_fail(L, err, "getsockopt", NULL);
  lua_pushlstring(L, buf, len);
  return 1;
}

/* ---- timeouts ---- */

static int m_settimeout(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "settimeout");
  luaL_checkany(L, 2);
  s->timeout = checktimeout(L, 2);
  return 0;
}

static int m_gettimeout(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "gettimeout");
  pushtimeout(L, s->timeout);
  return 1;
}

/* setblocking(flag): a boolean, or a number as Python reads it (0 is
 * false). Only the timeout changes: each call puts the descriptor in the
 * mode it needs (lsockL_direct). */
static int m_setblocking(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "setblocking");
  int on;
  if (lua_type(L, 2) == LUA_TNUMBER)
    on = lua_tonumber(L, 2) != 0;
  else {
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    on = lua_toboolean(L, 2);
  }
  s->timeout = on ? -1 : 0;
  return 0;
}

static int m_getblocking(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "getblocking");
  lua_pushboolean(L, s->timeout != 0);
  return 1;
}

static int f_getdefaulttimeout(lua_State *L) {
  pushtimeout(L, lsockL_ctx(L)->deftimeout);
  return 1;
}

static int f_setdefaulttimeout(lua_State *L) {
  luaL_checkany(L, 1);
  lsockL_ctx(L)->deftimeout = checktimeout(L, 1);
  return 0;
}

/* ---- registration ---- */

static const luaL_Reg methods[] = {
  {"accept", m_accept},
  {"bind", m_bind},
  {"close", m_close},
  {"connect", m_connect},
  {"connect_ex", m_connect_ex},
  {"detach", m_detach},
  {"dup", m_dup},
  {"fileno", m_fileno},
  {"getblocking", m_getblocking},
  {"getpeername", m_getpeername},
  {"getsockname", m_getsockname},
  {"getsockopt", m_getsockopt},
  {"gettimeout", m_gettimeout},
  {"listen", m_listen},
  {"makefile", lsockL_makefile},
  {"recv", m_recv},
  {"recvfrom", m_recvfrom},
  {"recvmsg", lsockL_recvmsg},
  {"send", m_send},
  {"sendall", m_sendall},
  {"sendfile", lsockL_sendfile},
  {"sendmsg", lsockL_sendmsg},
  {"sendto", m_sendto},
  {"setblocking", m_setblocking},
  {"setsockopt", m_setsockopt},
  {"settimeout", m_settimeout},
  {"shutdown", m_shutdown},
  {NULL, NULL}
};

static const luaL_Reg metamethods[] = {
  {"__gc", mm_gc},
  {"__close", m_close},
  {"__tostring", mm_tostring},
  {"__newindex", mm_newindex},
  {NULL, NULL}
};

/* Copies every entry of the table at `from` into the table at `into`. */
static void copyinto(lua_State *L, int into, int from) {
  into = lua_absindex(L, into);
  from = lua_absindex(L, from);
  lua_pushnil(L);
  while (lua_next(L, from)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, into);
  }
}

void lsockL_opened(lua_State *L, int i) {
  lsockL_Socket *s = (lsockL_Socket *)lua_touserdata(L, i);
  i = lua_absindex(L, i);
  s->closed = 0;
  /* The kind, packed into one integer key; values that would not fit
   * (none the kernel gives) keep the generic metatable, which is always
   * right. */
  unsigned family = (unsigned)s->s.family, type = (unsigned)s->s.type,
           proto = (unsigned)s->s.proto;
  if (family > 0xffff || type > 0xffffff || proto > 0xffff)
    return;
  lua_Integer kind = ((lua_Integer)family << 40) |
                     ((lua_Integer)type << 16) | (lua_Integer)proto;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->ctx->kindsref); /* kinds */
  if (lua_rawgeti(L, -1, kind) == LUA_TNIL) {        /* kinds, nil */
    lua_pop(L, 1);
    lua_createtable(L, 0, 6);                        /* kinds, mt */
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ctx->metaref);
    copyinto(L, -2, -1);  /* the generic one's metamethods and name */
    lua_pop(L, 1);
    lua_createtable(L, 0, 40);                       /* kinds, mt, index */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &methodskey);
    copyinto(L, -2, -1);
    lua_pop(L, 1);
    lua_pushinteger(L, s->s.family);
    lua_setfield(L, -2, "family");
    lua_pushinteger(L, s->s.type);
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, s->s.proto);
    lua_setfield(L, -2, "proto");
    lua_setfield(L, -2, "__index");                  /* kinds, mt */
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, kind);
  }
  lua_setmetatable(L, i);
  lua_pop(L, 1);
}

void lsockL_syncmethods(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &methodskey);    /* methods */
  lua_rawgeti(L, LUA_REGISTRYINDEX, lsockL_ctx(L)->kindsref);
  lua_pushnil(L);
  while (lua_next(L, -2)) {                          /* ..., kind, mt */
    lua_getfield(L, -1, "__index");                  /* ..., kind, mt, index */
    copyinto(L, -1, -5);
    lua_pop(L, 2);
  }
  lua_pop(L, 2);
}

static const luaL_Reg functions[] = {
  {"socket", f_socket},
  {"getdefaulttimeout", f_getdefaulttimeout},
  {"setdefaulttimeout", f_setdefaulttimeout},
  {NULL, NULL}
};

void lsockL_opensocket(lua_State *L) {
  lsockL_Ctx *c = lsockL_ctx(L);
  luaL_newmetatable(L, LSOCK_SOCKET);  /* module, generic */
  if (c->metaref == LUA_NOREF) {       /* the first open in this state */
    lua_pushvalue(L, -1);
    c->metaref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    c->kindsref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  luaL_setfuncs(L, metamethods, 0);
  luaL_newlib(L, methods);             /* module, generic, methods */
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &methodskey);
  lua_pushcclosure(L, mm_index, 1);    /* module, generic, __index */
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);                       /* module */
  luaL_setfuncs(L, functions, 0);
}
