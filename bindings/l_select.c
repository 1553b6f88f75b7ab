/* bindings/l_select: socket.select(rlist, wlist, xlist [, timeout]).
 * Readiness is read with one poll(2) over every entry; when nothing is
 * ready and the caller may wait, each entry gets a loop waiter and the
 * wait ends at the first that fires, then poll reads the answer again. */
#include "l_select.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <poll.h>
#include <string.h>

#include "../core/loop.h"
#include "../core/wait.h"
#include "l_error.h"
#include "l_socket.h"
#include "l_task.h"

/* Stack slots of a select call, kept across a task's yield. */
enum { S_R = 1, S_W, S_X, S_TIMEOUT, S_POLL, S_WAITERS, S_DEADLINE, NSLOTS };

static const short want[3] = {POLLIN | POLLPRI, POLLOUT, POLLPRI};
static const int loopwant[3] = {LSK_WANT_READ, LSK_WANT_WRITE, LSK_WANT_READ};

/* The descriptor behind list item at the top of the stack: an integer, a
 * socket, or anything with a fileno method (file objects, wrappers). */
static int itemfd(lua_State *L, int list, lua_Integer i) {
  if (lua_isinteger(L, -1)) {
    lua_Integer fd = lua_tointeger(L, -1);
    if (fd < 0 || fd > 0x7fffffff)
      luaL_error(L, "bad argument #%d to 'select' (item %d: descriptor %d "
                    "out of range)", list, (int)i, (int)fd);
    return (int)fd;
  }
  lsockL_Socket *s = lsockL_testsock(L, -1);
  if (s) {
    lsockL_checkalive(L, s, "select");
    return s->s.fd;
  }
  if (luaL_getmetafield(L, -1, "__index") != LUA_TNIL) {
    lua_pop(L, 1);
    lua_getfield(L, -1, "fileno");
    if (lua_isfunction(L, -1)) {
      lua_pushvalue(L, -2);
      lua_call(L, 1, 1);
      if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0) {
        int fd = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        return fd;
      }
      lsockL_error(L, EBADF, "select", NULL);
    }
    lua_pop(L, 1);
  }
  return luaL_error(L, "bad argument #%d to 'select' (item %d: socket, file "
                       "or descriptor expected, got %s)",
                    list, (int)i, luaL_typename(L, -1));
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

void lsockL_openselect(lua_State *L) {
  lua_pushcfunction(L, f_select);
  lua_setfield(L, -2, "select");
}
