/* bench/c/launch.c: the startup workload's stopwatch.
 *
 *   launch COUNT PROGRAM [ARGS...]
 *
 * Starts PROGRAM COUNT times, one after the other (posix_spawn, which does
 * not copy this process's memory), waits for each, and prints
 * "STARTUP <median ms> <median peak RSS KiB>" from each run's wall time and
 * its rusage ru_maxrss. A run that exits non-zero makes it exit 1.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: launch COUNT PROGRAM [ARGS...]\n");
    return 2;
  }
  int count = atoi(argv[1]);
  if (count < 1)
    count = 1;
  double *ms = malloc(sizeof *ms * (size_t)count);
  double *rss = malloc(sizeof *rss * (size_t)count);
  if (!ms || !rss)
    return 1;
  for (int i = 0; i < count; i++) {
    pid_t pid;
    double t0 = now();
    int err = posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ);
    if (err) {
      fprintf(stderr, "launch: cannot start %s\n", argv[2]);
      return 1;
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
      perror("launch: wait4");
      return 1;
    }
    double t1 = now();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "launch: %s failed (status %d)\n", argv[2], status);
      return 1;
    }
    ms[i] = (t1 - t0) * 1000;
    rss[i] = (double)ru.ru_maxrss;
  }
  printf("STARTUP %.4f %.0f\n", median(ms, count), median(rss, count));
  return 0;
}
