/* core/tests/test_clock: deadlines and their rounding. */
#include <limits.h>

#include "../clock.h"
#include "check.h"

static void never_is_forever(void) {
  ASSERT_EQ(lsk_deadline_after(-1), LSK_NEVER);
  ASSERT_EQ(lsk_deadline_remaining_ms(LSK_NEVER), -1);
  ASSERT(!lsk_deadline_expired(LSK_NEVER));
}

static void zero_is_expired(void) {
  lsk_deadline d = lsk_deadline_after(0);
  ASSERT(lsk_deadline_expired(d));
  ASSERT_EQ(lsk_deadline_remaining_ms(d), 0);
}

static void remaining_rounds_up(void) {
  /* 1.5 ms left must read as 2 ms, never 1: a wait that ends early makes
   * the caller spin on zero-timeout polls. */
  lsk_deadline d = lsk_clock_now() + 1500000;
  int ms = lsk_deadline_remaining_ms(d);
  ASSERT(ms == 2 || ms == 1); /* 1 only if >0.5 ms passed since */
  d = lsk_clock_now() + 1000; /* one microsecond */
  ASSERT(lsk_deadline_remaining_ms(d) <= 1);
  d = lsk_clock_now() + 10 * 1000000000LL;
  ms = lsk_deadline_remaining_ms(d);
  ASSERT(ms > 9900 && ms <= 10000);
}

static void huge_saturates(void) {
  lsk_deadline d = lsk_deadline_after(1e30);
  ASSERT(d != LSK_NEVER);
  ASSERT(d > lsk_clock_now());
  ASSERT_EQ(lsk_deadline_remaining_ms(d), INT_MAX);
}

static void clock_is_monotonic(void) {
  int64_t a = lsk_clock_now();
  for (int i = 0; i < 1000; i++) {
    int64_t b = lsk_clock_now();
    ASSERT(b >= a);
    a = b;
  }
}

int main(void) {
  RUN(never_is_forever);
  RUN(zero_is_expired);
  RUN(remaining_rounds_up);
  RUN(huge_saturates);
  RUN(clock_is_monotonic);
  return 0;
}
