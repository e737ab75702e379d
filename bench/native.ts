/**
 * The benchmark's C helpers (bench/c/), compiled with `zig cc` from the pinned
 * Zig into a directory the caller owns.
 *
 * @module
 */
import { runText } from "./command.ts";
import { findZig } from "../toolchain/mod.ts";

const SOURCES = new URL("c/", import.meta.url);

/**
 * Compiles `bench/c/<name>.c` into `<outDir>/<name>` (-O2, glibc, dynamically
 * linked so that LD_PRELOAD libraries apply) and returns the executable's path.
 *
 * @example
 * ```ts
 * import { compileHelper } from "./native.ts";
 * const sink = await compileHelper("sink", { outDir: await Deno.makeTempDir() });
 * ```
 */
export async function compileHelper(name: string, options: { outDir: string }): Promise<string> {
  const zig = await findZig();
  const output = `${options.outDir}/${name}`;
  const result = await runText(zig.program, {
    args: [
      ...zig.prefix,
      "cc",
      "-O2",
      "-target",
      "x86_64-linux-gnu",
      "-o",
      output,
      new URL(`${name}.c`, SOURCES).pathname,
    ],
  });
  if (!result.success) {
    throw new Error(`zig cc could not compile bench/c/${name}.c:\n${result.stderr.trim()}`);
  }
  return output;
}
