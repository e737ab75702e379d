/**
 * Every libc entry point that starts a program reports an Exec event before the program runs,
 * with the path, argv, env and cwd it was given; a failed start reports a second Exec event with
 * the errno the caller saw.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startTestCollector } from "../support/collector.ts";
import { compileC, eventsOf, payloadOf, runUnderShim, waitForShimEvents } from "../support/shim.ts";
import { EXEC_ENTRY_SOURCE } from "./programs.ts";

const ENTRY_POINTS: { call: string; path: string; argv0: string }[] = [
  { call: "execve", path: "/bin/true", argv0: "true" },
  { call: "execveat", path: "/bin/true", argv0: "true" },
  { call: "fexecve", path: "/usr/bin/true", argv0: "true" },
  { call: "execv", path: "/bin/true", argv0: "true" },
  { call: "execvp", path: "true", argv0: "true" },
  { call: "execvpe", path: "true", argv0: "true" },
  { call: "execl", path: "/bin/true", argv0: "true" },
  { call: "execlp", path: "true", argv0: "true" },
  { call: "execle", path: "/bin/true", argv0: "true" },
  { call: "posix_spawn", path: "/bin/true", argv0: "true" },
  { call: "posix_spawnp", path: "true", argv0: "true" },
  { call: "system", path: "/bin/sh", argv0: "sh" },
  { call: "popen", path: "/bin/sh", argv0: "sh" },
];

for (const entry of ENTRY_POINTS) {
  Deno.test(`${entry.call} reports one Exec event with path, argv, env and cwd`, async () => {
    const program = await compileC(EXEC_ENTRY_SOURCE);
    await using collector = await startTestCollector();
    const marker = `marker-${entry.call}`;
    const session = `exec-${entry.call}`;
    const cwd = await Deno.makeTempDir({ prefix: "shim-exec-cwd-" });
    try {
      const result = await runUnderShim([program, entry.call, marker], {
        socket: collector.socket,
        session,
        cwd,
        env: { SHIM_TEST_VISIBLE: "yes" },
      });
      assertEquals(result.code, 0, result.stderr);
      const events = await waitForShimEvents(
        collector,
        session,
        (events) => eventsOf(events, "Exec", entry.call).length >= 1,
      );
      const execs = eventsOf(events, "Exec", entry.call);
      assertEquals(execs.length, 1, JSON.stringify(execs));
      const payload = payloadOf(execs[0]);
      const expectedArgv = entry.argv0 === "sh"
        ? ["sh", "-c", `true ${marker}`]
        : [entry.argv0, marker];
      assertEquals(payload.argv, expectedArgv);
      // fexecve reports the file behind the descriptor, as the kernel resolved it.
      if (entry.call === "fexecve") {
        assert(String(payload.path).endsWith("/true"), String(payload.path));
      } else {
        assertEquals(payload.path, entry.path);
      }
      assertEquals(payload.cwd, await Deno.realPath(cwd));
      assert((payload.env as string[]).includes("SHIM_TEST_VISIBLE=yes"));
      assertEquals(payload.errno, undefined);
    } finally {
      await Deno.remove(cwd, { recursive: true });
    }
  });
}

const FAILING = ["execve", "execv", "execvp", "execl", "execle", "posix_spawn", "posix_spawnp"];

for (const call of FAILING) {
  Deno.test(`${call} of a missing program reports a second Exec event with ENOENT`, async () => {
    const program = await compileC(EXEC_ENTRY_SOURCE);
    await using collector = await startTestCollector();
    const session = `exec-fail-${call}`;
    const result = await runUnderShim([program, call, "missing"], {
      socket: collector.socket,
      session,
    });
    assertEquals(result.code, 0, result.stderr);
    // The caller sees exactly what glibc returns: -1/ENOENT for exec, the error number for spawn.
    assertEquals(result.stdout.trim(), call.startsWith("posix_spawn") ? "2" : "-1 2");
    const events = await waitForShimEvents(
      collector,
      session,
      (events) => eventsOf(events, "Exec", call).length >= 2,
    );
    const execs = eventsOf(events, "Exec", call).map(payloadOf);
    assertEquals(execs.length, 2);
    assertEquals(execs[0].errno, undefined);
    assertEquals(execs[1].errno, 2);
    assertEquals(execs[1].argv, execs[0].argv);
  });
}

/**
 * `big_env MODE BYTES`: starts `/bin/true` through MODE (execve, execveat, execv after replacing
 * environ, posix_spawn) with an environment of BYTES bytes of value in 100,000-byte variables and
 * no LD_PRELOAD, and prints 0 or the error number. `big_env MODE 0` prints the largest BYTES that
 * starts (a binary search).
 */
const BIG_ENV_SOURCE = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static char *env[64];
static int start(const char *mode, long total) {
  int n = 0;
  for (long left = total; left > 0 && n < 60; n++) {
    long len = left > 100000 ? 100000 : left;
    env[n] = malloc(len + 8);
    sprintf(env[n], "F%02d=", n);
    memset(env[n] + 4, 'x', len);
    env[n][len + 4] = 0;
    left -= len;
  }
  env[n] = NULL;
  char *args[] = {"true", NULL};
  int rc = 0;
  if (!strcmp(mode, "posix_spawn")) {
    pid_t pid;
    rc = posix_spawn(&pid, "/bin/true", NULL, NULL, args, env);
    if (rc == 0) waitpid(pid, NULL, 0);
  } else {
    pid_t pid = fork();
    if (pid == 0) {
      if (!strcmp(mode, "execve")) execve("/bin/true", args, env);
      if (!strcmp(mode, "execveat")) execveat(AT_FDCWD, "/bin/true", args, env, 0);
      if (!strcmp(mode, "execv")) { environ = env; execv("/bin/true", args); }
      _exit(errno);
    }
    int status;
    waitpid(pid, &status, 0);
    rc = WEXITSTATUS(status);
  }
  for (int i = 0; i < n; i++) free(env[i]);
  return rc;
}
int main(int argc, char **argv) {
  long bytes = atol(argv[2]);
  if (bytes > 0) { printf("%d\\n", start(argv[1], bytes)); return 0; }
  long lo = 100000, hi = 64L << 20;
  while (hi - lo > 1) { long mid = lo + (hi - lo) / 2; if (start(argv[1], mid) == 0) lo = mid; else hi = mid; }
  printf("%ld\\n", lo);
  return 0;
}
`;

for (const mode of ["execve", "execveat", "execv", "posix_spawn"]) {
  Deno.test(`${mode} with the largest environment that works without the shim works under it`, async () => {
    // The variables put back (LD_PRELOAD, CONTAINAI_*) must not push it over the kernel's limit.
    const program = await compileC(BIG_ENV_SOURCE);
    const plain = await new Deno.Command(program, { args: [mode, "0"], stdout: "piped" }).output();
    const largest = new TextDecoder().decode(plain.stdout).trim();
    assert(Number(largest) > 100000, largest);
    await using collector = await startTestCollector();
    const result = await runUnderShim([program, mode, largest], {
      socket: collector.socket,
      session: `big-env-${mode}`,
    });
    assertEquals([result.code, result.stdout], [0, "0\n"], result.stderr);
  });
}
