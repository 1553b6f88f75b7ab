/* bindings/l_task: tasks, the scheduler and the wait protocol (see
 * l_task.h). A task is a coroutine the scheduler resumes; it yields only
 * through lsockL_waitfd, with the wait described in its waiter. */
#include "l_task.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "../core/wait.h"
#include "l_error.h"

enum { T_READY, T_RUNNING, T_WAITING, T_DONE, T_FAILED };

/* User values of a task userdata. */
enum { UV_THREAD = 1, UV_RESULT, UV_JOINERS, UV_TRACE, NUV = UV_TRACE };

typedef struct Task {
  lua_State *co;
  lsk_waiter w;
  int status;
  int nargs;             /* values to pass at the next resume */
  int observed;          /* its outcome reached a join */
  int mainjoins;         /* joins waiting for it outside tasks */
  struct Task *joining;  /* the task this one waits for in join */
  struct Task *next;     /* in the ready queue */
} Task;

struct Sched {
  lsk_loop *loop;        /* created at the first wait that needs it */
  Task *current;         /* the task running now, NULL in the main code */
  Task *ready, *ready_tail;
  int alive;             /* tasks spawned and not finished */
};
typedef struct Sched Sched;

static const char schedkey = 0;  /* registry: the Sched userdata, which
                                    the context (l_ctx.h) points at */
static const char failedkey = 0; /* registry: failed tasks nobody joined */

static Sched *getsched(lua_State *L) {
  return lsockL_ctx(L)->sched;
}

/* The scheduler through the caller's context c, or looked up when c is
 * NULL. */
static Sched *schedof(lua_State *L, const lsockL_Ctx *c) {
  return c ? c->sched : getsched(L);
}

static int raise_err(lua_State *L, int err, const char *op) {
  if (err == EINTR && lsk_interrupted) {
    lsk_interrupted = 0;
    return luaL_error(L, "interrupted!");
  }
  return lsockL_error(L, err, op, NULL);
}

static lsk_loop *getloop(lua_State *L, Sched *S) {
  if (!S->loop) {
    int err = lsk_loop_new(&S->loop);
    if (err)
      raise_err(L, err, "loop");
  }
  return S->loop;
}

/* ---- the ready queue ---- */

static void make_ready(Sched *S, Task *t) {
  t->status = T_READY;
  t->next = NULL;
  if (S->ready_tail)
    S->ready_tail->next = t;
  else
    S->ready = t;
  S->ready_tail = t;
}

/* Pushes the task userdata of a live task t: every Task is kept in the
 * registry under its own address from spawn until it ends, which also
 * keeps it alive while nothing else holds it. */
static void pushtask(lua_State *L, Task *t) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, t);
}

/* Pushes the list of tasks that joined the task on top (nil before the
 * first join from a task makes it) and returns its length. */
static lua_Integer pushjoiners(lua_State *L) {
  if (lua_getiuservalue(L, -1, UV_JOINERS) == LUA_TNIL)
    return 0;
  return luaL_len(L, -1);
}

/* Wakes every task waiting in join for t. */
static void wake_joiners(lua_State *L, Sched *S, Task *t) {
  pushtask(L, t);
  lua_Integer n = pushjoiners(L);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    Task *j = (Task *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    /* A task may be listed twice (a join that timed out, then another):
     * its waiter fires once. */
    if (j && j->joining == t && j->status == T_WAITING && j->w.armed)
      lsk_loop_fire(getloop(L, S), &j->w, 0);
  }
  lua_pop(L, 2);
  lua_pushnil(L);
  pushtask(L, t);
  lua_insert(L, -2);
  lua_setiuservalue(L, -2, UV_JOINERS);
  lua_pop(L, 1);
}

/* A task has ended: record its outcome, let it go from the registry,
 * wake its joiners. The task's stack top holds its results or error. */
