/**
 * The safety rules of issue 4 that concern the program itself: signal handlers that open files
 * during hooked calls, programs that close or dup2 over the shim's socket, environments stripped
 * of LD_PRELOAD, and another preloaded library next to the shim.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { startTestCollector, type StoredLine } from "../support/collector.ts";
import {
  compileC,
  eventsOf,
  payloadOf,
  runUnderShim,
  shimLibrary,
  waitForShimEvents,
} from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";
import {
  ALTSTACK_SOURCE,
  FD_REUSE_SOURCE,
  OTHER_PRELOAD_SOURCE,
  SIGNALS_SOURCE,
  TAKEOVER_SOURCE,
  THREADS_SOURCE,
} from "./programs.ts";

function pathsOf(events: Record<string, unknown>[]): string[] {
  return eventsOf(events, "Open").map((e) => String(payloadOf(e).path));
}

Deno.test("a signal handler that opens files during hooked calls neither deadlocks nor corrupts events", async () => {
  const program = await compileC(SIGNALS_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-signals-");
  const dir = temp.path;
  const file = join(dir, "main");
  await Deno.writeTextFile(file, "");
  const result = await runUnderShim([program, file, "20000"], {
    socket: collector.socket,
    session: "signals",
    env: { CONTAINAI_AUDIT_SEND_TIMEOUT_MS: "10000" },
  });
  assertEquals(result.code, 0, result.stderr);
  const handled = Number(result.stdout.trim());
  assert(handled > 0, "the timer fired during the loop");
  const count = (events: StoredLine[], path: string) =>
    pathsOf(events).filter((p) => p === path).length;
  // Handler events sent on their own connection may land after the loop's: wait for both.
  const events = await waitForShimEvents(
    collector,
    "signals",
    (events) => count(events, file) >= 20000 && count(events, "/dev/null") >= handled,
    { timeoutMs: 40_000 },
  );
  const paths = pathsOf(events);
  assertEquals(paths.filter((p) => p === file).length, 20000);
  assertEquals(paths.filter((p) => p === "/dev/null").length, handled);
});

Deno.test("an open in a signal handler on a small alternate stack needs at most 1.5 KiB more under the shim", async () => {
  const program = await compileC(ALTSTACK_SOURCE);
  // The smallest alternate stack the handler needs without the shim depends on the CPU (the
  // kernel's signal frame holds the vector registers): find it first.
  let size = 2048;
  while (size < 65536) {
    const plain = await new Deno.Command(program, { args: [String(size)], clearEnv: true })
      .output();
    if (plain.code === 0) break;
    size += 512;
  }
  await using collector = await startTestCollector();
  const result = await runUnderShim([program, String(size + 1536)], {
    socket: collector.socket,
    session: "altstack",
  });
  assertEquals([result.code, result.signal], [0, null], `alternate stack of ${size + 1536} bytes`);
  await waitForShimEvents(collector, "altstack", (e) => pathsOf(e).includes("/dev/null"));
});

Deno.test("close_range and dup2 over the shim's socket put no audit bytes in the program's files", async () => {
  const program = await compileC(FD_REUSE_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-fds-");
  const dir = temp.path;
  const result = await runUnderShim([program, dir], {
    socket: collector.socket,
    session: "fds",
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "fds",
    (events) => pathsOf(events).includes(join(dir, "last")),
  );
  assertEquals(await Deno.readTextFile(join(dir, "victim")), "");
  const paths = pathsOf(events);
  for (const name of ["first", "after-close-range", "victim", "after-dup2", "last"]) {
    assert(paths.includes(join(dir, name)), `${name} was reported`);
  }
});

/**
 * Runs the takeover program in `mode` under the shim and returns what it printed, once the
 * collector has its open made after the takeover (the shim got a connection of its own again).
 */
