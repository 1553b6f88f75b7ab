/* core/tests/test_loop: the event loop's waiters: timers in deadline
 * order, descriptor readiness (edge-triggered), forget waking waiters with
 * EBADF, readiness hints, and jobs on the worker threads, one given up at its deadline. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../loop.h"
#include "../wait.h"
#include "check.h"

/* Polls until `w` fires or `limit` seconds pass; returns its result. */
static int until_fired(lsk_loop *loop, lsk_waiter *w, double limit) {
  lsk_deadline end = lsk_deadline_after(limit);
  while (w->armed && !lsk_deadline_expired(end)) {
    lsk_waiter *fired;
    ASSERT_OK(lsk_loop_poll(loop, end, &fired));
  }
  ASSERT(!w->armed);
  return w->result;
}

static void timers_fire_in_order(void) {
  lsk_loop *loop;
  lsk_waiter w[50];
  ASSERT_OK(lsk_loop_new(&loop));
  int64_t now = lsk_clock_now();
  for (int i = 0; i < 50; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].fd = -1;
    /* Deadlines out of order: 0, 49, 2, 47, ... ms from now. */
    int ms = i % 2 ? 50 - i : i;
    w[i].deadline = now + (int64_t)ms * 1000000;
    ASSERT_OK(lsk_loop_arm(loop, &w[i]));
  }
  ASSERT_EQ(lsk_loop_armed(loop), 50);
  lsk_deadline last = 0;
  int seen = 0;
  while (seen < 50) {
    lsk_waiter *fired;
    ASSERT_OK(lsk_loop_poll(loop, lsk_deadline_after(2), &fired));
    for (; fired; fired = fired->next) {
      ASSERT_EQ(fired->result, ETIMEDOUT);
      ASSERT(fired->deadline >= last);
      ASSERT(lsk_clock_now() >= fired->deadline);
      last = fired->deadline;
      seen++;
    }
  }
  ASSERT_EQ(lsk_loop_armed(loop), 0);
  lsk_loop_free(loop);
}

static void cancel_removes_timer(void) {
  lsk_loop *loop;
  lsk_waiter a, b;
  ASSERT_OK(lsk_loop_new(&loop));
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.fd = b.fd = -1;
  a.deadline = lsk_deadline_after(0.01);
  b.deadline = lsk_deadline_after(0.05);
  ASSERT_OK(lsk_loop_arm(loop, &a));
  ASSERT_OK(lsk_loop_arm(loop, &b));
  lsk_loop_cancel(loop, &a);
  ASSERT(!a.armed);
  ASSERT_EQ(until_fired(loop, &b, 2), ETIMEDOUT);
  lsk_loop_free(loop);
}

static void readiness_and_forget(void) {
  lsk_loop *loop;
  int sv[2];
  char c = 'x';
  lsk_waiter r, r2;
  ASSERT_OK(lsk_loop_new(&loop));
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
  memset(&r, 0, sizeof r);
  r.fd = sv[0];
  r.events = LSK_WANT_READ;
  r.deadline = lsk_deadline_after(5);
  ASSERT_OK(lsk_loop_arm(loop, &r));
  ASSERT_EQ(write(sv[1], &c, 1), 1);
  ASSERT_EQ(until_fired(loop, &r, 2), 0);
  ASSERT_EQ(read(sv[0], &c, 1), 1);
  /* Registered once: a second wait needs no new epoll_ctl and still sees
   * the next edge. */
  r.deadline = LSK_NEVER;
  ASSERT_OK(lsk_loop_arm(loop, &r));
  ASSERT_EQ(write(sv[1], &c, 1), 1);
  ASSERT_EQ(until_fired(loop, &r, 2), 0);
  ASSERT_EQ(read(sv[0], &c, 1), 1);
  /* Two waiters on one descriptor, then it closes: both get EBADF. */
  memset(&r2, 0, sizeof r2);
  r2.fd = sv[0];
  r2.events = LSK_WANT_READ;
  r2.deadline = LSK_NEVER;
  ASSERT_OK(lsk_loop_arm(loop, &r));
  ASSERT_OK(lsk_loop_arm(loop, &r2));
  lsk_loop_forget(loop, sv[0]);
  close(sv[0]);
  ASSERT(!r.armed && !r2.armed);
  ASSERT_EQ(r.result, EBADF);
  ASSERT_EQ(r2.result, EBADF);
  lsk_waiter *fired;
  ASSERT_OK(lsk_loop_poll(loop, 0, &fired));
  ASSERT(fired != NULL);
  close(sv[1]);
  lsk_loop_free(loop);
}

