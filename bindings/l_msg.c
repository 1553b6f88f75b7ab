/* bindings/l_msg: sendmsg, recvmsg and sendfile, plus the module helpers
 * around them (see l_msg.h). Each method is an entry function and a step
 * function that is its own continuation, as in l_socket.c: state lives in
 * stack slots and in userdata, so a task can yield in the wait. */
#include "l_msg.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "../core/inet.h"
#include "../core/msg.h"
#include "../core/wait.h"
#include "l_addr.h"
#include "l_error.h"
#include "l_socket.h"
#include "l_task.h"

/* Holds a recvmsg control buffer; descriptors received into it are closed
 * at collection unless they reached the script (live cleared). */
#define LSOCK_MSGCTL "lsock.msgctl"

#define STACKBUF 65536
/* recvmsg never allocates more than this for data, whatever bufsize says;
 * a longer datagram comes back cut, with MSG_TRUNC set. */
#define RECV_MAX (64 << 20)
/* Most ancillary bytes recvmsg accepts to receive (Python has no limit;
 * the kernel's own is net.core.optmem_max, 20 KiB by default). */
#define ANC_MAX (1 << 20)

static lua_Integer checksize(lua_State *L, int i, lua_Integer def) {
  lua_Integer n = luaL_optinteger(L, i, def);
  luaL_argcheck(L, n >= 0, i, "negative buffer size");
  return n;
}

static int checkflags(lua_State *L, int i) {
  lua_Integer f = luaL_optinteger(L, i, 0);
  luaL_argcheck(L, f >= INT_MIN && f <= INT_MAX, i, "flags out of range");
  return (int)f;
}

/* ---- sendmsg ---- */

/* The message: the msghdr, its destination, then (in the same block) the
 * iovecs and the control bytes. The iovecs point into strings the keep
 * table holds, so nothing moves or goes while a task waits. */
typedef struct Msg {
  struct msghdr m;
  lsk_addr to;
} Msg;

#define MSG_HEAD ((sizeof(Msg) + 15) & ~(size_t)15)

/* The data of an ancillary item: a string, or for SCM_RIGHTS an array of
 * descriptors (integers or open sockets), packed as the kernel wants.
 * Pushes the bytes. */
static void pushancdata(lua_State *L, int idx, int level, int type) {
  if (lua_type(L, -1) == LUA_TSTRING)
    return;
  if (level != SOL_SOCKET || type != SCM_RIGHTS ||
      lua_type(L, -1) != LUA_TTABLE)
    luaL_error(L, "bad argument #3 to 'sendmsg' (ancdata item %d: data must "
                  "be a string%s)", idx,
               level == SOL_SOCKET && type == SCM_RIGHTS
                   ? " or an array of descriptors" : "");
  luaL_Buffer b;
  lua_Integer n = luaL_len(L, -1);
  int t = lua_gettop(L);
  luaL_buffinit(L, &b);
  for (lua_Integer i = 1; i <= n; i++) {
    int fd;
    lua_geti(L, t, i);
    lsockL_Socket *s = lsockL_testsock(L, -1);
    if (s) {
      lsockL_checkalive(L, s, "sendmsg");
      fd = s->s.fd;
    } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
               lua_tointeger(L, -1) <= INT_MAX) {
      fd = (int)lua_tointeger(L, -1);
    } else {
      luaL_error(L, "bad argument #3 to 'sendmsg' (ancdata item %d: "
                    "descriptor %d is not a descriptor or socket)", idx,
                 (int)i);
      fd = -1;
    }
    lua_pop(L, 1);
    luaL_addlstring(&b, (const char *)&fd, sizeof fd);
  }
  luaL_pushresult(&b); /* ..., tbl, packed */
  lua_remove(L, -2);
}

