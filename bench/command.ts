/**
 * Small helpers for running helper programs and reporting their failures.
 *
 * @module
 */

/** The outcome of {@linkcode runText}. */
export interface TextOutput {
  success: boolean;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to completion and returns its exit status and decoded output.
 *
 * @example
 * ```ts
 * import { runText } from "./command.ts";
 * const { stdout } = await runText("uname", { args: ["-r"] });
 * ```
 */
export async function runText(
  program: string,
  options: { args?: string[]; env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<TextOutput> {
  const child = new Deno.Command(program, {
    args: options.args ?? [],
    env: options.env,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    success: out.success,
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/**
 * Runs a program and returns its trimmed stdout, or undefined when it cannot run or fails.
 *
 * @example
 * ```ts
 * import { outputOf } from "./command.ts";
 * const kernel = await outputOf("uname", ["-r"]);
 * ```
 */
export async function outputOf(program: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await runText(program, { args });
    return out.success ? out.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @example
 * ```ts
 * import { sleep } from "./command.ts";
 * await sleep(10);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `ready` resolves true, polling every few milliseconds, or throws after `timeoutMs`.
 *
 * @example
 * ```ts
 * import { waitFor } from "./command.ts";
 * await waitFor(() => Promise.resolve(true), { timeoutMs: 1000, what: "nothing" });
 * ```
 */
export async function waitFor(
  ready: () => Promise<boolean>,
  options: { timeoutMs: number; what: string; intervalMs?: number },
): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  while (!(await ready())) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    }
    await sleep(options.intervalMs ?? 10);
  }
}
