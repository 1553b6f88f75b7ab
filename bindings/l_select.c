/* bindings/l_select: Python's select module, in the socket module.
 * - socket.select(rlist, wlist, xlist [, timeout]): readiness is read with
 *   one poll(2) over every entry; when nothing is ready and the caller may
 *   wait, each entry gets a loop waiter and the wait ends at the first
 *   that fires, then poll reads the answer again.
 * - socket.epoll(): an epoll instance of the script's own. Its descriptor
 *   is itself pollable, so a poll that must wait waits for it through the
 *   loop like any socket, and a task that polls suspends only itself. */
#include "l_select.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

#include "../core/loop.h"
#include "../core/wait.h"
#include "l_error.h"
#include "l_socket.h"
#include "l_task.h"

/* Stack slots of a select call, kept across a task's yield. */
enum { S_R = 1, S_W, S_X, S_TIMEOUT, S_POLL, S_WAITERS, S_DEADLINE, NSLOTS };

static const short want[3] = {POLLIN | POLLPRI, POLLOUT, POLLPRI};
static const int loopwant[3] = {LSK_WANT_READ, LSK_WANT_WRITE, LSK_WANT_READ};

/* What valuefd found instead of a descriptor. */
enum { NOT_FD = -1, FD_RANGE = -2 };

/* The descriptor behind the value at index i: an integer, a socket, or
 * anything with a fileno method (file objects, wrappers); NOT_FD or
 * FD_RANGE for the caller's argument error. A closed socket or file
 * raises EBADF, with op named. */
static int valuefd(lua_State *L, int i, const char *op) {
  i = lua_absindex(L, i);
  if (lua_isinteger(L, i)) {
    lua_Integer fd = lua_tointeger(L, i);
    return fd < 0 || fd > INT_MAX ? FD_RANGE : (int)fd;
  }
  lsockL_Socket *s = lsockL_testsock(L, i);
  if (s) {
    lsockL_checkalive(L, s, op);
    return s->s.fd;
  }
  if (luaL_getmetafield(L, i, "__index") == LUA_TNIL)
    return NOT_FD;
  lua_pop(L, 1);
  lua_getfield(L, i, "fileno");
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    return NOT_FD;
  }
  lua_pushvalue(L, i);
  lua_call(L, 1, 1);
  lua_Integer fd = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
  lua_pop(L, 1);
  if (fd < 0 || fd > INT_MAX)
    lsockL_error(L, EBADF, op, NULL);
  return (int)fd;
}

/* The descriptor behind list item i at the top of the stack. */
static int itemfd(lua_State *L, int list, lua_Integer i) {
  int fd = valuefd(L, -1, "select");
  if (fd == FD_RANGE)
    luaL_error(L,
               "bad argument #%d to 'select' (item %d: descriptor %I "
               "out of range)",
               list, (int)i, (LUAI_UACINT)lua_tointeger(L, -1));
  if (fd == NOT_FD)
    luaL_error(L,
               "bad argument #%d to 'select' (item %d: socket, file "
               "or descriptor expected, got %s)",
               list, (int)i, luaL_typename(L, -1));
  return fd;
}

/* Counts the entries of the three lists, checking their types. */
static int countall(lua_State *L) {
  lua_Integer n = 0;
  for (int l = S_R; l <= S_X; l++) {
    if (lua_isnil(L, l))
      continue;
    luaL_checktype(L, l, LUA_TTABLE);
    n += luaL_len(L, l);
  }
  luaL_argcheck(L, n <= 1 << 20, 1, "too many entries");
  return (int)n;
}

/* Fills the pollfd array from the lists (in order). */
static void fillpoll(lua_State *L, struct pollfd *p) {
  int k = 0;
  for (int l = S_R; l <= S_X; l++) {
    if (lua_isnil(L, l))
      continue;
    lua_Integer len = luaL_len(L, l);
    for (lua_Integer i = 1; i <= len; i++) {
      lua_geti(L, l, i);
      p[k].fd = itemfd(L, l, i);
      p[k].events = want[l - S_R];
      p[k].revents = 0;
      lua_pop(L, 1);
      k++;
    }
  }
}

/* One poll(0); pushes the three result arrays and returns 3 when anything
 * is ready (or `always`), else 0. */
