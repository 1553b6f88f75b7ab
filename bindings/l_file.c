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
#include "l_task.h"

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

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* The deadline is taken at the first wait, not at entry: a call served
 * from the buffers never reads the clock. */
#define DEADLINE_UNSET INT64_MIN

/* A method that may wait is an entry function and a step function that
 * is its own continuation (STYLE.md, "Yielding from C inside a task"):
 * the entry leaves the arguments at 1..base-1 (the file at 1) and pushes
 * the call's state into slots from `base` on, which is also the ctx.
 * Inside a task the wait yields and Lua calls the step again with
 * LUA_YIELD; outside it returns and the step goes on in place. Nothing
 * that must outlive a wait is kept in a C local: the write buffer's
 * progress is wpos, the rest lives in the slots. */

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
  lua_Integer rgen;        /* counts reads that consumed bytes */
} lsockL_File;

static lsockL_File *tofile(lua_State *L) {
  lsockL_File *f = (lsockL_File *)luaL_checkudata(L, 1, LSOCK_FILE);
  if (f->sock == NULL)
    luaL_error(L, "attempt to use a closed file");
  return f;
}

/* The deadline of the current call, from stack slot `slot`: taken now
 * if still unset. */
static lsk_deadline slot_deadline(lua_State *L, const lsockL_File *f,
                                  int slot) {
  lsk_deadline d = (lsk_deadline)lua_tointeger(L, slot);
  if (d == DEADLINE_UNSET) {
    d = lsockL_deadline(f->sock);
    lua_pushinteger(L, d);
    lua_replace(L, slot);
  }
  return d;
}

/* Waits for f's socket with the deadline in slot dslot. Inside a task it
 * yields and does not return: Lua calls k(L, LUA_YIELD, ctx). Outside it
 * returns 0 (try again) or errno. */
static int waitfor(lua_State *L, lsockL_File *f, int events, int dslot,
                   lua_KFunction k, int ctx) {
  return lsockL_wait(L, f->sock, events, slot_deadline(L, f, dslot), k,
                     (lua_KContext)ctx);
}

/* The outcome of the wait a step function resumes from: -1 when it was
 * not resumed (a fresh call, or a wait that returned in place). */
static int resumed(lua_State *L, int status) {
  return status == LUA_YIELD ? lsockL_resumed(L, NULL) : -1;
}

static void setslot(lua_State *L, int slot, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_replace(L, slot);
}

static lua_Integer getslot(lua_State *L, int slot) {
  return lua_tointeger(L, slot);
}

/* Failures after which unsent bytes may still go out later. */
static int transient(int err) {
  return err == EAGAIN || err == ETIMEDOUT || err == EINTR;
}

/* Drops the file's hold on the socket and its buffers: the one close path
 * of close, __close and __gc. */
static void release(lua_State *L, lsockL_File *f) {
  lsockL_Socket *s = f->sock;
  f->sock = NULL;
  free(f->rbuf);
  free(f->wbuf);
  f->rbuf = f->wbuf = NULL;
  f->rpos = f->rend = f->rcap = 0;
  f->wpos = f->wend = f->wcap = 0;
  lsockL_release(L, s);
}

/* ---- writing ---- */

/* Sends p[*done, len), advancing *done as bytes go out, so that an error
 * (or an "interrupted!" raised by the wait) leaves an exact count. Before
 * each wait *done goes to stack slot doneslot (0: *done lives in the file
 * struct); the wait's deadline is in slot dslot and a task resumes at
 * k(ctx). werr >= 0 means the call resumes from a wait that ended with
 * werr. Returns 0 or errno (EBADF when the file was closed meanwhile). */
static int sendall(lua_State *L, lsockL_File *f, const char *p, size_t len,
                   size_t *done, int doneslot, int dslot, lua_KFunction k,
                   int ctx, int werr) {
  int err = werr;
  for (;;) {
    size_t sent;
    if (err >= 0) { /* a wait just ended; other tasks may have run */
      if (f->sock == NULL)
        return EBADF;
      if (err)
        return err;
    }
    if (*done >= len)
      return 0;
    if (f->sock->s.fd < 0) /* detached: the number is someone else's now */
      return EBADF;
    lsockL_direct(L, f->sock);
    err = lsk_sock_send(&f->sock->s, p + *done, len - *done, 0, &sent, NULL);
    if (err == 0) {
      *done += sent;
      err = -1;
      continue;
    }
    /* Ctrl-C (core/wait.h): a wait now would block again with the
     * signal already taken. */
    if (err == EINTR && lsk_interrupted)
      return lsockL_fail(L, EINTR, "write", NULL);
    if (err != EAGAIN && err != EINTR)
      return err;
    if (doneslot)
      setslot(L, doneslot, (lua_Integer)*done);
    err = waitfor(L, f, LSK_WANT_WRITE, dslot, k, ctx);
  }
}

