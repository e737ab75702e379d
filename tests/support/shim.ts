/**
 * Test support for the audit shim: the built library, small C programs compiled with `zig cc`,
 * and running programs under the shim against a collector.
 *
 * @example
 * ```ts
 * import { compileC, runUnderShim, shimLibrary } from "./tests/support/shim.ts";
 * const so = await shimLibrary();
 * const program = await compileC(`int main(void) { return 0; }`);
 * const result = await runUnderShim([program], { socket: "/tmp/audit.sock", session: "s1" });
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { buildShim, findZig } from "../../toolchain/mod.ts";
import { validateEvent } from "../../protocol/mod.ts";
import { readJsonLines, type StoredLine, type TestCollector } from "./collector.ts";

export type { StoredLine, TestCollector };

let built: Promise<string> | undefined;

/**
 * Builds libauditshim.so once per test process (ReleaseFast, as shipped) and returns its
 * absolute path. `SHIM_TEST_LIBRARY=/path/libauditshim.so` runs the tests against another build
 * instead (e.g. `zig build -Doptimize=Debug -p /tmp/shim-debug`: safety checks on).
 *
 * @example
 * ```ts
 * import { shimLibrary } from "./tests/support/shim.ts";
 * const so = await shimLibrary();
 * ```
 */
export function shimLibrary(): Promise<string> {
  const override = Deno.env.get("SHIM_TEST_LIBRARY");
  if (override) return Promise.resolve(override);
  built ??= buildShim({ quiet: true });
  return built;
}

const compiled = new Map<string, Promise<string>>();
let compileDir: Promise<string> | undefined;

/** Options of {@linkcode compileC}. */
export interface CompileOptions {
  /** Extra compiler arguments, e.g. ["-pthread", "-D_FORTIFY_SOURCE=2", "-O2"]. */
  args?: string[];
  /** Zig target triple of a cross build (e.g. `aarch64-linux-gnu.2.34`); default this machine. */
  target?: string;
}

/**
 * Compiles one C source file with `zig cc` (dynamically linked against the system glibc) and
 * returns the executable's path. Identical sources are compiled once per test process; the
 * programs live in one temp dir removed when the process exits.
 *
 * @example
 * ```ts
 * import { compileC } from "./tests/support/shim.ts";
 * const exe = await compileC(`#include <stdio.h>\nint main(void) { puts("hi"); return 0; }`);
 * ```
 */
export function compileC(source: string, options: CompileOptions = {}): Promise<string> {
  const args = options.args ?? [];
  const target = options.target ?? "native-native-gnu";
  const key = JSON.stringify([source, args, target]);
  let program = compiled.get(key);
  if (program === undefined) {
    program = compile(source, args, target);
    compiled.set(key, program);
  }
  return program;
}