static int answer(lua_State *L, struct pollfd *p, int n, int always) {
  int rc;
  do {
    rc = poll(p, (nfds_t)n, 0);
  } while (rc < 0 && errno == EINTR && !lsk_interrupted);
  if (rc < 0)
    return lsockL_error(L, errno, "select", NULL);
  for (int k = 0; k < n; k++)
    if (p[k].revents & POLLNVAL)
      return lsockL_error(L, EBADF, "select", NULL);
  if (rc == 0 && !always)
    return 0;
  int k = 0;
  for (int l = S_R; l <= S_X; l++) {
    lua_newtable(L);
    if (lua_isnil(L, l))
      continue;
    lua_Integer len = luaL_len(L, l), out = 0;
    /* Python's select reports errors and hang-ups as readable and
     * writable, since the next call on the descriptor returns at once. */
    short ok = l == S_R   ? POLLIN | POLLPRI | POLLHUP | POLLERR
               : l == S_W ? POLLOUT | POLLERR | POLLHUP
                          : POLLPRI;
    for (lua_Integer i = 1; i <= len; i++, k++) {
      if (!(p[k].revents & ok))
        continue;
      lua_geti(L, l, i);
      lua_rawseti(L, -2, ++out);
    }
  }
  return 3;
}

/* After a wait through the loop: the descriptors select was given leave
 * epoll again. Integers and file objects may be closed without lsock
 * knowing, and a new socket given the same number would then be taken
 * for registered. A socket among them is registered again by its next
 * wait. */
static void unregister(lua_State *L, const lsk_waiter *ws, int n) {
  for (int k = 0; k < n; k++)
    lsockL_unregister(L, ws[k].fd);
}

static int select_k(lua_State *L, int status, lua_KContext ctx) {
  int n = (int)ctx;
  struct pollfd *p = (struct pollfd *)lua_touserdata(L, S_POLL);
  lsk_waiter *ws = (lsk_waiter *)lua_touserdata(L, S_WAITERS);
  (void)status;
  lua_settop(L, NSLOTS - 1);
  lsockL_waitdone(L, ws, n);
  unregister(L, ws, n);
  /* The lists may have changed while the task waited: read them again. */
  fillpoll(L, p);
  return answer(L, p, n, 1);
}

static int f_select(lua_State *L) {
  lua_settop(L, S_TIMEOUT);
  int n = countall(L);
  lsk_deadline d = LSK_NEVER;
  if (!lua_isnil(L, S_TIMEOUT)) {
    lua_Number t = luaL_checknumber(L, S_TIMEOUT);
    luaL_argcheck(L, !isnan(t) && t >= 0, S_TIMEOUT,
                  "timeout must be non-negative or nil");
    luaL_argcheck(L, t <= 1e9, S_TIMEOUT, "timeout too large");
    d = lsk_deadline_after(t);
  }
  struct pollfd *p = (struct pollfd *)lua_newuserdatauv(
      L, (size_t)(n ? n : 1) * sizeof *p, 0); /* S_POLL */
  fillpoll(L, p);
  if (answer(L, p, n, d != LSK_NEVER && lsk_deadline_expired(d)))
    return 3;
  lsk_waiter *ws = (lsk_waiter *)lua_newuserdatauv(
      L, (size_t)(n ? n : 1) * sizeof *ws, 0); /* S_WAITERS */
  memset(ws, 0, (size_t)(n ? n : 1) * sizeof *ws);
  int k = 0;
  for (int l = S_R; l <= S_X; l++) {
    lua_Integer len = lua_isnil(L, l) ? 0 : luaL_len(L, l);
    for (lua_Integer i = 1; i <= len; i++, k++) {
      ws[k].fd = p[k].fd;
      ws[k].events = loopwant[l - S_R];
    }
  }
  int err = lsockL_waitmany(L, ws, n, d, select_k, n);
  unregister(L, ws, n);
  if (err && err != ETIMEDOUT)
    return lsockL_error(L, err, "select", NULL);
  return answer(L, p, n, 1);
}

/* ---- socket.epoll ---- */

typedef struct Epoll {
  int fd;          /* -1 once closed */
  lsockL_Ctx *ctx; /* the state's context, for the loop's waits */
} Epoll;

/* Stack slots of a poll call, kept across a task's yield. */
enum { P_SELF = 1, P_TIMEOUT, P_MAX, P_DEADLINE, PSLOTS };

/* Events read per poll with no buffer but the C stack: Python's default
 * maxevents (FD_SETSIZE - 1) fits. A larger maxevents gets a buffer of
 * its size, up to EVMAX (a poll may return fewer than asked). */
enum { EVSTACK = FD_SETSIZE, EVMAX = 1 << 16 };

static Epoll *toep(lua_State *L) {
  return (Epoll *)luaL_checkudata(L, 1, LSOCK_EPOLL);
}

