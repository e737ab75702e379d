/**
 * Drives the real `main.ts run` in a subprocess with the permission flags of
 * deno.json's `run` task, so the tests also prove that permission set works.
 *
 * @module
 */
import { shimLibrary } from "../support/shim.ts";

const ROOT = new URL("../../", import.meta.url);
const MAIN = new URL("main.ts", ROOT).pathname;

/** The flags between `deno run` and `main.ts` in deno.json's `run` task. */
export function runTaskFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const words = String(config.tasks.run).split(/\s+/);
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
}

/** The shim the tests inject: the project's build, built once per test process. */
export function testShim(): Promise<string> {
  return shimLibrary();
}

/**
 * The flags that point the runner at a test collector and the project's shim, for session
 * `session`: `--socket S --log-dir L --session ID --shim SO`.
 */
export async function collectorFlags(
  collector: { socket: string; logDir: string },
  session: string,
): Promise<string[]> {
  const flags = ["--socket", collector.socket, "--log-dir", collector.logDir];
  return [...flags, "--session", session, "--shim", await testShim()];
}

/** The environment of the runner under test: the test's own, minus the audit variables. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of Object.keys(env)) {
    if (name.startsWith("CONTAINAI_") || name === "LD_PRELOAD") delete env[name];
  }
  return { ...env, ...extra };
}

/** Starts `main.ts run ARGS` with piped stdio. */
export function spawnRunner(
  args: string[],
  options: { env?: Record<string, string>; stdin?: "piped" | "null" } = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...runTaskFlags(), MAIN, "run", ...args],
    env: options.env ?? baseEnv(),
    clearEnv: true,
    stdin: options.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** What a finished runner printed and returned. */
export interface RunnerOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main.ts run ARGS` to its end. */
export async function runRunner(
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<RunnerOutput> {
  const output = await spawnRunner(args, options).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Reads a child's stdout until `marker` shows up; returns everything read. */
export async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  marker: string,
  timeoutMs = 10_000,
): Promise<string> {
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (!text.includes(marker)) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no "${marker}" within ${timeoutMs} ms; got: ${text}`)),
        Math.max(deadline - Date.now(), 0),
      );
    });
    const chunk = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
    if (chunk.done) throw new Error(`output ended before "${marker}"; got: ${text}`);
    text += chunk.value;
  }
  return text;
}