async function compile(source: string, args: string[], target: string): Promise<string> {
  compileDir ??= Deno.makeTempDir({ prefix: "shim-test-c-" }).then((dir) => {
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // Already gone.
      }
    });
    return dir;
  });
  const dir = await compileDir;
  const name = `prog${compiled.size}_${crypto.randomUUID().slice(0, 8)}`;
  const file = join(dir, `${name}.c`);
  const exe = join(dir, name);
  await Deno.writeTextFile(file, source);
  const zig = await findZig();
  // The host's glibc headers and libraries: the programs must be ordinary dynamic binaries of
  // this system, like the ones the shim is preloaded into.
  const out = await new Deno.Command(zig.program, {
    args: [...zig.prefix, "cc", "-target", target, "-o", exe, file, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`zig cc failed for ${file}:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return exe;
}

/** Options of {@linkcode shimEnv} and {@linkcode runUnderShim}. */
export interface ShimRunOptions {
  /** The collector socket (CONTAINAI_AUDIT_SOCKET). */
  socket: string;
  /** The session id (CONTAINAI_SESSION_ID). */
  session: string;
  /** Agent name; default "shim-test". */
  agent?: string;
  /** Further environment variables (they win over the defaults). */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Bytes for the program's stdin. */
  stdin?: Uint8Array;
}

/**
 * The environment that injects the shim: LD_PRELOAD plus the CONTAINAI_* variables, on top of
 * PATH and HOME only (tests see exactly what they set).
 *
 * @example
 * ```ts
 * import { shimEnv } from "./tests/support/shim.ts";
 * const env = await shimEnv({ socket: "/tmp/a.sock", session: "s1" });
 * ```
 */
export async function shimEnv(options: ShimRunOptions): Promise<Record<string, string>> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    LD_PRELOAD: await shimLibrary(),
    CONTAINAI_AUDIT_SOCKET: options.socket,
    CONTAINAI_SESSION_ID: options.session,
    CONTAINAI_AGENT: options.agent ?? "shim-test",
    ...options.env,
  };
}

/** What a program run under the shim did. */
export interface RunResult {
  /** The exit code, as Deno.CommandOutput reports it. */
  code: number;
  /** The signal that killed the program, else null. */
  signal: Deno.Signal | null;
  /** What the program printed on stdout. */
  stdout: string;
  /** What the program printed on stderr. */
  stderr: string;
}

/**
 * Runs `command` with the shim preloaded and returns its exit status and output.
 *
 * @example
 * ```ts
 * import { runUnderShim } from "./tests/support/shim.ts";
 * const result = await runUnderShim(["ls", "/"], { socket: "/tmp/a.sock", session: "s1" });
 * ```
 */
export async function runUnderShim(
  command: string[],
  options: ShimRunOptions,
): Promise<RunResult> {
  const [program, ...args] = command;
  const child = new Deno.Command(program, {
    args,
    env: await shimEnv(options),
    clearEnv: true,
    cwd: options.cwd,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    signal: out.signal,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/**
 * Throws unless every stored event passes the protocol's validateEvent (after removing the two
 * fields the collector adds) and came from the shim.
 *
 * @example
 * ```ts
 * import { assertValidShimEvents } from "./tests/support/shim.ts";
 * assertValidShimEvents([]);
 * ```
 */
export function assertValidShimEvents(events: StoredLine[]): void {
  for (const stored of events) {
    const { received_at: _received, session_seq: _seq, ...event } = stored;
    const result = validateEvent(event);
    if (!result.ok) {
      throw new Error(
        `invalid event ${JSON.stringify(event)}: ${JSON.stringify(result.issues)}`,
      );
    }
  }
}

/** The payload of a stored event, typed loosely for assertions. */
export type Payload = Record<string, unknown>;

/**
 * Events of one type (and optionally one `call`), in session order.
 *
 * @example
 * ```ts
 * import { eventsOf } from "./tests/support/shim.ts";
 * const execs = eventsOf([], "Exec", "execve");
 * ```
 */
export function eventsOf(events: StoredLine[], type: string, call?: string): StoredLine[] {
  return events.filter((event) =>
    event.event_type === type &&
    (call === undefined || (event.payload as Payload).call === call)
  );
}

/**
 * The payload of event `event`.
 *
 * @example
 * ```ts
 * import { payloadOf } from "./tests/support/shim.ts";
 * const payload = payloadOf({ payload: { call: "open" } });
 * ```
 */
export function payloadOf(event: StoredLine): Payload {
  return event.payload as Payload;
}

/**
 * Throws an error that says how to install `program` when it is not on PATH (strace, gcc, git,
 * node and python3 are tools the shim tests run under the shim).
 *
 * @example
 * ```ts
 * import { requireProgram } from "./tests/support/shim.ts";
 * requireProgram("strace", "apt-get install strace");
 * ```
 */
export function requireProgram(program: string, install: string): void {
  const dirs = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":");
  for (const dir of dirs) {
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return;
    } catch {
      // Not in this directory.
    }
  }
  throw new Error(`${program} is not installed; the shim tests need it: ${install}`);
}

/**
 * Throws when the collector rejected any line (`<logDir>/rejected.jsonl` is not empty): every
 * line the shim sends must be a valid protocol-v1 event.
 *
 * @example
 * ```ts
 * import { assertNothingRejected } from "./tests/support/shim.ts";
 * await assertNothingRejected("/tmp/collector-test/logs");
 * ```
 */
export async function assertNothingRejected(logDir: string): Promise<void> {
  const rejected = await readJsonLines(join(logDir, "rejected.jsonl"));
  if (rejected.length > 0) {
    throw new Error(`the collector rejected ${rejected.length} lines: ${JSON.stringify(rejected)}`);
  }
}

/**
 * Waits until the session's stored events satisfy `predicate` (as
 * {@linkcode TestCollector.waitForEvents}), then throws unless every event is a valid protocol-v1
 * Shim event and the collector rejected no line; returns the events.
 *
 * @example
 * ```ts
 * import { startTestCollector } from "./tests/support/collector.ts";
 * import { waitForShimEvents } from "./tests/support/shim.ts";
 * await using collector = await startTestCollector();
 * // ... a program runs under the shim with session "s1" ...
 * const events = await waitForShimEvents(collector, "s1", (events) => events.length >= 1);
 * ```
 */
export async function waitForShimEvents(
  collector: TestCollector,
  session: string,
  predicate: (events: StoredLine[]) => boolean,
  options: { timeoutMs?: number } = {},
): Promise<StoredLine[]> {
  const events = await collector.waitForEvents(session, predicate, options.timeoutMs);
  assertValidShimEvents(events);
  await assertNothingRejected(collector.logDir);
  return events;
}