static void finish(lua_State *L, Sched *S, Task *t, int status, int nres) {
  lua_State *co = t->co;
  pushtask(L, t);                                   /* task */
  if (status == LUA_OK) {
    lua_createtable(L, nres, 1);                    /* task, results */
    lua_xmove(co, L, nres);                         /* task, res, v1..vn */
    for (int i = nres; i >= 1; i--)
      lua_rawseti(L, -1 - i, i);
    lua_pushinteger(L, nres);
    lua_setfield(L, -2, "n");
    lua_setiuservalue(L, -2, UV_RESULT);
    t->status = T_DONE;
  } else {
    lua_xmove(co, L, 1);                            /* task, err */
    /* The task's traceback, for a failure nobody joins. */
    const char *msg = luaL_tolstring(L, -1, NULL);  /* task, err, msg */
    luaL_traceback(L, co, msg, 0);                  /* task, err, msg, tb */
    lua_setiuservalue(L, -4, UV_TRACE);
    lua_pop(L, 1);
    lua_setiuservalue(L, -2, UV_RESULT);
    t->status = T_FAILED;
  }
  /* Close the task's pending to-be-closed variables and free its stack,
   * so a failed task leaves no socket open. */
#if LUA_VERSION_RELEASE_NUM >= 50406
  lua_closethread(co, L);
#else
  lua_resetthread(co);
#endif
  lua_pushnil(L);
  lua_setiuservalue(L, -2, UV_THREAD);
  t->co = NULL;
  S->alive--;
  /* Someone looks: a join outside tasks, or a task still waiting in a
   * join on this one (not one whose join timed out and went on). */
  int joined = t->mainjoins > 0;
  pushtask(L, t);
  lua_Integer n = pushjoiners(L);
  for (lua_Integer i = 1; i <= n && !joined; i++) {
    lua_rawgeti(L, -1, i);
    Task *j = (Task *)lua_touserdata(L, -1);
    joined = j && j->joining == t && j->status == T_WAITING;
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  if (t->status == T_FAILED && !joined) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &failedkey);  /* task, failed */
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, luaL_len(L, -2) + 1);
    lua_pop(L, 1);
  }
  wake_joiners(L, S, t);
  lua_pop(L, 1);
  /* Only the script's references keep a finished task now. */
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, t);
}

lua_State *volatile lsockL_resuming = NULL;

/* Resumes t once: it runs until it waits, yields or ends. */
static void resume(lua_State *L, Sched *S, Task *t) {
  Task *prev = S->current;
  lua_State *prevco = lsockL_resuming;
  int nres;
  S->current = t;
  lsockL_resuming = t->co;
  t->status = T_RUNNING;
  t->joining = NULL;
  int nargs = t->nargs;
  t->nargs = 0;
  int st = lua_resume(t->co, L, nargs, &nres);
  S->current = prev;
  lsockL_resuming = prevco;
  if (st == LUA_YIELD) {
    lua_pop(t->co, nres);
    /* A plain coroutine.yield() in a task gives the others a turn. */
    if (t->status == T_RUNNING)
      make_ready(S, t);
    return;
  }
  finish(L, S, t, st, nres);
}

/* One turn of the loop: waits for I/O and timers until something fires or
 * `until` passes (not at all while tasks are ready), queues the tasks whose
 * waits ended, then runs every task that was ready at that point. Waiters
 * that belong to no task (the main code's) are only marked fired, for
 * their owner to see when step returns. Returns 0 or an error code (EINTR
 * on interrupt). */
static int step(lua_State *L, Sched *S, lsk_deadline until) {
  if (S->loop) {
    lsk_waiter *fired;
    int err = lsk_loop_poll(S->loop, S->ready ? 0 : until, &fired);
    if (err)
      return err;
    while (fired) {
      lsk_waiter *w = fired;
      fired = w->next;
      w->next = w->prev = NULL;
      /* A task waiting on several waiters (select) is queued once. */
      if (w->data && ((Task *)w->data)->status == T_WAITING)
        make_ready(S, (Task *)w->data);
    }
  }
  Task *last = S->ready_tail;
  while (S->ready) {
    Task *t = S->ready;
    S->ready = t->next;
    if (!S->ready)
      S->ready_tail = NULL;
    resume(L, S, t);
    if (t == last)
      break;
  }
  return 0;
}

