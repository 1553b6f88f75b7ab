/* core/tests/check.h: the few assertions the core's C tests use.
 * A failed check prints file, line and values and exits non-zero. */
#ifndef LSK_CHECK_H
#define LSK_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL_AT(...)                                                           \
  do {                                                                         \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
    fprintf(stderr, __VA_ARGS__);                                              \
    fputc('\n', stderr);                                                       \
    exit(1);                                                                   \
  } while (0)

#define ASSERT(c)                                                              \
  do {                                                                         \
    if (!(c))                                                                  \
      FAIL_AT("assertion failed: %s", #c);                                     \
  } while (0)

#define ASSERT_EQ(a, b)                                                        \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (a_ != b_)                                                              \
      FAIL_AT("%s == %s: %lld != %lld", #a, #b, a_, b_);                       \
  } while (0)

#define ASSERT_STR(a, b)                                                       \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    if (strcmp(a_, b_) != 0)                                                   \
      FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b, a_, b_);                   \
  } while (0)

/* A core call that must succeed (return 0). */
#define ASSERT_OK(e) ASSERT_EQ((e), 0)

/* Runs one scenario function and reports it. */
#define RUN(t)                                                                 \
  do {                                                                         \
    t();                                                                       \
    printf("ok - %s\n", #t);                                                   \
  } while (0)

#endif