/* The readiness hints: recorded only for a registered descriptor, cleared
 * by the next edge, never recorded again once the end of stream was seen. */
static void drained_hints(void) {
  lsk_loop *loop;
  int sv[2];
  char c = 'x';
  lsk_waiter r;
  lsk_waiter *fired;
  ASSERT_OK(lsk_loop_new(&loop));
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
  lsk_loop_drained(loop, sv[0], LSK_WANT_READ); /* not registered yet */
  ASSERT(!lsk_loop_isdrained(loop, sv[0], LSK_WANT_READ));
  memset(&r, 0, sizeof r);
  r.fd = sv[0];
  r.events = LSK_WANT_READ;
  r.deadline = LSK_NEVER;
  ASSERT_OK(lsk_loop_arm(loop, &r));
  lsk_loop_drained(loop, sv[0], LSK_WANT_READ);
  ASSERT(lsk_loop_isdrained(loop, sv[0], LSK_WANT_READ));
  ASSERT(!lsk_loop_isdrained(loop, sv[0], LSK_WANT_WRITE));
  ASSERT(!lsk_loop_isdrained(loop, sv[0], LSK_WANT_READ | LSK_WANT_WRITE));
  /* Data comes: its edge clears the hint, even with nobody waiting. */
  ASSERT_EQ(write(sv[1], &c, 1), 1);
  ASSERT_EQ(until_fired(loop, &r, 2), 0);
  ASSERT(!lsk_loop_isdrained(loop, sv[0], LSK_WANT_READ));
  ASSERT_EQ(read(sv[0], &c, 1), 1);
  lsk_loop_drained(loop, sv[0], LSK_WANT_READ);
  ASSERT_EQ(write(sv[1], &c, 1), 1);
  ASSERT_OK(lsk_loop_poll(loop, lsk_deadline_after(2), &fired));
  ASSERT(!lsk_loop_isdrained(loop, sv[0], LSK_WANT_READ));
  ASSERT_EQ(read(sv[0], &c, 1), 1);
  /* The end of stream: reads stay ready with no edge to come. */
  ASSERT_OK(lsk_loop_arm(loop, &r));
  ASSERT_OK(shutdown(sv[1], SHUT_WR));
  ASSERT_EQ(until_fired(loop, &r, 2), 0);
  lsk_loop_drained(loop, sv[0], LSK_WANT_READ);
  ASSERT(!lsk_loop_isdrained(loop, sv[0], LSK_WANT_READ));
  lsk_loop_drained(loop, sv[0], LSK_WANT_WRITE); /* writes still can be */
  ASSERT(lsk_loop_isdrained(loop, sv[0], LSK_WANT_WRITE));
  /* Forget (the descriptor closes) drops every hint. */
  lsk_loop_forget(loop, sv[0]);
  ASSERT(!lsk_loop_isdrained(loop, sv[0], LSK_WANT_WRITE));
  close(sv[0]);
  close(sv[1]);
  lsk_loop_free(loop);
}

/* A descriptor closed behind the loop's back and its number reused: after
 * lsk_loop_release the new one is registered afresh and its wait fires;
 * a release while a waiter is armed changes nothing. */