/* The main code's waiter is done once fired (or its deadline passed). */
static int run_until(lua_State *L, Sched *S, lsk_waiter *w,
                     const Task *target) {
  for (;;) {
    if (w && !w->armed)
      return w->result;
    if (target && (target->status == T_DONE || target->status == T_FAILED))
      return 0;
    int err = step(L, S, w ? w->deadline : LSK_NEVER);
    if (err) {
      if (w)
        lsk_loop_cancel(S->loop, w);
      return err;
    }
  }
}

/* ---- the wait protocol ---- */

static int in_task(lua_State *L, Sched *S) {
  if (!S->current || S->current->co != L)
    return 0;
  if (!lua_isyieldable(L))
    luaL_error(L, "a task cannot wait here: the call is inside a "
                  "metamethod or a C function that cannot yield");
  return 1;
}

static int yield_on(lua_State *L, Sched *S, int fd, int events,
                    lsk_deadline d, lua_KFunction k, lua_KContext ctx) {
  Task *t = S->current;
  t->w.fd = fd;
  t->w.events = events;
  t->w.deadline = d;
  t->w.data = t;
  int err = lsk_loop_arm(getloop(L, S), &t->w);
  if (err)
    return err;
  t->status = T_WAITING;
  return lua_yieldk(L, 0, ctx, k);
}

int lsockL_waitfd(lua_State *L, const lsockL_Ctx *c, int fd, int events,
                  lsk_deadline d, lua_KFunction k, lua_KContext ctx) {
  Sched *S = schedof(L, c);
  int err;
  /* Without a continuation a task cannot yield here: it waits like the
   * main code, running the other tasks meanwhile (nested, on the C
   * stack). */
  if (k && in_task(L, S))
    return yield_on(L, S, fd, events, d, k, ctx);
  if (S->alive == 0) {
    /* No task to keep going: a plain poll. */
    if (fd >= 0)
      err = lsk_wait(fd, events, d);
    else {
      struct timespec ts;
      int ms;
      err = ETIMEDOUT;
      while ((ms = lsk_deadline_remaining_ms(d)) != 0) {
        if (ms < 0)
          ms = 1000;
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (long)(ms % 1000) * 1000000;
        if (nanosleep(&ts, NULL) < 0 && lsk_interrupted) {
          err = EINTR;
          break;
        }
      }
    }
  } else {
    lsk_waiter w;
    memset(&w, 0, sizeof w);
    w.fd = fd;
    w.events = events;
    w.deadline = d;
    if ((err = lsk_loop_arm(getloop(L, S), &w)) == 0)
      err = run_until(L, S, &w, NULL);
  }
  if (err == EINTR && lsk_interrupted)
    raise_err(L, EINTR, "wait");
  return err;
}

int lsockL_resumed(lua_State *L, const lsockL_Ctx *c) {
  const Sched *S = schedof(L, c);
  return S->current ? S->current->w.result : 0;
}

int lsockL_waitjob(lua_State *L, lsk_job *job, lsk_deadline d,
                   lua_KFunction k, lua_KContext ctx) {
  Sched *S = getsched(L);
  lsk_loop *loop = getloop(L, S);
  lsk_waiter *w;
  lsk_waiter local;
  int task = in_task(L, S);
  if (task) {
    w = &S->current->w;
    w->data = S->current;
  } else {
    memset(&local, 0, sizeof local);
    w = &local;
  }
  w->fd = -1;
  w->events = 0;
  w->deadline = d;
  w->job = NULL;
  job->waiter = w;
  int err = lsk_loop_submit(loop, job);
  if (err)
    return err;
  if (task) {
    S->current->status = T_WAITING;
    return lua_yieldk(L, 0, ctx, k);
  }
  err = run_until(L, S, w, NULL);
  if (err == EINTR && lsk_interrupted)
    raise_err(L, EINTR, "wait");
  return err;
}

