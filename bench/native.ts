/**
 * The benchmark's C helpers (bench/c/), compiled with `zig cc` from the pinned
 * Zig into a directory the caller owns.
 *
 * @module
 */
import { runText } from "./command.ts";
import { findZig } from "../toolchain/mod.ts";

const SOURCES = new URL("c/", import.meta.url);

/** Options of {@linkcode compileHelper}. */
export interface CompileHelperOptions {
  /** Directory the output goes to. */
  outDir: string;
  /** Build a shared library `<name>.so` (for LD_PRELOAD) instead of an executable. */
  shared?: boolean;
}

/**
 * Compiles `bench/c/<name>.c` into `<outDir>/<name>` (-O2, glibc, dynamically
 * linked so that LD_PRELOAD libraries apply) and returns the executable's path;
 * with `shared`, into the preloadable library `<outDir>/<name>.so`.
 *
 * @example
 * ```ts
 * import { compileHelper } from "./native.ts";
 * const sink = await compileHelper("sink", { outDir: await Deno.makeTempDir() });
 * ```
 */
export async function compileHelper(name: string, options: CompileHelperOptions): Promise<string> {
  const zig = await findZig();
  const output = `${options.outDir}/${name}${options.shared ? ".so" : ""}`;
  const result = await runText(zig.program, {
    args: [
      ...zig.prefix,
      "cc",
      "-O2",
      // Bound at load, like the shim (-z now): a lazily bound import is looked up and its GOT
      // entry written (a copy-on-write fault) again in every fork child that calls it.
      ...(options.shared ? ["-shared", "-fPIC", "-Wl,-z,now"] : []),
      "-target",
      // A preloaded helper built for glibc before 2.34 would also load libpthread.so.0 (zig's
      // stubs take __errno_location from there) into every process, a cost that is not its own.
      options.shared ? "x86_64-linux-gnu.2.34" : "x86_64-linux-gnu",
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
