/**
 * Builds the shim (`shim/zig-out/lib/libauditshim.so`) with the pinned Zig.
 *
 * @module
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { findZig } from "./zig.ts";

const SHIM_DIR = new URL("../shim/", import.meta.url);

/** Absolute path of the built shim library. */
export const SHIM_LIBRARY_PATH: string = new URL("zig-out/lib/libauditshim.so", SHIM_DIR).pathname;

/** Options of {@linkcode buildShim}. */
export interface BuildShimOptions {
  /** Debug, ReleaseSafe, ReleaseFast (default) or ReleaseSmall. */
  optimize?: string;
  /** Zig target triple for a cross build, e.g. `aarch64-linux-gnu.2.34`; default this machine. */
  target?: string;
  /** Install prefix; the library goes to `<prefix>/lib/`. Default `shim/zig-out`. */
  prefix?: string;
  /** No compiler progress on stdout. */
  quiet?: boolean;
}

/**
 * Builds libauditshim.so and returns its absolute path.
 *
 * @example
 * ```ts
 * import { buildShim } from "./build.ts";
 * const so = await buildShim();
 * const arm = await buildShim({ target: "aarch64-linux-gnu.2.34", prefix: "/tmp/shim-arm64" });
 * ```
 */
export async function buildShim(options: BuildShimOptions = {}): Promise<string> {
  const zig = await findZig();
  const args = [...zig.prefix, "build", `-Doptimize=${options.optimize ?? "ReleaseFast"}`];
  if (options.target !== undefined) args.push(`-Dtarget=${options.target}`);
  // zig runs in shim/: a relative prefix means the caller's directory, not that one.
  const prefix = options.prefix === undefined ? undefined : resolve(options.prefix);
  if (prefix !== undefined) args.push("--prefix", prefix);
  const out = await new Deno.Command(zig.program, {
    args,
    cwd: SHIM_DIR.pathname,
    stdout: options.quiet ? "null" : "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("zig build failed in shim/ (see the compiler output above)");
  return prefix === undefined ? SHIM_LIBRARY_PATH : `${prefix}/lib/libauditshim.so`;
}

const HELP = `usage: main.ts build [--optimize MODE] [--target TRIPLE --prefix DIR]

Builds shim/zig-out/lib/libauditshim.so with the pinned Zig (fetched from PyPI
into .tools/zig on first use; ZIG or a zig on PATH take precedence).
  --optimize MODE   Debug, ReleaseSafe, ReleaseFast (default) or ReleaseSmall
  --target TRIPLE   cross build: x86_64-linux-gnu or aarch64-linux-gnu, with the
                    oldest glibc to support, e.g. aarch64-linux-gnu.2.34
                    (default: this machine)
  --prefix DIR      install to DIR/lib/libauditshim.so (default shim/zig-out)`;

/** Runs `build`; returns the exit code. */
export async function buildCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      optimize: { type: "string" },
      target: { type: "string" },
      prefix: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  try {
    const { optimize, target } = values;
    // `deno task` runs in the repository root; INIT_CWD is where the user typed the command.
    const cwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
    const prefix = values.prefix === undefined ? undefined : resolve(cwd, values.prefix);
    console.log(await buildShim({ optimize, target, prefix }));
    return 0;
  } catch (error) {
    console.error(`build: ${(error as Error).message}`);
    return 1;
  }
}