int lsockL_waitmany(lua_State *L, lsk_waiter *ws, int n, lsk_deadline d,
                    lua_KFunction k, lua_KContext ctx) {
  Sched *S = getsched(L);
  int task = in_task(L, S);
  lsk_loop *loop = getloop(L, S);
  lsk_waiter own;
  lsk_waiter *dw = task ? &S->current->w : &own;
  int err = 0, i;
  memset(dw, 0, sizeof *dw);
  dw->fd = -1;
  dw->deadline = d;
  dw->data = task ? S->current : NULL;
  for (i = 0; i < n && err == 0; i++) {
    ws[i].data = dw->data;
    ws[i].deadline = LSK_NEVER;
    err = lsk_loop_arm(loop, &ws[i]);
  }
  if (err == 0)
    err = lsk_loop_arm(loop, dw);
  if (err) {
    lsockL_waitdone(L, ws, n);
    return err;
  }
  if (task) {
    S->current->status = T_WAITING;
    return lua_yieldk(L, 0, ctx, k);
  }
  /* The main code: run the loop until any of them, or the deadline. */
  for (;;) {
    int fired = !dw->armed;
    for (i = 0; i < n && !fired; i++)
      fired = !ws[i].armed;
    if (fired)
      break;
    if ((err = step(L, S, d)) != 0)
      break;
  }
  lsk_loop_cancel(loop, dw);
  lsockL_waitdone(L, ws, n);
  if (err == EINTR && lsk_interrupted)
    raise_err(L, EINTR, "select");
  return err;
}

void lsockL_waitdone(lua_State *L, lsk_waiter *ws, int n) {
  Sched *S = getsched(L);
  if (!S->loop)
    return;
  for (int i = 0; i < n; i++)
    lsk_loop_cancel(S->loop, &ws[i]);
  if (S->current && S->current->co == L)
    lsk_loop_cancel(S->loop, &S->current->w);
}

static void raise_failed(lua_State *L);

/* One turn for a host's loop, without blocking (lua_CFunction: call it
 * protected). Pushes the number of tasks left. */
int lsockL_turn(lua_State *L) {
  Sched *S = getsched(L);
  if (S->current)
    return luaL_error(L, "lsock_step called from inside a task");
  int err = step(L, S, 0);
  if (err)
    raise_err(L, err, "step");
  raise_failed(L);
  lua_pushinteger(L, S->alive);
  return 1;
}

int lsockL_loopfd(lua_State *L) {
  return lsk_loop_fd(getloop(L, getsched(L)));
}

int lsockL_looptimeout(lua_State *L) {
  Sched *S = getsched(L);
  if (S->ready)
    return 0;
  return S->loop ? lsk_loop_timeout(S->loop) : -1;
}

int lsockL_canblock(lua_State *L, const lsockL_Ctx *c) {
  const Sched *S = c->sched;
  return S->alive == 0 && !(S->current && S->current->co == L);
}

void lsockL_unregister(lua_State *L, int fd) {
  Sched *S = getsched(L);
  if (S && S->loop)
    lsk_loop_release(S->loop, fd);
}

lsk_loop *lsockL_hints(lua_State *L, const lsockL_Ctx *c) {
  return lsockL_canblock(L, c) ? NULL : c->sched->loop;
}

void lsockL_forget(lua_State *L, const lsockL_Ctx *c, int fd) {
  const Sched *S = schedof(L, c);
  if (S && S->loop)
    lsk_loop_forget(S->loop, fd);
}

/* ---- Lua functions ---- */

static Task *totask(lua_State *L, int i) {
  return (Task *)luaL_checkudata(L, i, LSOCK_TASK);
}

/* socket.spawn(fn, ...): a task that will run fn(...) when the loop runs. */
static int f_spawn(lua_State *L) {
  Sched *S = getsched(L);
  int n = lua_gettop(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  Task *t = (Task *)lua_newuserdatauv(L, sizeof(Task), NUV);
  memset(t, 0, sizeof *t);
  t->w.heap = -1;
  luaL_setmetatable(L, LSOCK_TASK);                 /* fn, args, task */
  lua_State *co = lua_newthread(L);                 /* ..., task, co */
  lua_setiuservalue(L, -2, UV_THREAD);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, t);             /* task by address */
  for (int i = 1; i <= n; i++)
    lua_pushvalue(L, i);
  lua_xmove(L, co, n);                              /* co: fn, args */
  t->co = co;
  t->nargs = n - 1;
  S->alive++;
  make_ready(S, t);
  return 1;
}

