/**
 * Which libauditshim.so a run injects.
 *
 * @module
 */
import { buildShim, SHIM_LIBRARY_PATH } from "../toolchain/mod.ts";

/** Where the container image installs the shim. */
export const INSTALLED_SHIM = "/usr/lib/libauditshim.so";

const SHIM_SOURCES = new URL("../shim/", import.meta.url).pathname;

function modified(path: string): number | null {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? null;
  } catch {
    return null;
  }
}

function newestSource(directory: string): number {
  let newest = 0;
  for (const entry of Deno.readDirSync(directory)) {
    if (entry.name === "zig-out" || entry.name.startsWith(".")) continue;
    const path = `${directory}/${entry.name}`;
    const time = entry.isDirectory ? newestSource(path) : modified(path) ?? 0;
    newest = Math.max(newest, time);
  }
  return newest;
}

/** Options of {@linkcode resolveShim}. */
export interface ResolveShimOptions {
  /** An explicit --shim path; it must exist. */
  explicit?: string;
  /** The installed location to prefer; default /usr/lib/libauditshim.so. */
  installed?: string;
  /** Called before a build starts (it takes a while the first time). */
  onBuild?: () => void;
}

/**
 * The shim to inject: the explicit path, else the installed one (container),
 * else the project's build, built first when missing or older than its sources.
 *
 * @example
 * ```ts
 * import { resolveShim } from "./shim_path.ts";
 * const shim = await resolveShim();
 * ```
 */
export async function resolveShim(options: ResolveShimOptions = {}): Promise<string> {
  if (options.explicit !== undefined) {
    const path = options.explicit.startsWith("/")
      ? options.explicit
      : `${Deno.cwd()}/${options.explicit}`;
    if (modified(path) === null) {
      throw new Error(`--shim ${options.explicit} does not exist (build it with ./task build)`);
    }
    return path;
  }
  const installed = options.installed ?? INSTALLED_SHIM;
  if (modified(installed) !== null) return installed;
  const built = modified(SHIM_LIBRARY_PATH);
  if (built !== null && built >= newestSource(SHIM_SOURCES)) return SHIM_LIBRARY_PATH;
  options.onBuild?.();
  return await buildShim({ quiet: true });
}