/* Self, open: a closed epoll raises EBADF, as a closed socket does. */
static Epoll *checkep(lua_State *L, const char *op) {
  Epoll *ep = toep(L);
  if (ep->fd < 0)
    lsockL_error(L, EBADF, op, NULL);
  return ep;
}

/* socket.epoll([sizehint [, flags]]): as Python's, sizehint is -1 or a
 * positive hint the kernel no longer needs, and flags 0 or EPOLL_CLOEXEC:
 * the descriptor is close-on-exec either way. */
static int f_epoll(lua_State *L) {
  lua_Integer hint = luaL_optinteger(L, 1, -1);
  lua_Integer flags = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, hint == -1 || hint > 0, 1,
                "sizehint must be positive or -1");
  luaL_argcheck(L, flags == 0 || flags == EPOLL_CLOEXEC, 2,
                "flags must be 0 or EPOLL_CLOEXEC");
  Epoll *ep = (Epoll *)lua_newuserdatauv(L, sizeof *ep, 0);
  ep->fd = -1;
  ep->ctx = lsockL_ctx(L);
  luaL_setmetatable(L, LSOCK_EPOLL);
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0)
    return lsockL_error(L, errno, "epoll", NULL);
  ep->fd = fd;
  return 1;
}

/* Argument 3, an event mask, from the integer m. */
static uint32_t eventmask(lua_State *L, lua_Integer m) {
  luaL_argcheck(L, m >= 0 && m <= UINT32_MAX, 3, "event mask out of range");
  return (uint32_t)m;
}

/* register, modify and unregister: one epoll_ctl on the descriptor behind
 * argument 2, for the events in mask. */
static int ctl(lua_State *L, int op, const char *name, uint32_t mask) {
  Epoll *ep = checkep(L, name);
  int fd = valuefd(L, 2, name);
  luaL_argcheck(L, fd != FD_RANGE, 2, "descriptor out of range");
  if (fd == NOT_FD)
    return luaL_typeerror(L, 2, "socket, file or descriptor");
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = mask;
  ev.data.fd = fd;
  if (epoll_ctl(ep->fd, op, fd, &ev) < 0)
    return lsockL_error(L, errno, name, NULL);
  return 0;
}

static int m_register(lua_State *L) {
  lua_Integer dflt = EPOLLIN | EPOLLPRI | EPOLLOUT;
  return ctl(L, EPOLL_CTL_ADD, "register",
             eventmask(L, luaL_optinteger(L, 3, dflt)));
}

static int m_modify(lua_State *L) {
  return ctl(L, EPOLL_CTL_MOD, "modify", eventmask(L, luaL_checkinteger(L, 3)));
}

static int m_unregister(lua_State *L) {
  return ctl(L, EPOLL_CTL_DEL, "unregister", 0);
}

/* One epoll_wait for up to max events, waiting up to ms (-1: no limit).
 * Pushes the array of {fd, events} pairs and returns 1 when events came;
 * returns 0 when none did or a signal cut the wait short (the caller
 * looks at its deadline again), unless an interrupt is pending, which
 * raises. */
static int waitonce(lua_State *L, const Epoll *ep, int max, int ms) {
  struct epoll_event buf[EVSTACK], *evs = buf;
  if (max > EVSTACK)
    evs = (struct epoll_event *)lua_newuserdatauv(L, (size_t)max * sizeof *evs,
                                                  0);
  int n = epoll_wait(ep->fd, evs, max, ms);
  if (n < 0 && errno == EINTR && !lsk_interrupted)
    n = 0;
  if (n < 0)
    return lsockL_fail(L, errno, "poll", NULL);
  if (n == 0) {
    if (evs != buf) /* the caller may come back: leave the stack as it was */
      lua_pop(L, 1);
    return 0;
  }
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, evs[i].data.fd);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, (lua_Integer)evs[i].events);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int poll_k(lua_State *L, int status, lua_KContext ctx);

/* Polls until events come or d passes. When nothing else could run, the
 * wait is epoll_wait's own (one system call, as Python's); otherwise it
 * goes through the loop, which watches the epoll descriptor: in a task
 * it yields and resumes in poll_k. */
static int pollfor(lua_State *L, const Epoll *ep, int max, lsk_deadline d) {
  for (;;) {
    if (lsockL_canblock(L, ep->ctx)) {
      if (waitonce(L, ep, max, lsk_deadline_remaining_ms(d)))
        return 1;
    } else {
      if (waitonce(L, ep, max, 0))
        return 1;
      if (!lsk_deadline_expired(d)) {
        int err = lsockL_waitfd(L, ep->ctx, ep->fd, LSK_WANT_READ, d, poll_k,
                                (lua_KContext)max);
        if (err && err != ETIMEDOUT)
          return lsockL_error(L, err, "poll", NULL);
        continue; /* read the answer, even at the deadline */
      }
    }
    if (lsk_deadline_expired(d))
      break;
  }
  lua_createtable(L, 0, 0); /* the deadline passed: no events */
  return 1;
}

