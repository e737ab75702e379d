/**
 * Where a command name resolves, the way execvp finds it.
 *
 * @module
 */
import { resolve } from "node:path";

/**
 * The absolute path `name` would run from: as given (made absolute) when it
 * holds a "/", else the first executable regular file in `searchPath`.
 * Returns null when nothing matches.
 *
 * @example
 * ```ts
 * import { resolveProgram } from "./program_path.ts";
 * console.log(resolveProgram("sh", { searchPath: "/usr/bin:/bin" })); // "/usr/bin/sh"
 * ```
 */
export function resolveProgram(
  name: string,
  options: { searchPath?: string; cwd?: string } = {},
): string | null {
  const cwd = options.cwd ?? Deno.cwd();
  if (name.includes("/")) return resolve(cwd, name);
  if (name.length === 0) return null;
  const searchPath = options.searchPath ?? "/usr/local/bin:/usr/bin:/bin";
  for (const entry of searchPath.split(":")) {
    const directory = entry === "" ? cwd : entry;
    const candidate = `${directory}/${name}`;
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && info.mode !== null && (info.mode & 0o111) !== 0) {
        return resolve(cwd, candidate);
      }
    } catch {
      // Not in this directory; keep searching like execvp does.
    }
  }
  return null;
}