/* Sends the write buffer (its progress is wpos: a wait may let other
 * tasks append to it or send from it). On a transient failure the unsent
 * bytes stay; on any other they are dropped, as no later flush could
 * deliver them. Waits as sendall does. Returns 0 or errno. */
static int flushw(lua_State *L, lsockL_File *f, int dslot, lua_KFunction k,
                  int ctx, int werr) {
  int err = sendall(L, f, f->wbuf, f->wend, &f->wpos, 0, dslot, k, ctx, werr);
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

/* write: the pieces at 2..base-1, then these slots. */
enum {
  WS_DEADLINE, /* the call's deadline */
  WS_ARG,      /* the piece being written */
  WS_PHASE,    /* where that piece stands (P_*) */
  WS_DONE,     /* bytes of it sent straight from the argument */
  WS_SAWNL,    /* line buffering: a piece held a newline */
  NWSLOTS
};
enum { P_START, P_FLUSH, P_DIRECT, P_LINE };

static int write_k(lua_State *L, int status, lua_KContext ctx);

/* Writes one piece: into the buffer when it fits, else after flushing the
 * buffer (P_FLUSH), straight from p when it is at least a buffer's worth
 * (P_DIRECT, no copy). The phase and the bytes sent are in the write's
 * slots, so a task resumes in the phase it waited in (werr >= 0). On a
 * transient failure what was not sent of p is kept in the buffer.
 * Returns 0 or errno. */
static int put(lua_State *L, lsockL_File *f, const char *p, size_t len,
               int base, int werr) {
  int phase = (int)getslot(L, base + WS_PHASE), err = 0;
  size_t done = 0;
  if (phase == P_START) {
    if (len == 0)
      return 0;
    if (f->wend - f->wpos + len <= f->bufsize) {
      keep(L, f, p, len);
      return 0;
    }
    phase = P_FLUSH;
    setslot(L, base + WS_PHASE, P_FLUSH);
  }
  if (phase == P_FLUSH) {
    if (werr >= 0 || f->wend > f->wpos)
      err = flushw(L, f, base + WS_DEADLINE, write_k, base, werr);
    werr = -1;
    if (err)
      goto out;
    if (len < f->bufsize) {
      keep(L, f, p, len);
      return 0;
    }
    setslot(L, base + WS_PHASE, P_DIRECT);
    setslot(L, base + WS_DONE, 0);
  }
  /* TODO: an "interrupted!" raised by the wait in here drops the rest of
   * p; keeping it would cost a copy on every blocked write, and the
   * script is being stopped anyway. */
  done = (size_t)getslot(L, base + WS_DONE);
  err = sendall(L, f, p, len, &done, base + WS_DONE, base + WS_DEADLINE,
                write_k, base, werr);
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

/* Piece i of a write: a string, or a number printed into buf. */
static const char *piece(lua_State *L, int i, char *buf, size_t n,
                         size_t *len) {
  if (lua_type(L, i) == LUA_TNUMBER) {
    *len = fmtnum(L, i, buf, n);
    return buf;
  }
  return lua_tolstring(L, i, len);
}

static int write_k(lua_State *L, int status, lua_KContext ctx) {
  int base = (int)ctx, last = base - 1, werr = resumed(L, status), i, err = 0;
  lsockL_File *f = (lsockL_File *)lua_touserdata(L, 1);
  char num[64];
  size_t len;
  const char *p;
  lua_settop(L, base + NWSLOTS - 1);
  for (i = (int)getslot(L, base + WS_ARG); i <= last; i++) {
    p = piece(L, i, num, sizeof num, &len);
    if (getslot(L, base + WS_PHASE) == P_START) {
      setslot(L, base + WS_ARG, i);
      if (f->vbuf == VB_LINE && memchr(p, '\n', len))
        setslot(L, base + WS_SAWNL, 1);
    }
    err = put(L, f, p, len, base, werr);
    werr = -1;
    setslot(L, base + WS_PHASE, P_START);
    if (err)
      break;
  }
  if (err && transient(err)) /* the rest of the call waits in the buffer */
    for (i++; i <= last; i++) {
      p = piece(L, i, num, sizeof num, &len);
      keep(L, f, p, len);
    }
  /* Line buffering as Python's: a write holding a newline flushes. */
  if (err == 0 && getslot(L, base + WS_SAWNL)) {
    setslot(L, base + WS_ARG, last + 1);
    setslot(L, base + WS_PHASE, P_LINE);
    err = flushw(L, f, base + WS_DEADLINE, write_k, base, werr);
  }
  if (err)
    return lsockL_error(L, err, "write", NULL);
  lua_settop(L, 1);
  return 1;
}

static int m_write(lua_State *L) {
  lsockL_File *f = tofile(L);
  int top = lua_gettop(L), i;
  if (!(f->mode & FWRITE))
    return luaL_error(L, "file not open for writing");
  /* Checked first, so that a bad argument writes nothing. */
  for (i = 2; i <= top; i++)
    if (lua_type(L, i) != LUA_TNUMBER)
      luaL_checklstring(L, i, NULL);
  luaL_checkstack(L, NWSLOTS + 1, "too many arguments");
  lua_pushinteger(L, DEADLINE_UNSET); /* WS_DEADLINE */
  lua_pushinteger(L, 2);              /* WS_ARG */
  lua_pushinteger(L, P_START);        /* WS_PHASE */
  lua_pushinteger(L, 0);              /* WS_DONE */
  lua_pushinteger(L, 0);              /* WS_SAWNL */
  return write_k(L, LUA_OK, top + 1);
}

/* flush: slot 2 the deadline. */
static int flush_k(lua_State *L, int status, lua_KContext ctx) {
  lsockL_File *f = (lsockL_File *)lua_touserdata(L, 1);
  int werr = resumed(L, status), err;
  (void)ctx;
  lua_settop(L, 2);
  err = flushw(L, f, 2, flush_k, 2, werr);
  if (err)
    return lsockL_error(L, err, "flush", NULL);
  lua_settop(L, 1);
  return 1;
}

static int m_flush(lua_State *L) {
  tofile(L);
  lua_settop(L, 1);
  lua_pushinteger(L, DEADLINE_UNSET);
  return flush_k(L, LUA_OK, 2);
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

/* One recv into the buffer for a format lacking `need` bytes. Unbuffered,
 * it asks for no more than that, so the socket keeps whatever the read
 * does not use. Returns 0 (bytes came, or the end of stream), or EAGAIN
 * or EINTR when the caller must wait; raises on failure. */
static int fill(lua_State *L, lsockL_File *f, size_t need) {
  lsockL_Socket *s = f->sock;
  size_t want = need < MAX_CHUNK ? need : MAX_CHUNK, room, got;
  int err;
  if (f->vbuf != VB_NO && want < f->bufsize)
    want = f->bufsize;
  if (want == 0)
    want = 1;
  reserve(L, f, want);
  room = f->vbuf == VB_NO ? want : f->rcap - f->rend;
  if (s->s.fd < 0) /* detached: the number is someone else's now */
    return lsockL_error(L, EBADF, "read", NULL);
  lsockL_direct(L, s);
  err = lsk_sock_recv(&s->s, f->rbuf + f->rend, room, 0, &got, NULL);
  if (err == 0) {
    if (got == 0)
      f->eof = 1;
    f->rend += got;
    return 0;
  }
  /* Ctrl-C in a recv blocked in the kernel: a wait now would block again
   * with the signal already taken. */
  if (err == EINTR && lsk_interrupted)
    lsockL_fail(L, EINTR, "read", NULL);
  if (err != EAGAIN && err != EINTR)
    lsockL_error(L, err, "read", NULL);
  return err;
}

/* read and lines' iterator: the file at 1, the formats at 2..base-1,
 * these slots, then the results of the formats answered so far. */
enum {
  RS_DEADLINE, /* the call's deadline */
  RS_FLUSHED,  /* the one flush of the call: FL_* */
  RS_K,        /* the RState, which a wait must not lose */
  RS_OFF,
  RS_SCAN,
  RS_GEN, /* f->rgen when the parse began */
  NRSLOTS
};
enum { FL_NONE, FL_FLUSHING, FL_DONE };

/* A flush error that stops the read: a transient one leaves the bytes
 * buffered and the read goes on, within what time is left. */
static void flushed(lua_State *L, lsockL_File *f, int base, int err) {
  if (err && !transient(err))
    lsockL_error(L, err, "flush", NULL);
  setslot(L, base + RS_FLUSHED, FL_DONE);
  if (f->sock == NULL) /* closed by another task during the flush */
    luaL_error(L, "file closed during read");
}

/* io's g_read as a step function (k is the caller's continuation: read's
 * or lines'): pushes one result per format up to the first that fails,
 * which gives nil; returns their number. Buffered bytes are consumed only
 * at the end, so a call that raises leaves them all for the next. The
 * parse's place is in slots and its results stay on the stack across a
 * wait; a read by another task that consumed bytes meanwhile (rgen moved)
 * makes it start over from the new first unread byte. */
static int read_step(lua_State *L, int status, int base, lua_KFunction k) {
  lsockL_File *f = (lsockL_File *)lua_touserdata(L, 1);
  int nargs = base - 2, werr = resumed(L, status), r = R_DONE, err;
  RState st;
  size_t count = 0;
  st.k = (int)getslot(L, base + RS_K);
  lua_settop(L, base + NRSLOTS - 1 + st.k);
  if (werr >= 0) {
    /* Resumed in a task: finish the wait that ended first. */
    if (getslot(L, base + RS_FLUSHED) == FL_FLUSHING)
      flushed(L, f, base, flushw(L, f, base + RS_DEADLINE, k, base, werr));
    else {
      if (werr)
        return lsockL_error(L, werr, "read", NULL);
      if (f->sock == NULL)
        return luaL_error(L, "file closed during read");
    }
    f->eof = 0; /* only the socket can tell this call it has ended */
  }
  for (;;) {
    size_t need = 1;
    if (getslot(L, base + RS_GEN) != f->rgen) { /* start over */
      st.k = 0;
      lua_settop(L, base + NRSLOTS - 1);
      setslot(L, base + RS_K, 0);
      setslot(L, base + RS_OFF, 0);
      setslot(L, base + RS_SCAN, 0);
      setslot(L, base + RS_GEN, f->rgen);
    }
    st.off = (size_t)getslot(L, base + RS_OFF);
    st.scan = (size_t)getslot(L, base + RS_SCAN);
    while (st.k < nargs) {
      int fmt = getfmt(L, 2 + st.k, &count);
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
    setslot(L, base + RS_K, st.k);
    setslot(L, base + RS_OFF, (lua_Integer)st.off);
    setslot(L, base + RS_SCAN, (lua_Integer)st.scan);
    /* As stdio does when a stream turns from writing to reading, once per
     * call: a peer waiting for our request cannot answer while it sits
     * here. If it cannot all go (the socket is full, the time is up), it
     * stays buffered and the read goes on, within what time is left. */
    if (getslot(L, base + RS_FLUSHED) == FL_NONE) {
      setslot(L, base + RS_FLUSHED, FL_FLUSHING);
      flushed(L, f, base, flushw(L, f, base + RS_DEADLINE, k, base, -1));
    }
    if (fill(L, f, need) == 0)
      continue;
    if ((err = waitfor(L, f, LSK_WANT_READ, base + RS_DEADLINE, k, base)) != 0)
      lsockL_error(L, err, "read", NULL);
    /* Other tasks ran during the wait: one may have closed this file. */
    if (f->sock == NULL)
      luaL_error(L, "file closed during read");
  }
  if (st.off > 0) {
    f->rpos += st.off;
    f->rgen++;
  }
  if (f->rpos == f->rend)
    f->rpos = f->rend = 0;
  return st.k;
}

/* The entry of read and lines' iterator: the file at 1, the formats from
 * 2 on (none means "l"). Checks them and pushes the slots. */
static int read_start(lua_State *L, lsockL_File *f, lua_KFunction k) {
  int nargs = lua_gettop(L) - 1, i, base;
  size_t count = 0;
  if (nargs == 0) {
    lua_pushliteral(L, "l");
    nargs = 1;
  }
  luaL_checkstack(L, nargs + NRSLOTS + LUA_MINSTACK, "too many arguments");
  for (i = 0; i < nargs; i++)
    getfmt(L, 2 + i, &count);
  f->eof = 0; /* as io's clearerr: each call asks the socket again */
  base = lua_gettop(L) + 1;
  lua_pushinteger(L, DEADLINE_UNSET); /* RS_DEADLINE */
  lua_pushinteger(L, FL_NONE);        /* RS_FLUSHED */
  lua_pushinteger(L, 0);              /* RS_K */
  lua_pushinteger(L, 0);              /* RS_OFF */
  lua_pushinteger(L, 0);              /* RS_SCAN */
  lua_pushinteger(L, f->rgen);        /* RS_GEN */
  return k(L, LUA_OK, base);
}

static lsockL_File *checkreadable(lua_State *L) {
  lsockL_File *f = tofile(L);
  if (!(f->mode & FREAD))
    luaL_error(L, "file not open for reading");
  return f;
}

/* The format at index i if it is a line format alone: 'l' or 'L' (a
 * missing one is "l"); 0 for anything else, left to getfmt. */
static int lineformat(lua_State *L, int i) {
  const char *p;
  if (lua_isnone(L, i))
    return 'l';
  if (lua_type(L, i) != LUA_TSTRING)
    return 0;
  p = lua_tostring(L, i);
  if (*p == '*')
    p++;
  return *p == 'l' || *p == 'L' ? *p : 0;
}

/* The common case of reading lines: a whole line already buffered is
 * answered here, without the read machinery's slots. Returns 1 with the
 * line pushed, or 0 (nothing pushed) when the general path must run. */
static int quickline(lua_State *L, lsockL_File *f, int fmt) {
  size_t n = f->rend - f->rpos, len;
  const char *p, *nl;
  if (n == 0)
    return 0;
  p = f->rbuf + f->rpos;
  nl = (const char *)memchr(p, '\n', n);
  if (nl == NULL)
    return 0;
  len = (size_t)(nl - p) + 1;
  lua_pushlstring(L, p, len - (fmt == 'l'));
  /* The allocation may have run a finalizer that closed this file. */
  if (f->sock == NULL)
    luaL_error(L, "file closed during read");
  f->eof = 0;
  f->rpos += len;
  f->rgen++;
  if (f->rpos == f->rend)
    f->rpos = f->rend = 0;
  return 1;
}

static int read_k(lua_State *L, int status, lua_KContext ctx) {
  return read_step(L, status, (int)ctx, read_k);
}

static int m_read(lua_State *L) {
  lsockL_File *f = checkreadable(L);
  int fmt;
  if (lua_gettop(L) <= 2 && (fmt = lineformat(L, 2)) != 0 &&
      quickline(L, f, fmt))
    return 1;
  return read_start(L, f, read_k);
}

static int lines_k(lua_State *L, int status, lua_KContext ctx) {
  int n = read_step(L, status, (int)ctx, lines_k);
  if (lua_toboolean(L, -n)) /* read at least one value? */
    return n;
  return 0; /* end of stream: the loop ends; the file stays open */
}

/* The general iterator: upvalues the file, n, then the n formats (n >= 1,
 * and not one line format alone, which has lines_line). */
static int lines_iter(lua_State *L) {
  lsockL_File *f = (lsockL_File *)lua_touserdata(L, lua_upvalueindex(1));
  int n = (int)lua_tointeger(L, lua_upvalueindex(2)), i;
  if (f->sock == NULL)
    return luaL_error(L, "file is already closed");
  lua_settop(L, 0);
  luaL_checkstack(L, n + 1, "too many arguments");
  lua_pushvalue(L, lua_upvalueindex(1)); /* the file, at 1 as in read */
  for (i = 1; i <= n; i++)
    lua_pushvalue(L, lua_upvalueindex(2 + i)); /* formats */
  return read_start(L, f, lines_k);
}

/* lines_line's way when the line is not all buffered: read's machinery,
 * with the format spelled out. Out of line, so that the path of a
 * buffered line saves no registers for it. */
static NOINLINE int lines_read(lua_State *L, lsockL_File *f, int fmt) {
  lua_settop(L, 0);
  lua_pushvalue(L, lua_upvalueindex(1)); /* the file, at 1 as in read */
  lua_pushstring(L, fmt == 'l' ? "l" : "L");
  return read_start(L, f, lines_k);
}

/* The iterator of lines() with no format or one line format, the common
 * case: the file is its only upvalue and the format is the function's
 * (lines_l or lines_L), so a line costs no look-up of n or the format. */
static int lines_line(lua_State *L, int fmt) {
  lsockL_File *f = (lsockL_File *)lua_touserdata(L, lua_upvalueindex(1));
  if (f->sock == NULL)
    return luaL_error(L, "file is already closed");
  if (quickline(L, f, fmt))
    return 1;
  return lines_read(L, f, fmt);
}

static int lines_l(lua_State *L) {
  return lines_line(L, 'l');
}

static int lines_L(lua_State *L) {
  return lines_line(L, 'L');
}

static int m_lines(lua_State *L) {
  int n = lua_gettop(L) - 1, i, fmt;
  size_t count = 0;
  checkreadable(L);
  luaL_argcheck(L, n <= MAXARGLINE, MAXARGLINE + 2, "too many arguments");
  for (i = 2; i <= n + 1; i++) /* a bad format fails here, not later */
    getfmt(L, i, &count);
  if (n <= 1 && (fmt = lineformat(L, 2)) != 0) {
    lua_settop(L, 1);
    lua_pushcclosure(L, fmt == 'l' ? lines_l : lines_L, 1);
    return 1;
  }
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

/* close: slot 2 the deadline. Flushes, then lets go. */
static int close_k(lua_State *L, int status, lua_KContext ctx) {
  lsockL_File *f = (lsockL_File *)lua_touserdata(L, 1);
  int werr = resumed(L, status), err;
  (void)ctx;
  lua_settop(L, 2);
  err = flushw(L, f, 2, close_k, 2, werr);
  if (f->sock == NULL) {
    /* Another task closed the file during the flush: that close sent
     * (or reported) the same buffer, and the file is closed. */
    lua_pushboolean(L, 1);
    return 1;
  }
  release(L, f); /* closed even when the flush failed, as Python's close */
  unpin(L);
  if (err)
    return lsockL_error(L, err, "close", NULL);
  lua_pushboolean(L, 1);
  return 1;
}

static int m_close(lua_State *L) {
  tofile(L);
  lua_settop(L, 1);
  lua_pushinteger(L, DEADLINE_UNSET);
  return close_k(L, LUA_OK, 2);
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
    s->s.block = 0; /* one attempt per call: the deadline holds */
    (void)lsk_sock_call(&s->s, LSK_WANT_WRITE, sendop, &c, lsockL_deadline(s));
  }
  release(L, f);
  unpin(L);
  return 0;
}

/* setvbuf: slot 2 the mode, 3 the size, 4 the deadline. */
static int setvbuf_k(lua_State *L, int status, lua_KContext ctx) {
  lsockL_File *f = (lsockL_File *)lua_touserdata(L, 1);
  int werr = resumed(L, status), op, err;
  (void)ctx;
  lua_settop(L, 4);
  op = (int)lua_tointeger(L, 2);
  if ((err = flushw(L, f, 4, setvbuf_k, 4, werr)) != 0)
    return lsockL_error(L, err, "flush", NULL);
  f->vbuf = op;
  f->bufsize = op == VB_NO ? 0 : (size_t)lua_tointeger(L, 3);
  free(f->wbuf); /* empty now; the next write sizes it anew */
  f->wbuf = NULL;
  f->wcap = 0;
  lua_pushboolean(L, 1);
  return 1;
}

static int m_setvbuf(lua_State *L) {
  static const char *const modes[] = {"no", "full", "line", NULL};
  int op;
  lua_Integer sz;
  tofile(L);
  op = luaL_checkoption(L, 2, NULL, modes);
  sz = luaL_optinteger(L, 3, DEFAULT_BUFSIZE);
  luaL_argcheck(L, sz > 0 && sz <= MAX_BUFSIZE, 3, "invalid buffer size");
  lua_settop(L, 1);
  lua_pushinteger(L, op);
  lua_pushinteger(L, sz);
  lua_pushinteger(L, DEADLINE_UNSET);
  return setvbuf_k(L, LUA_OK, 4);
}

/* f:fileno(): the descriptor the file reads and writes (still open after
 * s:close() while the file holds it), for socket.select; -1 when the
 * socket was detached. */
static int m_fileno(lua_State *L) {
  lsockL_File *f = tofile(L);
  lua_pushinteger(L, f->sock->s.fd);
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

static const luaL_Reg methods[] = {
    {"close", m_close},     {"fileno", m_fileno}, {"flush", m_flush},
    {"lines", m_lines},     {"read", m_read},     {"seek", m_seek},
    {"setvbuf", m_setvbuf}, {"write", m_write},   {NULL, NULL}};

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