static int poll_k(lua_State *L, int status, lua_KContext ctx) {
  Epoll *ep = (Epoll *)lua_touserdata(L, P_SELF);
  (void)status;
  if (ep->fd < 0) /* closed by another task while this one waited */
    return lsockL_error(L, EBADF, "poll", NULL);
  int err = lsockL_resumed(L, ep->ctx);
  if (err && err != ETIMEDOUT)
    return lsockL_error(L, err, "poll", NULL);
  lua_settop(L, P_DEADLINE);
  return pollfor(L, ep, (int)ctx, (lsk_deadline)lua_tointeger(L, P_DEADLINE));
}

/* ep:poll([timeout [, maxevents]]): an array of {fd, events} pairs, empty
 * when timeout (seconds; nil or negative: none) passes first. */
static int m_poll(lua_State *L) {
  Epoll *ep = checkep(L, "poll");
  lsk_deadline d = LSK_NEVER;
  if (!lua_isnoneornil(L, P_TIMEOUT)) {
    lua_Number t = luaL_checknumber(L, P_TIMEOUT);
    luaL_argcheck(L, !isnan(t), P_TIMEOUT, "timeout must be a number");
    d = lsk_deadline_after(t); /* negative: no deadline */
  }
  lua_Integer max = luaL_optinteger(L, P_MAX, -1);
  if (max == -1)
    max = FD_SETSIZE - 1;
  luaL_argcheck(L, max > 0, P_MAX, "maxevents must be positive or -1");
  if (max > EVMAX)
    max = EVMAX;
  lua_settop(L, P_MAX);
  lua_pushinteger(L, (lua_Integer)d); /* P_DEADLINE */
  return pollfor(L, ep, (int)max, d);
}

/* close: the descriptor goes; tasks waiting in poll wake with EBADF.
 * Closing twice is fine. */
static int m_epclose(lua_State *L) {
  Epoll *ep = toep(L);
  int fd = ep->fd;
  if (fd < 0)
    return 0;
  ep->fd = -1;
  lsockL_forget(L, ep->ctx, fd);
  if (close(fd) < 0 && errno != EINTR && !lua_isnil(L, lua_upvalueindex(1)))
    return lsockL_error(L, errno, "close", NULL);
  return 0;
}

static int m_epfileno(lua_State *L) {
  lua_pushinteger(L, toep(L)->fd);
  return 1;
}

/* ep.closed, as Python's attribute; the methods otherwise. */
static int mm_epindex(lua_State *L) {
  const Epoll *ep = toep(L);
  const char *k = lua_tostring(L, 2);
  if (k && strcmp(k, "closed") == 0) {
    lua_pushboolean(L, ep->fd < 0);
    return 1;
  }
  lua_gettable(L, lua_upvalueindex(1));
  return 1;
}

static int mm_eptostring(lua_State *L) {
  const Epoll *ep = toep(L);
  lua_pushfstring(L, "<lsock.epoll %sfd=%d>", ep->fd < 0 ? "[closed] " : "",
                  ep->fd);
  return 1;
}

static const luaL_Reg epmethods[] = {
    {"register", m_register},     {"modify", m_modify},
    {"unregister", m_unregister}, {"poll", m_poll},
    {"fileno", m_epfileno},       {NULL, NULL}};

/* The epoll metatable: close raises from ep:close() (its upvalue true) and
 * stays silent as __gc and __close. */
static void openepoll(lua_State *L) {
  luaL_newmetatable(L, LSOCK_EPOLL);
  luaL_newlib(L, epmethods);
  lua_pushboolean(L, 1);
  lua_pushcclosure(L, m_epclose, 1);
  lua_setfield(L, -2, "close");
  lua_pushcclosure(L, mm_epindex, 1);
  lua_setfield(L, -2, "__index");
  lua_pushnil(L);
  lua_pushcclosure(L, m_epclose, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__gc");
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, mm_eptostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "lsock.epoll");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

void lsockL_openselect(lua_State *L) {
  openepoll(L);
  lua_pushcfunction(L, f_select);
  lua_setfield(L, -2, "select");
  lua_pushcfunction(L, f_epoll);
  lua_setfield(L, -2, "epoll");
}
