/**
 * Counting system calls with `strace -f -c`: a measure of the work a hook adds
 * that, unlike time, does not depend on other load on the machine.
 *
 * @module
 */
import { runText } from "./command.ts";

/** A command to count: program, arguments and added environment. */
export interface CountedCommand {
  program: string;
  args: string[];
  env?: Record<string, string>;
}

/**
 * Reads the total number of calls from `strace -c` output.
 *
 * @example
 * ```ts
 * import { parseStraceTotal } from "./syscalls.ts";
 * parseStraceTotal("------\n100.00    0.000010           0       250         3 total\n"); // 250
 * ```
 */
export function parseStraceTotal(summary: string): number {
  const total = summary.trim().split("\n").findLast((line) => /\btotal$/.test(line.trim()));
  const calls = Number(total?.trim().split(/\s+/)[3]);
  if (!Number.isInteger(calls)) throw new Error(`no total in strace's summary:\n${summary}`);
  return calls;
}

/** Whether strace can run here (it needs ptrace, which some sandboxes forbid). */
export async function straceAvailable(): Promise<boolean> {
  try {
    return (await runText("strace", { args: ["-f", "-c", "-o", "/dev/null", "true"] })).success;
  } catch {
    return false;
  }
}

/**
 * System calls per iteration of a loop: counts the calls of the whole process
 * tree at two loop sizes and divides the difference, so start-up cancels out.
 *
 * @example
 * ```ts
 * import { syscallsPerIteration } from "./syscalls.ts";
 * const perExec = await syscallsPerIteration(
 *   (n) => ({ program: "bash", args: ["-c", `for ((i=0;i<${n};i++)); do /bin/true; done`] }),
 *   { small: 10, large: 30, workDir: "/tmp" },
 * );
 * ```
 */
export async function syscallsPerIteration(
  command: (iterations: number) => CountedCommand,
  options: { small: number; large: number; workDir: string },
): Promise<number> {
  const count = async (iterations: number): Promise<number> => {
    const { program, args, env } = command(iterations);
    const output = `${options.workDir}/strace-${iterations}.txt`;
    const out = await runText("strace", {
      args: ["-f", "-c", "-o", output, "--", program, ...args],
      env,
    });
    if (!out.success) throw new Error(`strace ${program} failed: ${out.stderr.trim()}`);
    return parseStraceTotal(await Deno.readTextFile(output));
  };
  const small = await count(options.small);
  const large = await count(options.large);
  return (large - small) / (options.large - options.small);
}
