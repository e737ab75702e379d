/**
 * Starts the audited command with the terminal passed through, forwards
 * SIGINT/SIGTERM/SIGHUP to it, and reports how it ended.
 *
 * @module
 */
import { SignalRelay } from "./signal_relay.ts";
import { signalNumber } from "./signals.ts";

/** How the command ended. */
export type ChildEnd =
  | { started: true; pid: number; exitCode: number; signal?: number; durationMs: number }
  | { started: false; errno: number; exitCode: number; message: string };

/** Options of {@linkcode runChild}. */
export interface RunChildOptions {
  /** The complete environment of the child. */
  env: Record<string, string>;
  /** The run's signal relay; default one for the child's lifetime only. */
  relay?: SignalRelay;
}

const SPAWN_ERRNO: ReadonlyArray<[new (...args: never[]) => Error, number]> = [
  [Deno.errors.NotFound, 2],
  [Deno.errors.PermissionDenied, 13],
  [Deno.errors.IsADirectory, 21],
];

/**
 * Runs `command` to its end. stdin, stdout and stderr are inherited so
 * interactive programs work. Exit code follows the shell convention: the
 * child's code, 128+N when killed by signal N, 127 when the program is
 * missing, 126 when it cannot be executed.
 *
 * @example
 * ```ts
 * import { runChild } from "./child.ts";
 * const end = await runChild(["sh", "-c", "exit 3"], { env: Deno.env.toObject() });
 * console.log(end.exitCode); // 3
 * ```
 */
export async function runChild(
  command: readonly string[],
  options: RunChildOptions,
): Promise<ChildEnd> {
  using ownRelay = options.relay === undefined ? new SignalRelay() : undefined;
  const relay = options.relay ?? ownRelay as SignalRelay;
  try {
    const started = performance.now();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(command[0], {
        args: command.slice(1),
        env: options.env,
        clearEnv: true,
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      return spawnFailure(command[0], error);
    }
    relay.attach(child);
    const status = await child.status;
    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    if (status.signal !== null) {
      const number = signalNumber(status.signal);
      return { started: true, pid: child.pid, exitCode: 128 + number, signal: number, durationMs };
    }
    return { started: true, pid: child.pid, exitCode: status.code, durationMs };
  } finally {
    relay.detach();
  }
}

function spawnFailure(program: string, error: unknown): ChildEnd {
  const message = error instanceof Error ? error.message : String(error);
  const known = SPAWN_ERRNO.find(([type]) => error instanceof type);
  const errno = known?.[1] ?? 8;
  const hint = errno === 2 ? " (check the name or PATH)" : "";
  return {
    started: false,
    errno,
    exitCode: errno === 2 ? 127 : 126,
    message: `cannot start ${program}: ${message}${hint}`,
  };
}
