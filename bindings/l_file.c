/* bindings/l_file: the file object of s:makefile() ("lsock.file").
 * io's file-handle methods over a socket: a read buffer parsed in place by
 * the read formats, a write buffer flushed with the socket's deadline. */
#include "l_file.h"

#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/sock.h"
#include "../core/wait.h"
#include "l_error.h"
#include "l_socket.h"

/* Python's io.DEFAULT_BUFFER_SIZE. */
#define DEFAULT_BUFSIZE 8192
/* Buffer sizes above this are refused as arguments rather than failing
 * later, at the first write, with a memory error. */
#define MAX_BUFSIZE ((lua_Integer)1 << 30)
/* The most one recv asks for when a read format knows how much it lacks:
 * a read(10^9) grows the buffer as data arrives, not all at once. */
#define MAX_CHUNK ((size_t)1 << 20)
/* io's limits: numeral length for "n", formats per lines() iterator. */
#define L_MAXLENNUM 200
#define MAXARGLINE 250

/* The deadline is taken at the first wait, not at entry: a call served
 * from the buffers never reads the clock. */
#define DEADLINE_UNSET INT64_MIN

enum { VB_NO, VB_FULL, VB_LINE }; /* in setvbuf's option order */
enum { FREAD = 1, FWRITE = 2 };

typedef struct lsockL_File {
  lsockL_Socket *sock;     /* NULL once the file is closed */
  int mode;                /* FREAD | FWRITE */
  int vbuf;                /* VB_* */
  int eof;                 /* this read call met the end of stream */
  size_t bufsize;          /* write buffer size (0 for VB_NO); read chunk */
  char *rbuf;              /* unread bytes are rbuf[rpos, rend) */
  size_t rpos, rend, rcap; /* rcap: allocated size of rbuf */
  char *wbuf;              /* unsent bytes are wbuf[wpos, wend) */
  size_t wpos, wend, wcap; /* wcap: allocated size of wbuf */
} lsockL_File;

static lsockL_File *tofile(lua_State *L) {
  lsockL_File *f = (lsockL_File *)luaL_checkudata(L, 1, LSOCK_FILE);
  if (f->sock == NULL)
    luaL_error(L, "attempt to use a closed file");
  return f;
}

static int waitfor(lua_State *L, lsockL_File *f, int events, lsk_deadline *d) {
  if (*d == DEADLINE_UNSET)
    *d = lsockL_deadline(f->sock);
  return lsockL_wait(L, f->sock, events, *d, NULL, 0);
}

/* Failures after which unsent bytes may still go out later. */
static int transient(int err) {
  return err == EAGAIN || err == ETIMEDOUT || err == EINTR;
}

/* Drops the file's hold on the socket and its buffers: the one close path
 * of close, __close and __gc. */
static void release(lsockL_File *f) {
  lsockL_Socket *s = f->sock;
  f->sock = NULL;
  free(f->rbuf);
  free(f->wbuf);
  f->rbuf = f->wbuf = NULL;
  f->rpos = f->rend = f->rcap = 0;
  f->wpos = f->wend = f->wcap = 0;
  lsockL_release(s);
}

/* ---- writing ---- */

/* Sends p[*done, len), advancing *done as bytes go out, so that an error
 * (or an "interrupted!" raised by the wait) leaves an exact count. Returns
 * 0 or errno. */
static int sendall(lua_State *L, lsockL_File *f, const char *p, size_t len,
                   size_t *done, lsk_deadline *d) {
  lsockL_Socket *s = f->sock;
  while (*done < len) {
    size_t sent;
    int err;
    if (s->s.fd < 0) /* detached: the number is someone else's now */
      return EBADF;
    err = lsk_sock_send(&s->s, p + *done, len - *done, 0, &sent, NULL);
    if (err == 0) {
      *done += sent;
      continue;
    }
    if (err != EAGAIN && err != EINTR)
      return err;
    err = waitfor(L, f, LSK_WANT_WRITE, d);
    if (err)
      return err;
    /* Other tasks ran during the wait: one may have closed this file. */
    if ((s = f->sock) == NULL)
      return EBADF;
  }
  return 0;
}

/* Sends the write buffer. On a transient failure the unsent bytes stay;
 * on any other they are dropped, as no later flush could deliver them.
 * Returns 0 or errno. */