static int sendmsg_k(lua_State *L, int status, lua_KContext ctx) {
  int err;
  lsockL_Socket *s = lsockL_resumek(L, status, 5, "sendmsg", &err);
  Msg *g = (Msg *)lua_touserdata(L, 5);
  int flags = (int)lua_tointeger(L, 3);
  size_t sent = 0;
  (void)ctx;
  while (err == 0) {
    lsockL_direct(L, s);
    err = lsk_sock_sendmsg(&s->s, &g->m, flags, &sent);
    if (err != EAGAIN)
      break;
    err = lsockL_waitk(L, s, LSK_WANT_WRITE, 4, sendmsg_k);
  }
  if (err)
    return lsockL_fail(L, err, "sendmsg", g->m.msg_name ? &g->to : NULL);
  lua_pushinteger(L, (lua_Integer)sent);
  return 1;
}

int lsockL_sendmsg(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "sendmsg");
  luaL_checktype(L, 2, LUA_TTABLE);
  if (!lua_isnoneornil(L, 3))
    luaL_checktype(L, 3, LUA_TTABLE);
  int flags = checkflags(L, 4);
  lsk_addr to;
  int hasto = !lua_isnoneornil(L, 5);
  if (hasto)
    lsockL_checkaddr(L, 5, s->s.family, &to, "sendmsg");
  lua_settop(L, 3);
  lua_newtable(L); /* self, buffers, ancdata, keep */
  lua_Integer nbuf = luaL_len(L, 2);
  luaL_argcheck(L, nbuf <= 1024, 2, "too many buffers (at most 1024)");
  for (lua_Integer i = 1; i <= nbuf; i++) {
    if (lua_geti(L, 2, i) != LUA_TSTRING)
      return luaL_error(L, "bad argument #2 to 'sendmsg' (buffer %d is a "
                           "%s, not a string)", (int)i, luaL_typename(L, -1));
    lua_rawseti(L, 4, i);
  }
  /* keep[nbuf + 3j - 2 .. nbuf + 3j]: level, type, data of item j. */
  lua_Integer nanc = lua_isnil(L, 3) ? 0 : luaL_len(L, 3);
  size_t ctl = 0;
  for (lua_Integer j = 1; j <= nanc; j++) {
    if (lua_geti(L, 3, j) != LUA_TTABLE)
      return luaL_error(L, "bad argument #3 to 'sendmsg' (ancdata item %d "
                           "must be a table {level, type, data})", (int)j);
    int item = lua_gettop(L);
    lua_Integer v[2];
    for (int f = 0; f < 2; f++) {
      int isint;
      lua_geti(L, item, f + 1);
      v[f] = lua_tointegerx(L, -1, &isint);
      if (!isint || v[f] < INT_MIN || v[f] > INT_MAX)
        return luaL_error(L, "bad argument #3 to 'sendmsg' (ancdata item "
                             "%d: %s must be an integer)", (int)j,
                          f ? "type" : "level");
      lua_rawseti(L, 4, nbuf + 3 * j - 2 + f);
    }
    lua_geti(L, item, 3);
    pushancdata(L, (int)j, (int)v[0], (int)v[1]);
    size_t len = lua_rawlen(L, -1);
    size_t space = lsk_msg_cmsg_space(len);
    if (space == 0 || ctl + space > INT_MAX)
      return luaL_error(L, "bad argument #3 to 'sendmsg' (ancillary data "
                           "too long)");
    ctl += space;
    lua_rawseti(L, 4, nbuf + 3 * j);
    lua_pop(L, 1); /* the item */
  }
  size_t iovbytes = (size_t)nbuf * sizeof(struct iovec);
  Msg *g = (Msg *)lua_newuserdatauv(L, MSG_HEAD + iovbytes + ctl, 0);
  memset(g, 0, MSG_HEAD + iovbytes + ctl);
  struct iovec *iov = (struct iovec *)((char *)g + MSG_HEAD);
  for (lua_Integer i = 1; i <= nbuf; i++) {
    lua_rawgeti(L, 4, i);
    iov[i - 1].iov_base = (void *)lua_tolstring(L, -1, &iov[i - 1].iov_len);
    lua_pop(L, 1);
  }
  g->m.msg_iov = nbuf ? iov : NULL;
  g->m.msg_iovlen = (size_t)nbuf;
  if (ctl) {
    g->m.msg_control = (char *)iov + iovbytes;
    g->m.msg_controllen = ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&g->m);
    for (lua_Integer j = 1; j <= nanc && c; j++) {
      size_t len;
      lua_rawgeti(L, 4, nbuf + 3 * j - 2);
      lua_rawgeti(L, 4, nbuf + 3 * j - 1);
      lua_rawgeti(L, 4, nbuf + 3 * j);
      const char *data = lua_tolstring(L, -1, &len);
      c->cmsg_level = (int)lua_tointeger(L, -3);
      c->cmsg_type = (int)lua_tointeger(L, -2);
      c->cmsg_len = CMSG_LEN(len);
      memcpy(CMSG_DATA(c), data, len);
      lua_pop(L, 3);
      c = CMSG_NXTHDR(&g->m, c);
    }
  }
  if (hasto) {
    g->to = to;
    g->m.msg_name = &g->to.u;
    g->m.msg_namelen = to.len;
  }
  /* self, buffers, ancdata, keep, msg -> self, keep, flags, deadline, msg */
  lua_replace(L, 3);
  lua_replace(L, 2);
  lua_pushinteger(L, flags);
  lua_pushinteger(L, LSOCK_DEADLINE_UNSET);
  lua_rotate(L, 3, 2); /* self, keep, flags, deadline, msg */
  return sendmsg_k(L, LUA_OK, 0);
}

