/* core/wait: the one readiness wait every blocking operation goes through.
 * A poll(2) on one descriptor with a deadline, retrying EINTR. */
#ifndef LSK_WAIT_H
#define LSK_WAIT_H

#include <errno.h>
#include <poll.h>
#include <signal.h>

#include "clock.h"

#define LSK_WANT_READ POLLIN
#define LSK_WANT_WRITE POLLOUT

/* Set by a host's SIGINT handler (the interpreter's). When set, a wait or a
 * system call interrupted by a signal returns EINTR instead of retrying. */
extern volatile sig_atomic_t lsk_interrupted;

/* For the system calls of core/: runs `expr` again on EINTR before any
 * data moved, unless the host asked for interrupts to stop the call. */
#define LSK_RETRY_EINTR(expr, rc)                                              \
  do {                                                                         \
    (rc) = (expr);                                                             \
  } while ((rc) < 0 && errno == EINTR && !lsk_interrupted)

/* True when a call that may block in the kernel must not start (it returns
 * EINTR instead): an interrupt is pending, its signal already taken, so
 * nothing would end the wait. A call cut short by the signal, or one made
 * before the interpreter's hook raised, would otherwise hang. */
#define LSK_INTERRUPT_PENDING(block) ((block) && lsk_interrupted)

/* EAGAIN for either spelling of "would block". */
static inline int lsk_would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

/* Waits until `fd` is ready for `events` (LSK_WANT_READ / LSK_WANT_WRITE) or
 * `d` passes. Returns 0 when ready (also on POLLERR/POLLHUP: the next
 * operation reports the error), ETIMEDOUT when `d` passed first, EINTR when
 * interrupted with lsk_interrupted set, or poll's errno. Blocks. */
int lsk_wait(int fd, int events, lsk_deadline d);

/* Whether `fd` is ready for `events` now, without waiting: 1 when it is
 * (or has an error or hang-up for the next operation to report), else 0. */
int lsk_ready(int fd, int events);

#endif
