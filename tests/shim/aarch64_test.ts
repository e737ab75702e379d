/**
 * The shim cross-built for aarch64 Linux, preloaded into aarch64 programs run by qemu-user
 * (qemu-aarch64 with Debian's libc6-arm64-cross; .ci/setup_host installs both), reporting to a
 * real collector on this machine. These cover what differs on aarch64: Zig has no C va_list
 * there, so the variadic hooks read their arguments by the ABI (shim/src/varargs.zig).
 */
import assert from "node:assert/strict";
import { buildShim } from "../../toolchain/mod.ts";
import { startTestCollector, type StoredLine, type TestCollector } from "../support/collector.ts";
import { compileC } from "../support/shim.ts";
import { CALLS_SOURCE } from "./programs.ts";

const TARGET = "aarch64-linux-gnu.2.34";
const SYSROOT = "/usr/aarch64-linux-gnu";
const QEMU = "qemu-aarch64";

let library: Promise<string> | undefined;

/** The aarch64 library, built once per test process into a temp prefix. */
function aarch64Shim(): Promise<string> {
  library ??= (async () => {
    const prefix = await Deno.makeTempDir({ prefix: "shim-aarch64-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(prefix, { recursive: true }));
    return await buildShim({ target: TARGET, prefix, quiet: true });
  })();
  return library;
}

async function requireEmulator(): Promise<void> {
  const found = await new Deno.Command("sh", { args: ["-c", `command -v ${QEMU}`] }).output();
  const sysroot = await Deno.stat(`${SYSROOT}/lib/libc.so.6`).catch(() => undefined);
  if (!found.success || sysroot === undefined) {
    throw new Error(
      `the aarch64 tests need ${QEMU} and ${SYSROOT}: apt-get install qemu-user ` +
        "libc6-arm64-cross (.ci/setup_host installs them)",
    );
  }
}

/** Runs an aarch64 program with qemu-user and `env` added; returns its exit code and stdout. */
async function qemu(
  program: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(QEMU, {
    args: [
      "-L",
      SYSROOT,
      ...Object.entries(env).flatMap(([key, value]) => ["-E", `${key}=${value}`]),
      program,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

function shimEnvFor(
  shim: string,
  collector: TestCollector,
  session: string,
): Record<string, string> {
  return {
    LD_PRELOAD: shim,
    CONTAINAI_AUDIT_SOCKET: collector.socket,
    CONTAINAI_SESSION_ID: session,
  };
}

/** Runs an aarch64 C program under the aarch64 shim; returns its stdout and its events. */
async function runOnAarch64(
  collector: TestCollector,
  source: string,
  options: { session: string; args?: string[]; until: (events: StoredLine[]) => boolean },
): Promise<{ stdout: string; events: StoredLine[] }> {
  await requireEmulator();
  const [shim, program] = await Promise.all([
    aarch64Shim(),
    compileC(source, { target: TARGET }),
  ]);
  const env = shimEnvFor(shim, collector, options.session);
  const out = await qemu(program, options.args ?? [], env);
  assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);
  const events = await collector.waitForEvents(options.session, options.until);
  return { stdout: out.stdout, events };
}

function payloadOf(event: StoredLine): Record<string, unknown> {
  return event.payload as Record<string, unknown>;
}

Deno.test("on aarch64, execl reports arguments passed beyond the eight argument registers", async () => {
  await using collector = await startTestCollector();
  const { stdout, events } = await runOnAarch64(
    collector,
    `#include <errno.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  int rc = execl("/nonexistent/prog", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9",
                 "a10", (char *)NULL);
  printf("rc=%d errno=%d\\n", rc, errno);
  return 0;
}`,
    { session: "a64-execl", until: (stored) => stored.length >= 2 },
  );
  assert.equal(stdout, "rc=-1 errno=2\n");
  const argv = Array.from({ length: 11 }, (_, i) => `a${i}`);
  assert.deepEqual(payloadOf(events[0]).argv, argv);
  assert.deepEqual(payloadOf(events[1]).argv, argv);
  assert.equal(payloadOf(events[1]).errno, 2);
});

Deno.test("on aarch64, execle reports the envp that follows the NULL, audit variables put back", async () => {
  await using collector = await startTestCollector();
  const { stdout, events } = await runOnAarch64(
    collector,
    `#include <errno.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  char *env[] = {"ONLY=1", NULL};
  int rc = execle("/nonexistent/prog", "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7",
                  (char *)NULL, env);
  printf("rc=%d errno=%d\\n", rc, errno);
  return 0;
}`,
    { session: "a64-execle", until: (stored) => stored.length >= 2 },
  );
  assert.equal(stdout, "rc=-1 errno=2\n");
  const exec = payloadOf(events[0]);
  assert.equal(exec.call, "execle");
  assert.deepEqual(exec.argv, ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"]);
  const env = exec.env as string[];
  assert.equal(env[0], "ONLY=1");
  assert.ok(env.some((entry) => entry.startsWith("LD_PRELOAD=")), env.join(" "));
  assert.ok(env.includes("CONTAINAI_SESSION_ID=a64-execle"), env.join(" "));
});

Deno.test("on aarch64, open with O_CREAT reports the mode it creates the file with", async () => {
  await using collector = await startTestCollector();
  const dir = await Deno.makeTempDir({ prefix: "a64-open-" });
  try {
    const { stdout, events } = await runOnAarch64(
      collector,
      `#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
int main(int argc, char **argv) {
  umask(0);
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL, 0640);
  struct stat st;
  fstat(fd, &st);
  printf("mode=%o\\n", st.st_mode & 0777);
  return 0;
}`,
      { session: "a64-open", args: [`${dir}/created`], until: (stored) => stored.length >= 1 },
    );
    assert.equal(stdout, "mode=640\n");
    const open = payloadOf(events[0]);
    assert.equal(open.call, "open");
    assert.equal(open.mode, 0o640);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("on aarch64, open without O_CREAT or O_TMPFILE reports no mode", async () => {
  await using collector = await startTestCollector();
  const { events } = await runOnAarch64(
    collector,
    `#include <fcntl.h>
int main(void) {
  // A value left in the mode's register that must not be read as a mode.
  return openat(AT_FDCWD, "/etc/hostname", O_RDONLY, 0777) < 0;
}`,
    { session: "a64-nomode", until: (stored) => stored.length >= 1 },
  );
  const open = payloadOf(events[0]);
  assert.equal(open.call, "openat");
  assert.equal("mode" in open, false);
});

Deno.test("on aarch64, a fork child reports its exec under its own pid", async () => {
  await using collector = await startTestCollector();
  const { stdout, events } = await runOnAarch64(
    collector,
    `#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
  pid_t child = fork();
  if (child == 0) {
    execl("/nonexistent/child", "child", (char *)NULL);
    _exit(1);
  }
  waitpid(child, NULL, 0);
  printf("child=%d parent=%d\\n", child, getpid());
  return 0;
}`,
    { session: "a64-fork", until: (stored) => stored.length >= 2 },
  );
  const [childPid, parentPid] = [...stdout.matchAll(/=(\d+)/g)].map((match) => Number(match[1]));
  const process = events[0].process as Record<string, number>;
  assert.equal(process.pid, childPid);
  assert.equal(process.ppid, parentPid);
});

Deno.test("on aarch64, every hooked call returns the same result and errno as without the shim", async () => {
  await requireEmulator();
  await using collector = await startTestCollector();
  const [shim, program] = await Promise.all([
    aarch64Shim(),
    compileC(CALLS_SOURCE, { target: TARGET }),
  ]);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })().catch(() => {});
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const port = String((listener.addr as Deno.NetAddr).port);
    const plain = await qemu(program, [dirs[0], port], {});
    const shimmed = await qemu(program, [dirs[1], port], shimEnvFor(shim, collector, "a64-calls"));
    assert.equal(plain.code, 0, plain.stderr);
    assert.ok(plain.stdout.split("\n").length > 35, plain.stdout);
    assert.equal(shimmed.stdout, plain.stdout);
    await collector.waitForEvents("a64-calls", (events) => events.length >= 35);
  } finally {
    listener.close();
    await accepting;
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
});