/* ---- recvmsg ---- */

typedef struct Ctl {
  size_t cap, used;
  int live; /* received descriptors not yet handed to the script */
  int pad;
} Ctl;

static unsigned char *ctlbuf(Ctl *c) {
  return (unsigned char *)(c + 1);
}

static void ctlmsg(Ctl *c, struct msghdr *m) {
  memset(m, 0, sizeof *m);
  m->msg_control = ctlbuf(c);
  m->msg_controllen = c->used;
}

static void closefd(int fd, void *ctx) {
  lsockL_forget((lua_State *)ctx, NULL, fd);
  lsk_fd_close(fd);
}

static int mm_ctl_gc(lua_State *L) {
  Ctl *c = (Ctl *)luaL_checkudata(L, 1, LSOCK_MSGCTL);
  if (c->live) {
    struct msghdr m;
    c->live = 0;
    ctlmsg(c, &m);
    lsk_msg_each_fd(&m, closefd, L);
  }
  return 0;
}

static void addfd(int fd, void *ctx) {
  lua_State *L = (lua_State *)ctx;
  lua_pushinteger(L, fd);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

/* Pushes the ancillary items as {level, type, data}; a truncated item
 * (MSG_CTRUNC) gives the bytes that arrived, as Python does. */
static void pushancillary(lua_State *L, Ctl *c) {
  struct msghdr m;
  int n = 0;
  lua_newtable(L);
  if (!c || c->used < sizeof(struct cmsghdr))
    return;
  ctlmsg(c, &m);
  const unsigned char *end = ctlbuf(c) + c->used;
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
    const unsigned char *p = CMSG_DATA(h);
    size_t len = h->cmsg_len >= CMSG_LEN(0) ? h->cmsg_len - CMSG_LEN(0) : 0;
    if (p > end)
      break;
    if (len > (size_t)(end - p))
      len = (size_t)(end - p);
    lua_createtable(L, 3, 0);
    lua_pushinteger(L, h->cmsg_level);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, h->cmsg_type);
    lua_rawseti(L, -2, 2);
    lua_pushlstring(L, (const char *)p, len);
    lua_rawseti(L, -2, 3);
    lua_rawseti(L, -2, ++n);
  }
}

/* recvmsg and recv_fds: slots 2 bufsize, 3 ancbufsize, 4 flags,
 * 5 deadline, 6 true for recv_fds, 7 the control buffer or nil. */
