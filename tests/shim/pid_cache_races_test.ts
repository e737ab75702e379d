/**
 * The shim's cached pid and its connection check stay true when the program does what the cache
 * and the check did not expect: a fork from a signal handler that interrupts the shim's first
 * event, and file status flags changed on every descriptor (the shim's socket included).
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { startTestCollector, type StoredLine } from "../support/collector.ts";
import { compileC, eventsOf, payloadOf, runUnderShim, waitForShimEvents } from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";

// Each trial: a fork child arms a one-shot timer of 1..60 us and makes its first audited call
// (the one that fills the pid cache). The SIGALRM handler forks once; its child G resumes the
// interrupted hook and then opens "<dir>/G-<its pid>", which must be reported with G's pid.
const FORK_IN_HANDLER_SOURCE = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t in_grandchild = 0;
static volatile sig_atomic_t fired = 0;

static void on_alarm(int sig) {
  (void)sig;
  if (fired) return;
  fired = 1;
  pid_t p = fork();
  if (p == 0) in_grandchild = 1;
  else if (p > 0) waitpid(p, 0, 0);
}

int main(int argc, char **argv) {
  int trials = atoi(argv[2]);
  int grandchildren = 0;
  for (int i = 0; i < trials; i++) {
    pid_t c = fork();
    if (c == 0) {
      struct sigaction sa;
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = on_alarm;
      sigaction(SIGALRM, &sa, 0);
      struct itimerval it = {{0, 0}, {0, 1 + (i % 60)}};
      setitimer(ITIMER_REAL, &it, 0);
      int fd = open("/dev/null", O_RDONLY);
      if (fd >= 0) close(fd);
      if (!fired) { struct timespec ts = {0, 200000}; nanosleep(&ts, 0); }
      if (in_grandchild) {
        char path[4096];
        snprintf(path, sizeof path, "%s/G-%d", argv[1], (int)getpid());
        int g = open(path, O_RDONLY);
        if (g >= 0) close(g);
        _exit(3);
      }
      _exit(fired ? 3 : 0);
    }
    int st = 0;
    waitpid(c, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3) grandchildren++;
  }
  printf("%d\\n", grandchildren);
  return 0;
}
`;

Deno.test("a child forked by a signal handler during the shim's first event reports its own pid", async () => {
  const program = await compileC(FORK_IN_HANDLER_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-fork-in-handler-");
  const session = "fork-in-handler";
  const result = await runUnderShim([program, temp.path, "600"], {
    socket: collector.socket,
    session,
  });
  assertEquals(result.code, 0, result.stderr);
  const grandchildren = Number(result.stdout.trim());
  const marked = (e: StoredLine) => String(payloadOf(e).path).startsWith(join(temp.path, "G-"));
  const events = await waitForShimEvents(
    collector,
    session,
    (events) => eventsOf(events, "Open").filter(marked).length === grandchildren,
  );
  const wrong = eventsOf(events, "Open").filter(marked).filter((e) => {
    const pid = Number(String(payloadOf(e).path).slice(join(temp.path, "G-").length));
    return (e.process as { pid: number }).pid !== pid;
  });
  // The timer must have interrupted some children at all, or nothing was tested.
  assertEquals(grandchildren > 0, true, result.stdout);
  assertEquals(wrong.map((e) => payloadOf(e).path), []);
});

// Sets O_NONBLOCK on every open descriptor (as some event loops do with what they inherit)
// between audited opens, three times, then prints the descriptors at 900 or above.
const SET_FLAGS_SOURCE = `
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void audited_open(const char *dir, int i) {
  char path[4096];
  snprintf(path, sizeof path, "%s/open-%d", dir, i);
  int fd = open(path, O_RDONLY);
  if (fd >= 0) close(fd);
}

int main(int argc, char **argv) {
  (void)argc;
  audited_open(argv[1], 0);
  for (int round = 1; round <= 3; round++) {
    for (int fd = 0; fd < 1024; fd++) {
      int flags = fcntl(fd, F_GETFL);
      if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
    audited_open(argv[1], round);
  }
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int high = 0;
  while ((e = readdir(d)) != NULL) if (atoi(e->d_name) >= 900) high++;
  printf("%d\\n", high);
  return 0;
}
`;

Deno.test("a program that sets O_NONBLOCK on all its descriptors leaves the shim one socket", async () => {
  const program = await compileC(SET_FLAGS_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-setfl-");
  const session = "setfl-all";
  const result = await runUnderShim([program, temp.path], { socket: collector.socket, session });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    session,
    (events) =>
      eventsOf(events, "Open").some((e) => payloadOf(e).path === join(temp.path, "open-3")),
  );
  assertEquals(result.stdout.trim(), "1");
  assertEquals(
    eventsOf(events, "Open").filter((e) => String(payloadOf(e).path).includes("/open-")).length,
    4,
  );
});
