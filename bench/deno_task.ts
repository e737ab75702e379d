/**
 * The exact `deno` arguments of a task in deno.json, so the benchmark starts
 * the collector and the runner with the permissions their tasks give them.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);

/**
 * The arguments `deno task NAME` passes to deno (after the program name),
 * with relative module paths made absolute.
 *
 * @example
 * ```ts
 * import { taskArgs } from "./deno_task.ts";
 * const args = await taskArgs("collect"); // ["run", "--allow-env", ..., "/.../main.ts", "collect"]
 * ```
 */
export async function taskArgs(name: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const line = config.tasks?.[name];
  if (typeof line !== "string" || !line.startsWith("deno ")) {
    throw new Error(`deno.json has no task "${name}" of the form "deno run ..."; restore it`);
  }
  return line.split(/\s+/).slice(1).map((arg) =>
    arg.endsWith(".ts") && !arg.startsWith("-") ? new URL(arg, ROOT).pathname : arg
  );
}

/** The repository root, as an absolute path ending in "/". */
export const REPO_ROOT: string = ROOT.pathname;
