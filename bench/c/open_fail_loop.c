// Times a loop of open() calls that fail with ENOENT (a path in a missing
// directory: the cheapest real open) and prints the nanoseconds per call,
// wall-clock and CPU time of the process. Used by the policy matching
// comparison (bench/policy_bench.ts).
//
// usage: open_fail_loop ITERATIONS PATH
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static long long ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  long n = atol(argv[1]);
  long long wall = ns(CLOCK_MONOTONIC), cpu = ns(CLOCK_PROCESS_CPUTIME_ID);
  for (long i = 0; i < n; i++) {
    if (open(argv[2], O_RDONLY | O_CLOEXEC) >= 0 || errno != ENOENT) {
      fprintf(stderr, "open_fail_loop: expected ENOENT for %s\n", argv[2]);
      return 1;
    }
  }
  wall = ns(CLOCK_MONOTONIC) - wall;
  cpu = ns(CLOCK_PROCESS_CPUTIME_ID) - cpu;
  printf("%.1f %.1f\n", (double)wall / n, (double)cpu / n);
  return 0;
}