static int recvmsg_k(lua_State *L, int status, lua_KContext ctx) {
  int fds = lua_toboolean(L, 6);
  const char *op = fds ? "recv_fds" : "recvmsg";
  int err;
  lsockL_Socket *s = lsockL_resumek(L, status, 7, op, &err);
  size_t n = (size_t)lua_tointeger(L, 2);
  int flags = (int)lua_tointeger(L, 4);
  Ctl *c = (Ctl *)lua_touserdata(L, 7);
  char stackbuf[STACKBUF];
  struct msghdr m;
  lsk_addr from;
  size_t got = 0;
  (void)ctx;
  memset(&m, 0, sizeof m);
  if (n > RECV_MAX)
    n = RECV_MAX;
  while (err == 0) {
    char *buf = n <= STACKBUF ? stackbuf : (char *)lua_newuserdatauv(L, n, 0);
    struct iovec iov = {buf, n};
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_name = &from.u;
    m.msg_namelen = sizeof from.u;
    from.u.sa.sa_family = AF_UNSPEC;
    if (c) {
      m.msg_control = ctlbuf(c);
      m.msg_controllen = c->cap;
    }
    lsockL_direct(L, s);
    err = lsk_sock_recvmsg(&s->s, &m, flags, &got);
    if (err == 0) {
      from.len = m.msg_namelen;
      if (c) {
        c->used = m.msg_controllen;
        c->live = 1;
      }
      lua_pushlstring(L, buf, got);
      break;
    }
    lua_settop(L, 7);
    if (err != EAGAIN)
      break;
    err = lsockL_waitk(L, s, LSK_WANT_READ, 5, recvmsg_k);
  }
  if (err)
    return lsockL_fail(L, err, op, NULL);
  if (fds) {
    lua_newtable(L);
    if (c) {
      struct msghdr cm;
      ctlmsg(c, &cm);
      lsk_msg_each_fd(&cm, addfd, L);
    }
  } else {
    pushancillary(L, c);
  }
  lua_pushinteger(L, m.msg_flags);
  luaL_checkstack(L, 4, NULL);
  int na = lsockL_pushaddr(L, NULL, &from);
  /* Everything is built: the descriptors are the script's now. */
  if (c)
    c->live = 0;
  return 3 + na;
}

static int recvmsg_start(lua_State *L, int fds) {
  lsockL_checkopen(L, 1, fds ? "recv_fds" : "recvmsg");
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "negative buffer size");
  lua_Integer anc;
  if (fds) {
    lua_Integer maxfds = luaL_checkinteger(L, 3);
    luaL_argcheck(L, maxfds >= 0 && maxfds <= 253, 3,
                  "maxfds must be 0-253");
    anc = (lua_Integer)lsk_msg_cmsg_space((size_t)maxfds * sizeof(int));
  } else {
    anc = checksize(L, 3, 0);
    luaL_argcheck(L, anc <= ANC_MAX, 3, "ancillary buffer too large");
  }
  int flags = checkflags(L, 4);
  lua_settop(L, 2);
  lua_pushinteger(L, anc);
  lua_pushinteger(L, flags);
  lua_pushinteger(L, LSOCK_DEADLINE_UNSET);
  lua_pushboolean(L, fds);
  if (anc > 0) {
    Ctl *c = (Ctl *)lua_newuserdatauv(L, sizeof(Ctl) + (size_t)anc, 0);
    memset(c, 0, sizeof *c);
    c->cap = (size_t)anc;
    luaL_setmetatable(L, LSOCK_MSGCTL);
  } else {
    lua_pushnil(L);
  }
  return recvmsg_k(L, LUA_OK, 0);
}

int lsockL_recvmsg(lua_State *L) {
  return recvmsg_start(L, 0);
}

/* socket.recv_fds(sock, bufsize, maxfds [, flags])
 *   -> data, fds, msg_flags, addr...  (Python 3.9's) */