static void release_then_reuse(void) {
  lsk_loop *loop;
  int p[2], sv[2];
  char c = 'x';
  lsk_waiter w;
  ASSERT_OK(lsk_loop_new(&loop));
  ASSERT_OK(pipe(p));
  memset(&w, 0, sizeof w);
  w.fd = p[0];
  w.events = LSK_WANT_READ;
  w.deadline = LSK_NEVER;
  ASSERT_OK(lsk_loop_arm(loop, &w));
  lsk_loop_release(loop, p[0]); /* armed: stays */
  ASSERT_EQ(write(p[1], &c, 1), 1);
  ASSERT_EQ(until_fired(loop, &w, 2), 0);
  lsk_loop_release(loop, p[0]);
  int num = p[0];
  close(p[0]);
  close(p[1]);
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
  int mine = sv[0] == num ? 0 : 1;
  ASSERT_EQ(sv[mine], num); /* the lowest free numbers come back */
  w.fd = sv[mine];
  w.deadline = lsk_deadline_after(2);
  ASSERT_OK(lsk_loop_arm(loop, &w));
  ASSERT_EQ(write(sv[1 - mine], &c, 1), 1);
  ASSERT_EQ(until_fired(loop, &w, 3), 0); /* not ETIMEDOUT */
  close(sv[0]);
  close(sv[1]);
  lsk_loop_free(loop);
}

struct slow {
  lsk_job job;
  double seconds;
  int ran;
};

static volatile int freed;

static void slow_run(lsk_job *job) {
  struct slow *s = (struct slow *)job;
  struct timespec ts = {(time_t)s->seconds,
                        (long)((s->seconds - (time_t)s->seconds) * 1e9)};
  nanosleep(&ts, NULL);
  s->ran = 1;
}

static void slow_free(lsk_job *job) {
  free(job);
  freed++;
}

static void job_completes(void) {
  lsk_loop *loop;
  lsk_waiter w;
  ASSERT_OK(lsk_loop_new(&loop));
  struct slow *s = calloc(1, sizeof *s);
  s->job.run = slow_run;
  s->job.free = slow_free;
  s->seconds = 0.01;
  memset(&w, 0, sizeof w);
  w.fd = -1;
  w.deadline = lsk_deadline_after(5);
  s->job.waiter = &w;
  ASSERT_OK(lsk_loop_submit(loop, &s->job));
  ASSERT_EQ(until_fired(loop, &w, 5), 0);
  ASSERT(s->job.done && s->ran);
  free(s); /* done and claimed: the waiter's owner frees it */
  lsk_loop_free(loop);
}

static void slow_job_given_up_at_deadline(void) {
  lsk_loop *loop;
  lsk_waiter w;
  ASSERT_OK(lsk_loop_new(&loop));
  struct slow *s = calloc(1, sizeof *s);
  s->job.run = slow_run;
  s->job.free = slow_free;
  s->seconds = 0.5; /* a lookup slower than the timeout */
  memset(&w, 0, sizeof w);
  w.fd = -1;
  w.deadline = lsk_deadline_after(0.1);
  s->job.waiter = &w;
  freed = 0;
  int64_t t0 = lsk_clock_now();
  ASSERT_OK(lsk_loop_submit(loop, &s->job));
  ASSERT_EQ(until_fired(loop, &w, 5), ETIMEDOUT);
  int64_t took = lsk_clock_now() - t0;
  ASSERT(took >= 100000000 && took < 400000000);
  /* The loop keeps running: the job ends and the pool frees it. */
  lsk_waiter tick;
  memset(&tick, 0, sizeof tick);
  tick.fd = -1;
  tick.deadline = lsk_deadline_after(1);
  ASSERT_OK(lsk_loop_arm(loop, &tick));
  until_fired(loop, &tick, 3);
  ASSERT_EQ(freed, 1);
  lsk_loop_free(loop);
}

static void loop_freed_while_job_runs(void) {
  lsk_loop *loop;
  ASSERT_OK(lsk_loop_new(&loop));
  struct slow *s = calloc(1, sizeof *s);
  s->job.run = slow_run;
  s->job.free = slow_free;
  s->seconds = 0.2;
  freed = 0;
  ASSERT_OK(lsk_loop_submit(loop, &s->job));
  lsk_loop_free(loop); /* the worker finishes and frees the job */
  for (int i = 0; i < 300 && !freed; i++) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  ASSERT_EQ(freed, 1);
}

int main(void) {
  RUN(timers_fire_in_order);
  RUN(cancel_removes_timer);
  RUN(readiness_and_forget);
  RUN(drained_hints);
  RUN(release_then_reuse);
  RUN(job_completes);
  RUN(slow_job_given_up_at_deadline);
  RUN(loop_freed_while_job_runs);
  return 0;
}