static int flushw(lua_State *L, lsockL_File *f, lsk_deadline *d) {
  int err = sendall(L, f, f->wbuf, f->wend, &f->wpos, d);
  if (err == 0 || !transient(err))
    f->wpos = f->wend = 0;
  return err;
}

/* Appends p[0, len) to the write buffer, growing it past bufsize when it
 * must (only bytes kept after a transient failure do that). */
static void keep(lua_State *L, lsockL_File *f, const char *p, size_t len) {
  size_t live = f->wend - f->wpos;
  if (len == 0)
    return;
  if (f->wcap - f->wend < len && f->wpos > 0) {
    memmove(f->wbuf, f->wbuf + f->wpos, live);
    f->wpos = 0;
    f->wend = live;
  }
  if (f->wcap - f->wend < len) {
    size_t cap = f->wcap * 2;
    char *nb;
    if (cap < f->bufsize)
      cap = f->bufsize;
    if (cap < live + len)
      cap = live + len;
    nb = (char *)realloc(f->wbuf, cap);
    if (nb == NULL)
      luaL_error(L, "not enough memory");
    f->wbuf = nb;
    f->wcap = cap;
  }
  memcpy(f->wbuf + f->wend, p, len);
  f->wend += len;
}

/* Writes one piece: into the buffer when it fits, else after flushing the
 * buffer, straight from p when it is at least a buffer's worth (no copy).
 * On a transient failure what was not sent of p is kept in the buffer.
 * Returns 0 or errno. */
static int put(lua_State *L, lsockL_File *f, const char *p, size_t len,
               lsk_deadline *d) {
  size_t done = 0;
  int err;
  if (len == 0)
    return 0;
  if (f->wend - f->wpos + len <= f->bufsize) {
    keep(L, f, p, len);
    return 0;
  }
  if (f->wend > f->wpos && (err = flushw(L, f, d)) != 0)
    goto out;
  if (len < f->bufsize) {
    keep(L, f, p, len);
    return 0;
  }
  /* TODO: an "interrupted!" raised by the wait in here drops the rest of
   * p; keeping it would cost a copy on every blocked write, and the
   * script is being stopped anyway. */
  err = sendall(L, f, p, len, &done, d);
out:
  if (err && transient(err))
    keep(L, f, p + done, len - done);
  return err;
}

/* Argument i (a number) as io.write prints it, into buf. */
static size_t fmtnum(lua_State *L, int i, char *buf, size_t n) {
  int len;
  if (lua_isinteger(L, i))
    len = snprintf(buf, n, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, i));
  else
    len = snprintf(buf, n, LUA_NUMBER_FMT, (LUAI_UACNUMBER)lua_tonumber(L, i));
  return len < 0 ? 0 : (size_t)len < n ? (size_t)len : n - 1;
}

static int m_write(lua_State *L) {
  lsockL_File *f = tofile(L);
  lsk_deadline d = DEADLINE_UNSET;
  int top = lua_gettop(L), i, err = 0, sawnl = 0;
  if (!(f->mode & FWRITE))
    return luaL_error(L, "file not open for writing");
  /* Checked first, so that a bad argument writes nothing. */
  for (i = 2; i <= top; i++)
    if (lua_type(L, i) != LUA_TNUMBER)
      luaL_checklstring(L, i, NULL);
  for (i = 2; i <= top; i++) {
    char num[64];
    size_t len;
    const char *p;
    if (lua_type(L, i) == LUA_TNUMBER) {
      len = fmtnum(L, i, num, sizeof num);
      p = num;
    } else {
      p = lua_tolstring(L, i, &len);
    }
    if (err) { /* transient: the rest of the call waits in the buffer */
      keep(L, f, p, len);
      continue;
    }
    if (f->vbuf == VB_LINE && !sawnl && memchr(p, '\n', len))
      sawnl = 1;
    err = put(L, f, p, len, &d);
    if (err && !transient(err))
      break;
  }
  /* Line buffering as Python's: a write holding a newline flushes. */
  if (err == 0 && sawnl)
    err = flushw(L, f, &d);
  if (err)
    return lsockL_error(L, err, "write", NULL);
  lua_settop(L, 1);
  return 1;
}

static int m_flush(lua_State *L) {
  lsockL_File *f = tofile(L);
  lsk_deadline d = DEADLINE_UNSET;
  int err = flushw(L, f, &d);
  if (err)
    return lsockL_error(L, err, "flush", NULL);
  lua_settop(L, 1);
  return 1;
}

/* ---- reading ---- */

enum { R_DONE, R_FAIL, R_MORE };

