/* bindings/l_task: tasks (socket.spawn), the scheduler and the wait
 * protocol every would-block path goes through: inside a task the C
 * function yields with a continuation; outside, it blocks while running
 * the loop so that tasks keep going. */
#ifndef LSOCK_L_TASK_H
#define LSOCK_L_TASK_H

#include <lua.h>

#include "../core/clock.h"
#include "../core/loop.h"
#include "l_ctx.h"

#define LSOCK_TASK "lsock.task"

/* Waits until fd is ready for events or deadline d passes.
 * - Inside a task: yields; when the wait ends Lua calls k(L, LUA_YIELD,
 *   ctx), which must call lsockL_resumed to learn the outcome. Does not
 *   return.
 * - Outside tasks: blocks (running the loop while tasks exist) and
 *   returns 0 when ready, ETIMEDOUT, EBADF (the descriptor was closed
 *   meanwhile) or poll's errno.
 * An interrupt (SIGINT in the interpreter) raises "interrupted!". A task
 * that cannot yield here (inside a metamethod or a C call) gets a clear
 * error. fd -1 waits for the deadline alone. c is the state's context (a
 * socket's s->ctx), or NULL to look it up; so for lsockL_resumed. */
int lsockL_waitfd(lua_State *L, const lsockL_Ctx *c, int fd, int events,
                  lsk_deadline d, lua_KFunction k, lua_KContext ctx);

/* In a continuation after a wait: 0 when ready, or the error that ended
 * the wait (ETIMEDOUT, EBADF). */
int lsockL_resumed(lua_State *L, const lsockL_Ctx *c);

/* Runs `job` on a worker thread and waits for it like lsockL_waitfd:
 * returns (or, in a task, resumes k with lsockL_resumed giving) 0 when
 * it is done or ETIMEDOUT when d passed first; the job is then abandoned
 * and freed by the pool when it ends. */
int lsockL_waitjob(lua_State *L, lsk_job *job, lsk_deadline d,
                   lua_KFunction k, lua_KContext ctx);

/* Waits until any of the n waiters (fd and events set by the caller)
 * fires or d passes, like lsockL_waitfd: in a task it yields to k; the
 * continuation must call lsockL_waitdone. Outside tasks it returns 0 or
 * ETIMEDOUT, all waiters disarmed. The caller owns ws, which must survive
 * the yield (a userdata in a stack slot). Try first: with edge triggering
 * only a later change of state fires. */
int lsockL_waitmany(lua_State *L, lsk_waiter *ws, int n, lsk_deadline d,
                    lua_KFunction k, lua_KContext ctx);

/* Disarms what lsockL_waitmany armed (in its continuation). */
void lsockL_waitdone(lua_State *L, lsk_waiter *ws, int n);

/* Nonzero when a plain blocking call is fine: not in a task, and no task
 * would be kept waiting. c is the state's context (a socket's s->ctx, or
 * lsockL_ctx(L)). */
int lsockL_canblock(lua_State *L, const lsockL_Ctx *c);

/* The descriptor fd is about to close: tasks waiting on it wake with
 * EBADF. c is the state's context, or NULL to look it up. Safe from
 * __gc. */
void lsockL_forget(lua_State *L, const lsockL_Ctx *c, int fd);

/* Lets the loop drop fd's registration when nothing waits on it
 * (lsk_loop_release): for descriptors that may close behind our back. */
void lsockL_unregister(lua_State *L, int fd);

/* The loop whose readiness hints (lsk_loop_drained, core/loop.h) a call
 * may use: the one its waits go through, which is the case in a task or
 * beside live tasks; NULL elsewhere (waits are then a plain poll). */
struct lsk_loop *lsockL_hints(lua_State *L, const lsockL_Ctx *c);

/* For a host's loop (lsock.h): lsockL_turn runs what is ready without
 * blocking and pushes the number of tasks left (a lua_CFunction, to call
 * protected); lsockL_loopfd is the loop's pollable descriptor;
 * lsockL_looptimeout the milliseconds until the next deadline (0: work
 * is ready, -1: none). lsockL_run is socket.run. */
int lsockL_turn(lua_State *L);
int lsockL_loopfd(lua_State *L);
int lsockL_looptimeout(lua_State *L);
int lsockL_run(lua_State *L);

/* The thread of the task being resumed now (NULL in the main code), for
 * an interpreter's SIGINT handler to set its hook on: a task in a runaway
 * loop never reaches a hook set on the main thread. */
extern lua_State *volatile lsockL_resuming;

/* Registers the task metatable and puts spawn, run, sleep and
 * current_task... into the module table at the top of the stack. */
void lsockL_opentask(lua_State *L);

#endif