async function takeOverShimDescriptor(mode: string): Promise<string> {
  const program = await compileC(TAKEOVER_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-takeover-");
  const session = `takeover-${mode}`;
  const result = await runUnderShim([program, mode, temp.path], {
    socket: collector.socket,
    session,
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    session,
    (events) => pathsOf(events).includes(join(temp.path, "after")),
  );
  assert(pathsOf(events).includes(join(temp.path, "first")));
  return result.stdout.trim();
}

Deno.test("a socket of the program dup2()ed over the shim's descriptor receives no audit bytes", async () => {
  assertEquals(await takeOverShimDescriptor("socket"), "0", "bytes the program's socket received");
});

Deno.test("a descriptor of the program with the shim's connection flags, put on its number, is left alone", async () => {
  const replaced = await takeOverShimDescriptor("marked-eventfd");
  assertEquals(replaced, "0", "descriptors from 900 up no longer the program's");
});

Deno.test("env -i gets LD_PRELOAD and CONTAINAI_* put back, so its children stay audited", async () => {
  await using collector = await startTestCollector();
  const result = await runUnderShim(["env", "-i", "/bin/sh", "-c", "cat /etc/hostname"], {
    socket: collector.socket,
    session: "env-i",
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "env-i",
    (events) => eventsOf(events, "Exec").some((e) => (payloadOf(e).argv as string[])[0] === "cat"),
  );
  const sh = eventsOf(events, "Exec").find((e) => payloadOf(e).path === "/bin/sh")!;
  const env = payloadOf(sh).env as string[];
  assertEquals(env.filter((v) => v.startsWith("LD_PRELOAD=")), [
    `LD_PRELOAD=${await shimLibrary()}`,
  ]);
  assert(env.includes(`CONTAINAI_AUDIT_SOCKET=${collector.socket}`));
  assert(env.includes("CONTAINAI_SESSION_ID=env-i"));
  // The cat exec is reported by the shell, which only runs the shim because it was put back.
  const cat = eventsOf(events, "Exec").find((e) => (payloadOf(e).argv as string[])[0] === "cat")!;
  assert((cat.process as { pid: number }).pid !== (sh.process as { pid: number }).pid);
});

/** `append_preload VALUE CMD`: execs `/bin/sh -c CMD` with a copy of environ plus `LD_PRELOAD=VALUE`. */
const APPEND_PRELOAD_SOURCE = `
#include <stdio.h>
#include <string.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
  static char *env[4096];
  static char entry[4096];
  int n = 0;
  for (char **e = environ; *e && n < 4000; e++) env[n++] = *e;
  snprintf(entry, sizeof entry, "LD_PRELOAD=%s", argv[1]);
  env[n++] = entry;
  env[n] = NULL;
  char *args[] = {"sh", "-c", argv[2], NULL};
  execve("/bin/sh", args, env);
  return 127;
}
`;

Deno.test("an LD_PRELOAD entry appended after the shim's gets the shim put in front of it", async () => {
  // The dynamic loader uses the last LD_PRELOAD entry of the environment, not the first.
  const program = await compileC(APPEND_PRELOAD_SOURCE);
  await using collector = await startTestCollector();
  const probe =
    'grep -q libauditshim /proc/$$/maps && echo audited || echo unaudited; echo "$LD_PRELOAD"';
  const result = await runUnderShim([program, "libm.so.6", probe], {
    socket: collector.socket,
    session: "dup-preload",
  });
  assertEquals(result.code, 0, result.stderr);
  assertEquals(
    result.stdout,
    `audited\n${await shimLibrary()}:libm.so.6\n`,
  );
});

Deno.test("an LD_PRELOAD naming another file whose name contains the shim's path gets the shim", async () => {
  const program = await compileC(APPEND_PRELOAD_SOURCE);
  await using collector = await startTestCollector();
  const so = await shimLibrary();
  const probe = "grep -q libauditshim /proc/$$/maps && echo audited || echo unaudited";
  // The loader cannot open `${so}.old` and says so on stderr; the shim must still be there.
  const result = await runUnderShim([program, `${so}.old`, probe], {
    socket: collector.socket,
    session: "longer-preload",
  });
  assertEquals([result.code, result.stdout], [0, "audited\n"], result.stderr);
});

Deno.test("unsetenv LD_PRELOAD then system() still audits the shell's children", async () => {
  await using collector = await startTestCollector();
  const script = "import os\ndel os.environ['LD_PRELOAD']\nos.system('cat /etc/hostname')\n";
  const result = await runUnderShim(["python3", "-c", script], {
    socket: collector.socket,
    session: "unsetenv",
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "unsetenv",
    (events) => eventsOf(events, "Exec").some((e) => (payloadOf(e).argv as string[])[0] === "cat"),
  );
  const system = eventsOf(events, "Exec", "system")[0];
  assert(system, "system() is reported");
  assert((payloadOf(system).env as string[]).some((v) => v.startsWith("LD_PRELOAD=")));
});

Deno.test("another preloaded library hooking open keeps working beside the shim, in either order", async () => {
  const other = await compileC(OTHER_PRELOAD_SOURCE, { args: ["-shared", "-fPIC", "-ldl"] });
  const program = await compileC(THREADS_SOURCE, { args: ["-pthread"] });
  const shim = await shimLibrary();
  await using temp = await tempDir("shim-other-");
  const dir = temp.path;
  const file = join(dir, "target");
  await Deno.writeTextFile(file, "");
  for (const [index, preload] of [`${other}:${shim}`, `${shim}:${other}`].entries()) {
    await using collector = await startTestCollector();
    const session = `other-${index}`;
    const count = join(dir, `count-${index}`);
    const result = await runUnderShim([program, file, "1", "10"], {
      socket: collector.socket,
      session,
      env: { LD_PRELOAD: preload, OTHER_PRELOAD_COUNT: count },
    });
    assertEquals(result.code, 0, result.stderr);
    const events = await waitForShimEvents(
      collector,
      session,
      (events) => pathsOf(events).filter((p) => p === file).length >= 10,
    );
    assertEquals(pathsOf(events).filter((p) => p === file).length, 10, preload);
    assertEquals((await Deno.readTextFile(count)).trim(), "10", preload);
  }
});

// The shim finds the real functions by reading the GNU hash tables of the objects after it, and
// leaves to dlsym(RTLD_NEXT) whatever it cannot read that way: an object with only a SysV hash
// table must still be searched in its place in the order.
Deno.test("a library preloaded after the shim with only a SysV hash table still gets the shim's opens", async () => {
  const other = await compileC(OTHER_PRELOAD_SOURCE, {
    args: ["-shared", "-fPIC", "-ldl", "-Wl,--hash-style=sysv"],
  });
  const program = await compileC(THREADS_SOURCE, { args: ["-pthread"] });
  const shim = await shimLibrary();
  await using temp = await tempDir("shim-sysv-");
  const file = join(temp.path, "target");
  await Deno.writeTextFile(file, "");
  await using collector = await startTestCollector();
  const count = join(temp.path, "count");
  const result = await runUnderShim([program, file, "1", "10"], {
    socket: collector.socket,
    session: "sysv",
    env: { LD_PRELOAD: `${shim}:${other}`, OTHER_PRELOAD_COUNT: count },
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "sysv",
    (events) => pathsOf(events).filter((p) => p === file).length >= 10,
  );
  assertEquals(pathsOf(events).filter((p) => p === file).length, 10);
  assertEquals((await Deno.readTextFile(count)).trim(), "10");
});
