/* core/clock: monotonic time and deadlines.
 * A deadline is an absolute CLOCK_MONOTONIC time in nanoseconds; every
 * blocking operation converts its timeout into one, once. */
#ifndef LSK_CLOCK_H
#define LSK_CLOCK_H

#include <stdint.h>

typedef int64_t lsk_deadline;

/* No deadline: wait forever. */
#define LSK_NEVER INT64_MAX

/* Nanoseconds on CLOCK_MONOTONIC. Never fails on Linux. */
int64_t lsk_clock_now(void);

/* The deadline `seconds` from now. Negative seconds give LSK_NEVER; a
 * value too large for int64 ns saturates at LSK_NEVER - 1 (still finite). */
lsk_deadline lsk_deadline_after(double seconds);

/* Milliseconds left before `d`, rounded up so that a wait never ends before
 * the deadline, clamped to INT_MAX. 0 once `d` has passed, -1 for LSK_NEVER
 * (poll's "forever"). */
int lsk_deadline_remaining_ms(lsk_deadline d);

/* Nonzero once `d` has passed. */
int lsk_deadline_expired(lsk_deadline d);

#endif
