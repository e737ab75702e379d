/**
 * Finds the pinned Zig, installing it from PyPI (`ziglang`) into .tools/ on
 * first use. Honours `ZIG` (a path or a command such as `python3 -m ziglang`)
 * and a `zig` on PATH before that.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const TOOLS_ZIG = new URL(".tools/zig/", ROOT);

/** The Zig version the project pins (toolchain/zig.version). */
export async function pinnedZigVersion(): Promise<string> {
  return (await Deno.readTextFile(new URL("toolchain/zig.version", ROOT))).trim();
}

/** How to invoke Zig: the program and the arguments that come before Zig's own. */
export interface ZigCommand {
  program: string;
  prefix: string[];
}

async function runsZig(command: ZigCommand): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(command.program, {
      args: [...command.prefix, "version"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Returns a working Zig command: `$ZIG`, then `zig` on PATH, then the pinned
 * one in .tools/zig (installed with pip on first use).
 *
 * @example
 * ```ts
 * import { findZig } from "./zig.ts";
 * const zig = await findZig();
 * await new Deno.Command(zig.program, { args: [...zig.prefix, "version"] }).output();
 * ```
 */
export async function findZig(): Promise<ZigCommand> {
  const pinned = await pinnedZigVersion();
  const fromEnv = Deno.env.get("ZIG")?.trim();
  if (fromEnv) {
    const [program, ...prefix] = fromEnv.split(/\s+/);
    const version = await runsZig({ program, prefix });
    if (version === undefined) {
      throw new Error(`ZIG="${fromEnv}" does not run; unset ZIG or fix it`);
    }
    warnOnMismatch(version, pinned, `ZIG="${fromEnv}"`);
    return { program, prefix };
  }
  const onPath = await runsZig({ program: "zig", prefix: [] });
  if (onPath !== undefined) {
    warnOnMismatch(onPath, pinned, "zig on PATH");
    return { program: "zig", prefix: [] };
  }
  const local = { program: new URL("ziglang/zig", TOOLS_ZIG).pathname, prefix: [] };
  if ((await runsZig(local)) === pinned) return local;
  await installZig(pinned);
  if ((await runsZig(local)) !== pinned) {
    throw new Error(
      `zig ${pinned} was installed into .tools/zig but does not run; remove .tools/zig and retry`,
    );
  }
  return local;
}

function warnOnMismatch(found: string, pinned: string, what: string): void {
  if (found !== pinned) {
    console.error(`warning: ${what} is zig ${found}; the project pins ${pinned}`);
  }
}

async function installZig(version: string): Promise<void> {
  console.error(`installing zig ${version} from PyPI (ziglang) into .tools/zig`);
  const out = await new Deno.Command("python3", {
    args: [
      "-m",
      "pip",
      "install",
      "--quiet",
      "--disable-pip-version-check",
      "--upgrade",
      "--target",
      TOOLS_ZIG.pathname,
      `ziglang==${version}`,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    throw new Error(
      `pip could not install ziglang==${version}; check that PyPI is reachable, or set ZIG`,
    );
  }
}