/* Where a read call stands. Offsets count from rpos, which stays put
 * until the call ends, so they survive the buffer moving or growing. */
typedef struct RState {
  int k;       /* formats answered (results pushed) */
  size_t off;  /* where format k starts */
  size_t scan; /* bytes from off that format k has already looked at */
} RState;

/* Argument i as a read format: 'c' (with *count) for a byte count, else
 * 'n', 'l', 'L' or 'a'. Raises argument errors. */
static int getfmt(lua_State *L, int i, size_t *count) {
  if (lua_type(L, i) == LUA_TNUMBER) {
    lua_Integer n = luaL_checkinteger(L, i);
    luaL_argcheck(L, n >= 0, i, "invalid format");
    *count = (size_t)n;
    return 'c';
  } else {
    const char *p = luaL_checkstring(L, i);
    if (*p == '*') /* Lua 5.1's "*l" */
      p++;
    if (*p != 'n' && *p != 'l' && *p != 'L' && *p != 'a')
      luaL_argerror(L, i, "invalid format");
    return *p;
  }
}

/* The numeral reader of io's read("n") over the buffer: the same grammar
 * and 200-character limit, with running out of buffered bytes before end
 * of stream reported as "more". */
typedef struct RN {
  const char *p;
  size_t n, pos; /* bytes p[0, n); next to read at pos */
  int eof, more;
  int c; /* look-ahead character, at pos - 1 unless EOF */
  int len;
  char buff[L_MAXLENNUM + 1];
} RN;

static int rn_getc(RN *rn) {
  if (rn->pos < rn->n)
    return (unsigned char)rn->p[rn->pos++];
  if (!rn->eof)
    rn->more = 1;
  return EOF;
}

static int nextc(RN *rn) {
  if (rn->len >= L_MAXLENNUM) {
    rn->buff[0] = '\0';
    return 0;
  }
  rn->buff[rn->len++] = (char)rn->c;
  rn->c = rn_getc(rn);
  return 1;
}

static int test2(RN *rn, const char *set) {
  if (rn->c == set[0] || rn->c == set[1])
    return nextc(rn);
  return 0;
}

static int readdigits(RN *rn, int hex) {
  int count = 0;
  while ((hex ? isxdigit(rn->c) : isdigit(rn->c)) && nextc(rn))
    count++;
  return count;
}

static int read_number(lua_State *L, lsockL_File *f, const char *p, size_t n,
                       RState *st) {
  RN rn;
  int count = 0, hex = 0;
  char decp[2];
  rn.p = p;
  rn.n = n;
  rn.pos = st->scan; /* leading spaces up to here are known */
  rn.eof = f->eof;
  rn.more = 0;
  rn.len = 0;
  decp[0] = lua_getlocaledecpoint();
  decp[1] = '.';
  do {
    rn.c = rn_getc(&rn);
  } while (isspace(rn.c));
  st->scan = rn.c == EOF ? rn.pos : rn.pos - 1;
  test2(&rn, "-+");
  if (test2(&rn, "00")) {
    if (test2(&rn, "xX"))
      hex = 1;
    else
      count = 1;
  }
  count += readdigits(&rn, hex);
  if (test2(&rn, decp))
    count += readdigits(&rn, hex);
  if (count > 0 && test2(&rn, (hex ? "pP" : "eE"))) {
    test2(&rn, "-+");
    readdigits(&rn, 0);
  }
  if (rn.more) /* the numeral may go on: wait for its look-ahead */
    return R_MORE;
  st->off = rn.c == EOF ? rn.pos : rn.pos - 1; /* unread the look-ahead */
  rn.buff[rn.len] = '\0';
  if (lua_stringtonumber(L, rn.buff))
    return R_DONE;
  luaL_pushfail(L);
  return R_FAIL;
}

/* Answers format fmt from the buffer at st->off, pushing its result, or
 * returns R_MORE with *need the bytes it lacks at least. */