static int f_recv_fds(lua_State *L) {
  return recvmsg_start(L, 1);
}

/* socket.send_fds(sock, buffers, fds [, flags [, addr...]]) -> bytes sent:
 * sendmsg with one SCM_RIGHTS item (Python 3.9's). */
static int f_send_fds(lua_State *L) {
  luaL_checktype(L, 3, LUA_TTABLE);
  if (luaL_len(L, 3) == 0) {
    lua_pushnil(L);
  } else {
    lua_createtable(L, 1, 0);
    lua_createtable(L, 3, 0);
    lua_pushinteger(L, SOL_SOCKET);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, SCM_RIGHTS);
    lua_rawseti(L, -2, 2);
    lua_pushvalue(L, 3);
    lua_rawseti(L, -2, 3);
    lua_rawseti(L, -2, 1);
  }
  lua_replace(L, 3);
  return lsockL_sendmsg(L);
}

/* ---- sendfile ---- */

enum { F_SENDFILE, F_PREAD, F_READ };
#define CHUNK 65536
/* Linux sends at most this much per sendfile(2) call anyway. */
#define SENDFILE_MAX 0x7ffff000

static luaL_Stream *checkfile(lua_State *L, int i) {
  luaL_Stream *p = (luaL_Stream *)luaL_checkudata(L, i, LUA_FILEHANDLE);
  luaL_argcheck(L, p->closef != NULL, i, "attempt to use a closed file");
  return p;
}

/* Saves sendfile's progress in its slots before a wait. */
static void sendfile_save(lua_State *L, off_t off, lua_Integer left,
                          lua_Integer total, int how) {
  lua_pushinteger(L, (lua_Integer)off);
  lua_replace(L, 3);
  lua_pushinteger(L, left);
  lua_replace(L, 4);
  lua_pushinteger(L, total);
  lua_replace(L, 6);
  lua_pushinteger(L, how);
  lua_replace(L, 7);
}

/* sendfile: slots 2 the file, 3 the offset reached, 4 bytes still wanted
 * (-1: to the end), 5 deadline, 6 bytes sent, 7 how (F_*), 8 bytes read
 * from a pipe and not sent yet (or nil). ctx, on a resume, is -(fd + 1)
 * after a wait on a pipe's descriptor fd (a wait on the socket passes a
 * slot number): the loop lets go of that one, as the file may be closed
 * behind our back and its number reused. */