/* Raises the first failure that no join has seen, with its traceback. */
static void raise_failed(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &failedkey);
  lua_rawgeti(L, -1, 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 2);
    return;
  }
  Task *t = (Task *)lua_touserdata(L, -1);
  /* Forget it, so a second run() does not raise it again; the others
   * stay for the next run(). */
  lua_Integer n = luaL_len(L, -2);
  for (lua_Integer i = 1; i < n; i++) {
    lua_rawgeti(L, -2, i + 1);
    lua_rawseti(L, -3, i);
  }
  lua_pushnil(L);
  lua_rawseti(L, -3, n);
  t->observed = 1;
  lua_getiuservalue(L, -1, UV_TRACE);
  lua_pushfstring(L, "error in task: %s", lua_tostring(L, -1));
  lua_error(L);
}

/* socket.run(): runs the loop until no task is left. */
int lsockL_run(lua_State *L) {
  Sched *S = getsched(L);
  if (S->current)
    return luaL_error(L, "socket.run() called from inside a task");
  raise_failed(L);
  while (S->alive > 0) {
    int err = step(L, S, LSK_NEVER);
    if (err)
      raise_err(L, err, "run");
    raise_failed(L);
  }
  return 0;
}

static int sleep_k(lua_State *L, int status, lua_KContext ctx) {
  (void)L;
  (void)status;
  (void)ctx;
  return 0;
}

/* socket.sleep(seconds): suspends the task, or the main code while the
 * loop runs the tasks. */
static int f_sleep(lua_State *L) {
  Sched *S = getsched(L);
  lua_Number t = luaL_checknumber(L, 1);
  luaL_argcheck(L, !isnan(t) && t >= 0, 1, "must be a non-negative number");
  luaL_argcheck(L, t <= 1e9, 1, "too large");
  lua_settop(L, 0);
  if (in_task(L, S)) {
    if (t == 0) { /* a turn for the others */
      make_ready(S, S->current);
      return lua_yieldk(L, 0, 0, sleep_k);
    }
    return yield_on(L, S, -1, 0, lsk_deadline_after(t), sleep_k, 0);
  }
  int err = lsockL_waitfd(L, NULL, -1, 0, lsk_deadline_after(t), sleep_k, 0);
  if (err && err != ETIMEDOUT)
    raise_err(L, err, "sleep");
  return 0;
}

/* The outcome of a finished task: its results, or its error raised. */
static int outcome(lua_State *L, Task *t) {
  t->observed = 1;
  lua_getiuservalue(L, 1, UV_RESULT);
  if (t->status == T_FAILED) {
    /* Seen now: run() need not raise it. */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &failedkey);
    int n = (int)luaL_len(L, -1);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      int same = lua_touserdata(L, -1) == t;
      lua_pop(L, 1);
      if (same) {
        lua_pushnil(L);
        for (int j = i; j < n; j++) {
          lua_rawgeti(L, -2, j + 1);
          lua_rawseti(L, -3, j);
        }
        lua_rawseti(L, -2, n);
        break;
      }
    }
    lua_pop(L, 1);
    return lua_error(L);
  }
  int n = (int)(lua_getfield(L, -1, "n"), lua_tointeger(L, -1));
  lua_pop(L, 1);
  luaL_checkstack(L, n, "too many results");
  for (int i = 1; i <= n; i++)
    lua_rawgeti(L, 2, i);
  return n;
}

static int join_k(lua_State *L, int status, lua_KContext ctx) {
  Task *t = totask(L, 1);
  (void)ctx;
  if (status == LUA_YIELD) {
    int err = lsockL_resumed(L, NULL);
    if (err)
      return lsockL_error(L, err, "join", NULL);
  }
  lua_settop(L, 1);
  return outcome(L, t);
}