static int step(lua_State *L, lsockL_File *f, int fmt, size_t count, RState *st,
                size_t *need) {
  /* No buffer before the first recv: an empty one (no NULL arithmetic). */
  const char *p = f->rbuf != NULL ? f->rbuf + f->rpos : "";
  size_t n = f->rend - f->rpos, avail = n - st->off;
  switch (fmt) {
  case 'c':
    if (count == 0) { /* io's test_eof */
      if (avail > 0) {
        lua_pushliteral(L, "");
        return R_DONE;
      }
      break;
    }
    if (avail >= count || (f->eof && avail > 0)) {
      if (count > avail)
        count = avail;
      lua_pushlstring(L, p + st->off, count);
      st->off += count;
      return R_DONE;
    }
    *need = count - avail;
    break;
  case 'l':
  case 'L': {
    const char *nl = (const char *)memchr(p + st->scan, '\n', n - st->scan);
    if (nl != NULL) {
      size_t end = (size_t)(nl - p);
      lua_pushlstring(L, p + st->off, end - st->off + (fmt == 'L'));
      st->off = end + 1;
      return R_DONE;
    }
    if (f->eof && avail > 0) { /* a last line without a newline */
      lua_pushlstring(L, p + st->off, avail);
      st->off = n;
      return R_DONE;
    }
    st->scan = n;
    break;
  }
  case 'a':
    if (f->eof) {
      lua_pushlstring(L, p + st->off, avail);
      st->off = n;
      return R_DONE;
    }
    /* Ask for as much again as there is: geometric growth. */
    *need = avail > DEFAULT_BUFSIZE ? avail : DEFAULT_BUFSIZE;
    return R_MORE;
  default: /* 'n' */ return read_number(L, f, p, n, st);
  }
  if (f->eof) {
    luaL_pushfail(L);
    return R_FAIL;
  }
  return R_MORE;
}

/* Makes room for `want` more bytes after rend, moving the unread bytes to
 * the front first when that is enough. */
static void reserve(lua_State *L, lsockL_File *f, size_t want) {
  size_t live = f->rend - f->rpos, cap;
  char *nb;
  if (f->rcap - f->rend >= want)
    return;
  if (f->rpos > 0) {
    memmove(f->rbuf, f->rbuf + f->rpos, live);
    f->rpos = 0;
    f->rend = live;
    if (f->rcap - live >= want)
      return;
  }
  cap = f->rcap * 2;
  if (cap < live + want)
    cap = live + want;
  nb = (char *)realloc(f->rbuf, cap);
  if (nb == NULL)
    luaL_error(L, "not enough memory");
  f->rbuf = nb;
  f->rcap = cap;
}

/* One recv into the buffer (waiting as the timeout allows), for a format
 * lacking `need` bytes. Unbuffered, it asks for no more than that, so the
 * socket keeps whatever the read does not use. Raises on failure. */
static void fill(lua_State *L, lsockL_File *f, size_t need, lsk_deadline *d) {
  lsockL_Socket *s = f->sock;
  size_t want = need < MAX_CHUNK ? need : MAX_CHUNK, room, got;
  int err;
  if (f->vbuf != VB_NO && want < f->bufsize)
    want = f->bufsize;
  if (want == 0)
    want = 1;
  reserve(L, f, want);
  room = f->vbuf == VB_NO ? want : f->rcap - f->rend;
  for (;;) {
    if (s->s.fd < 0) { /* detached: the number is someone else's now */
      err = EBADF;
      break;
    }
    err = lsk_sock_recv(&s->s, f->rbuf + f->rend, room, 0, &got, NULL);
    if (err == 0) {
      if (got == 0)
        f->eof = 1;
      f->rend += got;
      return;
    }
    if (err != EAGAIN && err != EINTR)
      break;
    if ((err = waitfor(L, f, LSK_WANT_READ, d)) != 0)
      break;
    /* Other tasks ran during the wait: one may have closed this file. */
    if ((s = f->sock) == NULL)
      luaL_error(L, "file closed during read");
  }
  lsockL_error(L, err, "read", NULL);
}

/* io's g_read over the formats at first..top (none means "l"): pushes one
 * result per format up to the first that fails, which gives nil; returns
 * their number. Buffered bytes are consumed only at the end, so a call
 * that raises leaves them all for the next; each recv resumes the parse
 * where it stopped. */
