/* core/loop: the readiness and timer queues behind tasks.
 * Waiters wait for a descriptor (edge-triggered epoll), a deadline (a
 * binary heap), or a job run on a worker thread; lsk_loop_poll hands back
 * the waiters whose wait ended. Single-threaded except for the jobs. */
#ifndef LSK_LOOP_H
#define LSK_LOOP_H

#include "clock.h"

typedef struct lsk_loop lsk_loop;

typedef struct lsk_waiter {
  int fd;                  /* -1: no descriptor (sleep, join, job) */
  int events;              /* LSK_WANT_READ / LSK_WANT_WRITE */
  lsk_deadline deadline;   /* LSK_NEVER: none */
  int result;              /* once fired: 0, ETIMEDOUT or EBADF */
  int armed;               /* registered and not yet fired */
  int heap;                /* index in the timer heap, -1 if not in it */
  struct lsk_waiter *prev; /* in the fd's list; in the fired list */
  struct lsk_waiter *next;
  struct lsk_job *job;     /* the job it waits for, if any */
  void *data;              /* the owner's */
} lsk_waiter;

/* A job for a worker thread: `run` runs there, touching only the job.
 * When it is done the loop fires `waiter` (if still set) with result 0. */
typedef struct lsk_job {
  void (*run)(struct lsk_job *job);
  void (*free)(struct lsk_job *job); /* frees a job nobody waits for */
  lsk_waiter *waiter;                /* NULL once the waiter gave up */
  int done;
  struct lsk_job *next;
} lsk_job;

/* Creates a loop. Returns 0 or errno (EMFILE, ENOMEM). */
int lsk_loop_new(lsk_loop **out);

/* Frees the loop. Waiters still armed are dropped; jobs still running are
 * freed by their worker when they end. */
void lsk_loop_free(lsk_loop *loop);

/* Arms w (fd, events, deadline set by the caller). The first wait on a
 * descriptor registers it with epoll for good (until lsk_loop_forget).
 * The caller must have seen the operation fail with EAGAIN first: with
 * edge triggering, only a later change of state fires. Returns 0 or
 * errno from epoll_ctl. */
int lsk_loop_arm(lsk_loop *loop, lsk_waiter *w);

/* Disarms w if armed (a wait abandoned); a job it waited for is
 * abandoned too. */
void lsk_loop_cancel(lsk_loop *loop, lsk_waiter *w);

/* Fires w now with `result`, as if its wait had ended. */
void lsk_loop_fire(lsk_loop *loop, lsk_waiter *w, int result);

/* The descriptor is about to close: its waiters fire with EBADF and it
 * leaves epoll (before close(2), so a duplicate cannot keep it there). */
void lsk_loop_forget(lsk_loop *loop, int fd);

/* Waits until a waiter fires or `until` passes (0: do not block), then
 * returns the fired waiters as a list linked by `next` (NULL if none).
 * Returns 0 or errno; EINTR when interrupted with lsk_interrupted set. */
int lsk_loop_poll(lsk_loop *loop, lsk_deadline until, lsk_waiter **fired);

/* Takes fd out of epoll if no waiter is armed on it: for a descriptor
 * whose owner will not call lsk_loop_forget before it closes (one that
 * select was given), as a registration the loop believes in after the
 * number is reused would never fire. */
void lsk_loop_release(lsk_loop *loop, int fd);

/* Readiness hints for a descriptor already registered (by a wait):
 * lsk_loop_drained records that operations for `events` would say EAGAIN
 * now (the caller saw EAGAIN, or a read of a stream socket returned less
 * than asked, which empties its queue); the next epoll edge for them, or
 * lsk_loop_forget, clears it. Once an edge said the end of stream or an
 * error (which stay, with no edge to come), the hint is never recorded
 * again for that descriptor. lsk_loop_isdrained says whether all of
 * `events` are so recorded: the caller may then wait without trying. A
 * descriptor not registered has no hints. Only sound for a caller whose
 * waits go through this loop (a poll(2) elsewhere does not clear them). */
void lsk_loop_drained(lsk_loop *loop, int fd, int events);
int lsk_loop_isdrained(const lsk_loop *loop, int fd, int events);

/* Number of armed waiters. */
int lsk_loop_armed(const lsk_loop *loop);

/* A descriptor that polls readable when lsk_loop_poll has I/O to report
 * (the epoll descriptor), for a host's own event loop. */
int lsk_loop_fd(const lsk_loop *loop);

/* Milliseconds until the earliest deadline (0 when a waiter has fired and
 * waits to be collected), or -1 when none: the longest a host may sleep
 * on lsk_loop_fd before calling lsk_loop_poll. */
int lsk_loop_timeout(const lsk_loop *loop);

/* Arms job->waiter (fd -1, its deadline) and queues the job for the
 * worker threads (started on first use). Returns 0, or errno with the job
 * not queued (still the caller's). */
int lsk_loop_submit(lsk_loop *loop, lsk_job *job);

/* A waiter that fires with an error (its deadline passed, or it was
 * cancelled) abandons its job, which is then freed when it ends. */

#endif