/* task:join([timeout]): waits for the task; its results or its error. */
static int m_join(lua_State *L) {
  Task *t = totask(L, 1);
  Sched *S = getsched(L);
  lsk_deadline d = LSK_NEVER;
  if (!lua_isnoneornil(L, 2)) {
    lua_Number s = luaL_checknumber(L, 2);
    luaL_argcheck(L, !isnan(s) && s >= 0, 2, "must be a non-negative number");
    d = lsk_deadline_after(s);
  }
  lua_settop(L, 1);
  if (t == S->current)
    return luaL_error(L, "a task cannot join itself");
  if (t->status == T_DONE || t->status == T_FAILED)
    return outcome(L, t);
  /* Register as a joiner, so finish() wakes us and knows we look. */
  if (in_task(L, S)) {
    if (lua_getiuservalue(L, 1, UV_JOINERS) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushvalue(L, -1);
      lua_setiuservalue(L, 1, UV_JOINERS);
    }
    pushtask(L, S->current);
    lua_rawseti(L, -2, luaL_len(L, -2) + 1);
    lua_pop(L, 1);
    Task *me = S->current;
    me->joining = t;
    int err = yield_on(L, S, -1, 0, d, join_k, 0); /* no return if ok */
    me->joining = NULL;
    return lsockL_error(L, err, "join", NULL);
  }
  lsk_waiter w;
  memset(&w, 0, sizeof w);
  w.fd = -1;
  w.deadline = d;
  int err = lsk_loop_arm(getloop(L, S), &w);
  t->mainjoins++;
  if (!err) {
    for (;;) {
      if (t->status == T_DONE || t->status == T_FAILED) {
        lsk_loop_cancel(S->loop, &w);
        break;
      }
      if (!w.armed) {
        err = w.result;
        break;
      }
      if ((err = step(L, S, w.deadline)) != 0) {
        lsk_loop_cancel(S->loop, &w);
        break;
      }
    }
  }
  t->mainjoins--;
  if (err)
    return raise_err(L, err, "join");
  return outcome(L, t);
}

static int m_status(lua_State *L) {
  static const char *const names[] = {"ready", "running", "waiting", "done",
                                      "failed"};
  Task *t = totask(L, 1);
  lua_pushstring(L, names[t->status]);
  return 1;
}

static int mm_tostring(lua_State *L) {
  Task *t = totask(L, 1);
  lua_pushfstring(L, "lsock.task (%p)", (void *)t);
  return 1;
}

static int mm_schedgc(lua_State *L) {
  Sched *S = (Sched *)lua_touserdata(L, 1);
  lsk_loop_free(S->loop);
  S->loop = NULL;
  return 0;
}

/* socket.current_task(): the running task, or nil in the main code. */
static int f_current(lua_State *L) {
  Sched *S = getsched(L);
  if (!S->current || S->current->co != L)
    lua_pushnil(L);
  else
    pushtask(L, S->current);
  return 1;
}

static const luaL_Reg task_methods[] = {
  {"join", m_join},
  {"status", m_status},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"spawn", f_spawn},
  {"run", lsockL_run},
  {"sleep", f_sleep},
  {"current_task", f_current},
  {NULL, NULL}
};

void lsockL_opentask(lua_State *L) {
  lsockL_Ctx *c = lsockL_ctx(L);
  if (c->sched) { /* the module opened again: the same scheduler */
    luaL_setfuncs(L, functions, 0);
    return;
  }
  Sched *S = (Sched *)lua_newuserdatauv(L, sizeof(Sched), 0);
  memset(S, 0, sizeof *S);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, mm_schedgc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  c->sched = S;
  lua_rawsetp(L, LUA_REGISTRYINDEX, &schedkey);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &failedkey);
  luaL_newmetatable(L, LSOCK_TASK);
  luaL_newlib(L, task_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, mm_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  luaL_setfuncs(L, functions, 0);
}
