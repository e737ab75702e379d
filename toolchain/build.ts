/**
 * Builds the shim (`shim/zig-out/lib/libauditshim.so`) with the pinned Zig.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { findZig } from "./zig.ts";

const SHIM_DIR = new URL("../shim/", import.meta.url);

/** Absolute path of the built shim library. */
export const SHIM_LIBRARY_PATH: string = new URL("zig-out/lib/libauditshim.so", SHIM_DIR).pathname;

/**
 * Builds libauditshim.so and returns its absolute path.
 *
 * @example
 * ```ts
 * import { buildShim } from "./build.ts";
 * const so = await buildShim();
 * ```
 */
export async function buildShim(
  options: { optimize?: string; quiet?: boolean } = {},
): Promise<string> {
  const zig = await findZig();
  const out = await new Deno.Command(zig.program, {
    args: [...zig.prefix, "build", `-Doptimize=${options.optimize ?? "ReleaseFast"}`],
    cwd: SHIM_DIR.pathname,
    stdout: options.quiet ? "null" : "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("zig build failed in shim/ (see the compiler output above)");
  return SHIM_LIBRARY_PATH;
}

const HELP = `usage: main.ts build [--optimize MODE]

Builds shim/zig-out/lib/libauditshim.so with the pinned Zig (fetched from PyPI
into .tools/zig on first use; ZIG or a zig on PATH take precedence).
  --optimize MODE   Debug, ReleaseSafe, ReleaseFast (default) or ReleaseSmall`;

/** Runs `build`; returns the exit code. */
export async function buildCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { optimize: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  try {
    console.log(await buildShim({ optimize: values.optimize }));
    return 0;
  } catch (error) {
    console.error(`build: ${(error as Error).message}`);
    return 1;
  }
}