static int sendfile_k(lua_State *L, int status, lua_KContext ctx) {
  int err;
  lsockL_Socket *s = lsockL_resumek(L, status, 8, "sendfile", &err);
  if (status == LUA_YIELD && ctx < 0)
    lsockL_unregister(L, (int)(-ctx - 1));
  luaL_Stream *p = (luaL_Stream *)luaL_checkudata(L, 2, LUA_FILEHANDLE);
  off_t off = (off_t)lua_tointeger(L, 3);
  lua_Integer left = lua_tointeger(L, 4);
  lua_Integer total = lua_tointeger(L, 6);
  int how = (int)lua_tointeger(L, 7);
  char buf[CHUNK];
  if (p->closef == NULL && err == 0)
    err = EBADF; /* closed while the task waited */
  int fd = err ? -1 : fileno(p->f);
  while (err == 0 && left != 0) {
    size_t want = left < 0 || left > SENDFILE_MAX ? SENDFILE_MAX
                                                  : (size_t)left;
    size_t sent = 0;
    if (how == F_SENDFILE) {
      lsockL_direct(L, s);
      err = lsk_sock_sendfile(&s->s, fd, &off, want, &sent);
      if (err == ENOTSUP) { /* not a regular file: copy it through us */
        how = F_PREAD;
        err = 0;
        continue;
      }
      if (err == 0 && sent == 0)
        break; /* end of file */
    } else {
      const char *data;
      size_t len;
      int held = lua_type(L, 8) == LUA_TSTRING;
      if (held) {
        data = lua_tolstring(L, 8, &len);
      } else {
        /* A pipe may have nothing yet. Where other tasks could run, or
         * a timeout must hold, it is waited for like the socket, not in
         * a read(2) that would hold up the whole process. */
        if (how == F_READ && !lsockL_direct(L, s) &&
            !lsk_ready(fd, LSK_WANT_READ))
          err = EAGAIN;
        else
          err = lsk_fd_read(fd, buf, want < CHUNK ? want : CHUNK,
                            how == F_PREAD ? off : -1, &len);
        if (err == ESPIPE && how == F_PREAD && total == 0 && off == 0) {
          how = F_READ; /* a pipe: read it from where it is */
          err = 0;
          continue;
        }
        if (err == EAGAIN && how == F_READ && s->timeout != 0) {
          sendfile_save(L, off, left, total, how);
          lsk_deadline d = lsockL_slotdeadline(L, s, 5);
          err = lsockL_waitfd(L, s->ctx, fd, LSK_WANT_READ, d, sendfile_k,
                              -((lua_KContext)fd + 1));
          lsockL_unregister(L, fd);
          continue;
        }
        if (err || len == 0)
          break;
        data = buf;
      }
      lsockL_direct(L, s);
      err = lsk_sock_send(&s->s, data, len, 0, &sent, NULL);
      if (how == F_READ) {
        /* What a pipe gave is gone from it: keep what did not go. */
        if (err == 0 && sent < len)
          lua_pushlstring(L, data + sent, len - sent);
        else if (err == EAGAIN && !held)
          lua_pushlstring(L, data, len);
        else if (err == 0)
          lua_pushnil(L);
        else
          lua_pushvalue(L, 8);
        lua_replace(L, 8);
      }
      if (err == 0)
        off += (off_t)sent;
    }
    if (err == 0) {
      total += (lua_Integer)sent;
      if (left > 0)
        left -= (lua_Integer)sent;
      continue;
    }
    if (err != EAGAIN)
      break;
    sendfile_save(L, off, left, total, how);
    err = lsockL_waitk(L, s, LSK_WANT_WRITE, 5, sendfile_k);
  }
  /* As Python: the file's position ends after the last byte sent, also
   * when the call fails (file:seek() tells how far it got). */
  if (total > 0 && how != F_READ && p->closef != NULL)
    fseeko(p->f, off, SEEK_SET);
  if (err)
    return lsockL_fail(L, err, "sendfile", NULL);
  lua_pushinteger(L, total);
  return 1;
}

int lsockL_sendfile(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "sendfile");
  luaL_Stream *p = checkfile(L, 2);
  lua_Integer off = luaL_optinteger(L, 3, 0);
  luaL_argcheck(L, off >= 0, 3, "offset must be non-negative");
  lua_Integer count = -1;
  if (!lua_isnoneornil(L, 4)) {
    count = luaL_checkinteger(L, 4);
    luaL_argcheck(L, count > 0, 4, "count must be a positive integer");
  }
  /* Python's checks, in Python's words. */
  luaL_argcheck(L, s->s.type == SOCK_STREAM, 1, "socket must be SOCK_STREAM");
  if (s->timeout == 0)
    return luaL_error(L, "sendfile: non-blocking sockets are not supported");
  /* Bytes the script wrote through the handle must reach the file first. */
  fflush(p->f);
  lua_settop(L, 2);
  lua_pushinteger(L, off);
  lua_pushinteger(L, count);
  lua_pushinteger(L, LSOCK_DEADLINE_UNSET);
  lua_pushinteger(L, 0);
  lua_pushinteger(L, F_SENDFILE);
  lua_pushnil(L);
  return sendfile_k(L, LUA_OK, 0);
}

/* ---- module helpers ---- */

static lua_Integer cmsgarg(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= INT_MAX - 64, 1, "length out of range");
  return n;
}

