// Times open() calls that fail with ENOENT (a path in a missing directory: the
// cheapest real open) against the same system call made directly, and prints
// what the hooked call costs beyond the bare system call. Used by the policy
// matching comparison (bench/policy_bench.ts).
//
// The calls run in blocks: a block of ITERATIONS/BLOCKS hooked open() calls
// (through libc's PLT, so an LD_PRELOAD shim sees them) and a block of as many
// raw openat system calls (syscall(2), which the shim does not hook), in
// alternating order. Each pair of neighbouring blocks gives one difference per
// call; the medians of those differences cancel the kernel's own time and the
// machine's drift, which a slow or preempted block shares with its neighbour.
//
// usage: open_pair_loop ITERATIONS PATH
// prints: HOOKED_WALL HOOKED_CPU RAW_WALL RAW_CPU EXTRA_WALL EXTRA_CPU
//   (ns per call: hooked and raw means over all blocks, then the medians of the
//   per-pair hooked-minus-raw differences; CPU time is the thread's)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { BLOCK = 500, MAX_PAIRS = 100000 };

static double wall_diff[MAX_PAIRS], cpu_diff[MAX_PAIRS];

static long long ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, long n) {
  qsort(v, n, sizeof *v, cmp);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One block of calls; adds its wall and CPU nanoseconds. Returns 0 when every
// call failed with ENOENT as intended.
static int block(int hooked, const char *path, long long *wall, long long *cpu) {
  long long w = ns(CLOCK_MONOTONIC), c = ns(CLOCK_THREAD_CPUTIME_ID);
  for (int i = 0; i < BLOCK; i++) {
    long rc = hooked ? open(path, O_RDONLY | O_CLOEXEC)
                     : syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (rc >= 0 || errno != ENOENT) return 1;
  }
  *cpu += ns(CLOCK_THREAD_CPUTIME_ID) - c;
  *wall += ns(CLOCK_MONOTONIC) - w;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  long pairs = atol(argv[1]) / BLOCK;
  if (pairs < 1 || pairs > MAX_PAIRS) return 2;
  long long hooked_wall = 0, hooked_cpu = 0, raw_wall = 0, raw_cpu = 0;
  for (long p = 0; p < pairs; p++) {
    long long hw = 0, hc = 0, rw = 0, rc = 0;
    // Alternate which block goes first, so that neither always follows the other.
    for (int k = 0; k < 2; k++) {
      int hooked = (k == 0) == (p % 2 == 0);
      if (block(hooked, argv[2], hooked ? &hw : &rw, hooked ? &hc : &rc)) {
        fprintf(stderr, "open_pair_loop: expected ENOENT for %s\n", argv[2]);
        return 1;
      }
    }
    wall_diff[p] = (double)(hw - rw) / BLOCK;
    cpu_diff[p] = (double)(hc - rc) / BLOCK;
    hooked_wall += hw, hooked_cpu += hc, raw_wall += rw, raw_cpu += rc;
  }
  double n = (double)pairs * BLOCK;
  printf("%.1f %.1f %.1f %.1f %.1f %.1f\n", hooked_wall / n, hooked_cpu / n, raw_wall / n,
         raw_cpu / n, median(wall_diff, pairs), median(cpu_diff, pairs));
  return 0;
}
