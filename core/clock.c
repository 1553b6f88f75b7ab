/* core/clock: monotonic time and deadlines (see clock.h). */
#include "clock.h"

#include <limits.h>
#include <time.h>

int64_t lsk_clock_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

lsk_deadline lsk_deadline_after(double seconds) {
  if (!(seconds >= 0)) /* negative (and NaN, which callers reject) */
    return LSK_NEVER;
  int64_t now = lsk_clock_now();
  double ns = seconds * 1e9;
  /* Saturate below LSK_NEVER: a huge timeout is still a timeout. */
  if (ns >= (double)(LSK_NEVER - 1 - now))
    return LSK_NEVER - 1;
  return now + (int64_t)ns;
}

int lsk_deadline_remaining_ms(lsk_deadline d) {
  if (d == LSK_NEVER)
    return -1;
  int64_t left = d - lsk_clock_now();
  if (left <= 0)
    return 0;
  /* Round up: a wait that ends a fraction of a millisecond early would make
   * the caller spin on a zero-timeout poll until the deadline. */
  int64_t ms = (left + 999999) / 1000000;
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

int lsk_deadline_expired(lsk_deadline d) {
  return d != LSK_NEVER && lsk_clock_now() >= d;
}