/* socket.CMSG_LEN(n), socket.CMSG_SPACE(n): as Python's. */
static int f_cmsg_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lsk_msg_cmsg_len((size_t)cmsgarg(L)));
  return 1;
}

static int f_cmsg_space(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lsk_msg_cmsg_space((size_t)cmsgarg(L)));
  return 1;
}

/* socket.close(fd): closes a bare descriptor, as Python's socket.close;
 * for descriptors that recvmsg/recv_fds handed over. */
static int f_close(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  luaL_argcheck(L, fd >= 0 && fd <= INT_MAX, 1, "bad file descriptor");
  lsockL_forget(L, NULL, (int)fd);
  int err = lsk_fd_close((int)fd);
  if (err)
    return lsockL_error(L, err, "close", NULL);
  return 0;
}

static void checkip(lua_State *L, int i, int family, unsigned char *out,
                    const char *op) {
  size_t len, n;
  const char *text = luaL_checklstring(L, i, &len);
  luaL_argcheck(L, strlen(text) == len, i, "string contains a zero byte");
  int err = lsk_inet_pton(family, text, out, &n);
  if (err)
    lsockL_error(L, err, op, text);
}

/* socket.mreq(group [, interface]): the value for IP_ADD_MEMBERSHIP and
 * IP_DROP_MEMBERSHIP. `interface` is the IPv4 address of the interface
 * (an ip_mreq, 8 bytes; default any), or an interface index (an
 * ip_mreqn, 12 bytes, which Linux also takes). */
static int f_mreq(lua_State *L) {
  struct ip_mreqn mr;
  memset(&mr, 0, sizeof mr);
  checkip(L, 1, AF_INET, (unsigned char *)&mr.imr_multiaddr, "mreq");
  if (lua_isinteger(L, 2)) {
    lua_Integer idx = lua_tointeger(L, 2);
    luaL_argcheck(L, idx >= 0 && idx <= INT_MAX, 2, "interface index out "
                  "of range");
    mr.imr_ifindex = (int)idx;
    lua_pushlstring(L, (const char *)&mr, sizeof mr);
    return 1;
  }
  struct ip_mreq m;
  memset(&m, 0, sizeof m);
  m.imr_multiaddr = mr.imr_multiaddr;
  if (!lua_isnoneornil(L, 2)) {
    luaL_argexpected(L, lua_type(L, 2) == LUA_TSTRING, 2,
                     "IPv4 address or interface index");
    checkip(L, 2, AF_INET, (unsigned char *)&m.imr_interface, "mreq");
  }
  lua_pushlstring(L, (const char *)&m, sizeof m);
  return 1;
}

/* socket.mreq6(group [, ifindex]): an ipv6_mreq for IPV6_JOIN_GROUP and
 * IPV6_LEAVE_GROUP; ifindex 0 (the default) lets the kernel choose. */
static int f_mreq6(lua_State *L) {
  struct ipv6_mreq m;
  memset(&m, 0, sizeof m);
  checkip(L, 1, AF_INET6, (unsigned char *)&m.ipv6mr_multiaddr, "mreq6");
  lua_Integer idx = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, idx >= 0 && idx <= 0xffffffff, 2,
                "interface index out of range");
  m.ipv6mr_interface = (unsigned)idx;
  lua_pushlstring(L, (const char *)&m, sizeof m);
  return 1;
}

static const luaL_Reg functions[] = {
  {"CMSG_LEN", f_cmsg_len},
  {"CMSG_SPACE", f_cmsg_space},
  {"send_fds", f_send_fds},
  {"recv_fds", f_recv_fds},
  {"close", f_close},
  {"mreq", f_mreq},
  {"mreq6", f_mreq6},
  {NULL, NULL}
};

void lsockL_openmsg(lua_State *L) {
  luaL_newmetatable(L, LSOCK_MSGCTL); /* module, mt */
  lua_pushcfunction(L, mm_ctl_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);                      /* module */
  luaL_setfuncs(L, functions, 0);
}