static int g_read(lua_State *L, lsockL_File *f, int first) {
  int nargs = lua_gettop(L) - first + 1, i, r = R_DONE, flushed = 0;
  lsk_deadline d = DEADLINE_UNSET;
  RState st = {0, 0, 0};
  size_t count;
  if (nargs == 0) {
    lua_pushliteral(L, "l");
    nargs = 1;
  }
  luaL_checkstack(L, nargs + LUA_MINSTACK, "too many arguments");
  for (i = 0; i < nargs; i++)
    getfmt(L, first + i, &count);
  f->eof = 0; /* as io's clearerr: each call asks the socket again */
  for (;;) {
    size_t need = 1;
    int err;
    while (st.k < nargs) {
      int fmt = getfmt(L, first + st.k, &count);
      r = step(L, f, fmt, count, &st, &need);
      /* step allocates, so finalizers may have run: one may have closed
       * this file and freed its buffer. */
      if (f->sock == NULL)
        luaL_error(L, "file closed during read");
      if (r == R_MORE)
        break;
      st.k++;
      st.scan = st.off;
      if (r == R_FAIL)
        break;
    }
    if (r != R_MORE)
      break;
    /* As stdio does when a stream turns from writing to reading, once per
     * call: a peer waiting for our request cannot answer while it sits
     * here. If it cannot all go (the socket is full, the time is up), it
     * stays buffered and the read goes on, within what time is left. */
    if (!flushed) {
      flushed = 1;
      if ((err = flushw(L, f, &d)) != 0 && !transient(err))
        lsockL_error(L, err, "flush", NULL);
    }
    fill(L, f, need, &d);
  }
  f->rpos += st.off;
  if (f->rpos == f->rend)
    f->rpos = f->rend = 0;
  return st.k;
}

static lsockL_File *checkreadable(lua_State *L) {
  lsockL_File *f = tofile(L);
  if (!(f->mode & FREAD))
    luaL_error(L, "file not open for reading");
  return f;
}

static int m_read(lua_State *L) {
  return g_read(L, checkreadable(L), 2);
}

static int lines_iter(lua_State *L) {
  lsockL_File *f = (lsockL_File *)lua_touserdata(L, lua_upvalueindex(1));
  int n = (int)lua_tointeger(L, lua_upvalueindex(2)), i;
  if (f->sock == NULL)
    return luaL_error(L, "file is already closed");
  lua_settop(L, 0);
  luaL_checkstack(L, n, "too many arguments");
  for (i = 1; i <= n; i++)
    lua_pushvalue(L, lua_upvalueindex(2 + i)); /* formats */
  n = g_read(L, f, 1);
  if (lua_toboolean(L, -n)) /* read at least one value? */
    return n;
  return 0; /* end of stream: the loop ends; the file stays open */
}

static int m_lines(lua_State *L) {
  int n = lua_gettop(L) - 1, i;
  size_t count;
  checkreadable(L);
  luaL_argcheck(L, n <= MAXARGLINE, MAXARGLINE + 2, "too many arguments");
  for (i = 2; i <= n + 1; i++) /* a bad format fails here, not later */
    getfmt(L, i, &count);
  lua_pushinteger(L, n);
  lua_insert(L, 2); /* file, n, formats... */
  lua_pushcclosure(L, lines_iter, 2 + n);
  return 1;
}

/* ---- the rest of the methods ---- */

/* A closed file no longer pins the socket (f at index 1). */
static void unpin(lua_State *L) {
  lua_pushnil(L);
  lua_setiuservalue(L, 1, 1);
}

static int m_close(lua_State *L) {
  lsockL_File *f = tofile(L);
  lsk_deadline d = DEADLINE_UNSET;
  int err = flushw(L, f, &d);
  release(f); /* closed even when the flush failed, as Python's close */
  unpin(L);
  if (err)
    return lsockL_error(L, err, "close", NULL);
  lua_pushboolean(L, 1);
  return 1;
}

struct sendctx {
  const char *p;
  size_t len, done;
};

static int sendop(const lsk_sock *s, void *ctx) {
  struct sendctx *c = (struct sendctx *)ctx;
  while (c->done < c->len) {
    size_t sent;
    int err =
        lsk_sock_send(s, c->p + c->done, c->len - c->done, 0, &sent, NULL);
    if (err)
      return err;
    c->done += sent;
  }
  return 0;
}

/* __gc and __close: flush what is buffered, within the socket's timeout,
 * then let go. Never raises, so the flush blocks in the core (no Lua
 * wait, which could raise) and its errors are dropped. When the socket
 * was collected in the same cycle its __gc may have run first: the
 * descriptor is then gone and there is nothing to flush to. */
