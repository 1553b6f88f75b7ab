/* core/wait: the readiness wait behind every blocking operation. */
#include "wait.h"

#include <errno.h>

volatile sig_atomic_t lsk_interrupted = 0;

int lsk_ready(int fd, int events) {
  struct pollfd p = {.fd = fd, .events = (short)events, .revents = 0};
  int n;
  LSK_RETRY_EINTR(poll(&p, 1, 0), n);
  return n != 0;
}

int lsk_wait(int fd, int events, lsk_deadline d) {
  struct pollfd p = {.fd = fd, .events = (short)events, .revents = 0};
  for (;;) {
    int ms = lsk_deadline_remaining_ms(d);
    if (ms == 0 && d != LSK_NEVER && lsk_deadline_expired(d))
      return ETIMEDOUT;
    int n = poll(&p, 1, ms);
    if (n > 0)
      return 0;
    if (n == 0) {
      /* poll may return a little early on coarse clocks; the rounded-up
       * wait normally covers it, but recheck rather than trust it. */
      if (lsk_deadline_expired(d))
        return ETIMEDOUT;
      continue;
    }
    int err = errno;
    if (err != EINTR)
      return err;
    if (lsk_interrupted)
      return EINTR;
    /* A signal that the host does not treat as an interrupt: keep waiting
     * for what is left of the same deadline. */
  }
}