static int mm_gc(lua_State *L) {
  lsockL_File *f = (lsockL_File *)luaL_checkudata(L, 1, LSOCK_FILE);
  lsockL_Socket *s = f->sock;
  if (s == NULL)
    return 0;
  if (s->s.fd >= 0 && f->wend > f->wpos) {
    struct sendctx c = {f->wbuf + f->wpos, f->wend - f->wpos, 0};
    /* TODO: inside a task this blocks the loop; __gc cannot yield. */
    (void)lsk_sock_call(&s->s, LSK_WANT_WRITE, sendop, &c, lsockL_deadline(s));
  }
  release(f);
  unpin(L);
  return 0;
}

static int m_setvbuf(lua_State *L) {
  static const char *const modes[] = {"no", "full", "line", NULL};
  lsockL_File *f = tofile(L);
  int op = luaL_checkoption(L, 2, NULL, modes), err;
  lua_Integer sz = luaL_optinteger(L, 3, DEFAULT_BUFSIZE);
  lsk_deadline d = DEADLINE_UNSET;
  luaL_argcheck(L, sz > 0 && sz <= MAX_BUFSIZE, 3, "invalid buffer size");
  if ((err = flushw(L, f, &d)) != 0)
    return lsockL_error(L, err, "flush", NULL);
  f->vbuf = op;
  f->bufsize = op == VB_NO ? 0 : (size_t)sz;
  free(f->wbuf); /* empty now; the next write sizes it anew */
  f->wbuf = NULL;
  f->wcap = 0;
  lua_pushboolean(L, 1);
  return 1;
}

static int m_seek(lua_State *L) {
  tofile(L);
  return lsockL_error(L, ESPIPE, "seek", NULL);
}

static int mm_tostring(lua_State *L) {
  lsockL_File *f = (lsockL_File *)luaL_checkudata(L, 1, LSOCK_FILE);
  if (f->sock == NULL)
    lua_pushliteral(L, "lsock.file (closed)");
  else
    lua_pushfstring(L, "lsock.file (%p)", (void *)f);
  return 1;
}

/* The mode as FREAD | FWRITE, or 0 when it is not one of Python's. */
static int parsemode(const char *m) {
  char s[3];
  int n = 0;
  for (; *m; m++) {
    if (*m == 'b')
      continue;
    if (n == 2)
      return 0;
    s[n++] = *m;
  }
  s[n] = '\0';
  if (strcmp(s, "r") == 0)
    return FREAD;
  if (strcmp(s, "w") == 0)
    return FWRITE;
  if (strcmp(s, "rw") == 0 || strcmp(s, "r+") == 0)
    return FREAD | FWRITE;
  return 0;
}

int lsockL_makefile(lua_State *L) {
  lsockL_Socket *s = lsockL_checkopen(L, 1, "makefile");
  int mode = parsemode(luaL_optstring(L, 2, "r"));
  lua_Integer buffering = luaL_optinteger(L, 3, -1);
  lsockL_File *f;
  luaL_argcheck(L, mode != 0, 2, "invalid mode");
  luaL_argcheck(L, buffering >= -1 && buffering <= MAX_BUFSIZE, 3,
                "invalid buffering");
  /* Closed first, like liolib's newprefile: safe to collect at any step. */
  f = (lsockL_File *)lua_newuserdatauv(L, sizeof(lsockL_File), 1);
  memset(f, 0, sizeof *f);
  luaL_setmetatable(L, LSOCK_FILE);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1); /* the file keeps the socket alive */
  f->mode = mode;
  if (buffering == 0) {
    f->vbuf = VB_NO;
    f->bufsize = 0;
  } else {
    f->vbuf = buffering == 1 ? VB_LINE : VB_FULL;
    f->bufsize = buffering > 1 ? (size_t)buffering : DEFAULT_BUFSIZE;
  }
  f->sock = s;
  s->nfiles++;
  return 1;
}

static const luaL_Reg methods[] = {{"close", m_close}, {"flush", m_flush},
                                   {"lines", m_lines}, {"read", m_read},
                                   {"seek", m_seek},   {"setvbuf", m_setvbuf},
                                   {"write", m_write}, {NULL, NULL}};

static const luaL_Reg metamethods[] = {{"__index", NULL}, /* set below */
                                       {"__gc", mm_gc},
                                       {"__close", mm_gc},
                                       {"__tostring", mm_tostring},
                                       {NULL, NULL}};

void lsockL_openfile(lua_State *L) {
  luaL_newmetatable(L, LSOCK_FILE); /* mt */
  luaL_setfuncs(L, metamethods, 0);
  luaL_newlib(L, methods);        /* mt, methods */
  lua_setfield(L, -2, "__index"); /* mt */
  lua_pop(L, 1);
}
