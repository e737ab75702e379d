/**
 * What the numbers were measured on: the machine and the versions of every
 * program involved, for the report's header.
 *
 * @module
 */
import { outputOf } from "./command.ts";
import { packageVersion } from "./peers.ts";
import { findZig } from "../toolchain/mod.ts";

/** The machine the benchmark ran on. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  kernel: string;
  memoryGiB: number;
  os: string;
}

/**
 * The 1, 5 and 15 minute load averages, e.g. "0.52 0.31 0.20": other work on
 * the machine while the benchmark ran makes its numbers noisier.
 *
 * @example
 * ```ts
 * import { loadAverage } from "./machine.ts";
 * console.log(await loadAverage());
 * ```
 */
export async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return text.split(" ").slice(0, 3).join(" ") || "unknown";
}

/**
 * The commit the benchmark ran from, marked when the working tree differs from it.
 *
 * @example
 * ```ts
 * import { repositoryVersion } from "./machine.ts";
 * console.log(await repositoryVersion()); // e.g. "2c8f856" or "2c8f856 + uncommitted changes"
 * ```
 */
export async function repositoryVersion(): Promise<string> {
  const root = new URL("../", import.meta.url).pathname;
  const commit = await outputOf("git", ["-C", root, "rev-parse", "--short", "HEAD"]);
  if (commit === undefined) return "unknown (not a git checkout)";
  const changes = await outputOf("git", [
    "-C",
    root,
    "status",
    "--porcelain",
    "--untracked-files=no",
  ]);
  return changes ? `${commit} + uncommitted changes` : commit;
}

/** The versions of the programs the benchmark ran. */
export type Versions = Record<string, string>;

/**
 * Describes this machine from /proc and uname.
 *
 * @example
 * ```ts
 * import { describeMachine } from "./machine.ts";
 * const { cpus, cpuModel } = await describeMachine();
 * ```
 */
export async function describeMachine(): Promise<MachineInfo> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const osRelease = await Deno.readTextFile("/etc/os-release").catch(() => "");
  const nproc = await outputOf("nproc", []);
  return {
    cpus: Number(nproc ?? navigator.hardwareConcurrency),
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown",
    kernel: (await outputOf("uname", ["-r"])) ?? Deno.osRelease(),
    memoryGiB: Number(meminfo.match(/^MemTotal:\s+(\d+) kB$/m)?.[1] ?? 0) / 1024 / 1024,
    os: osRelease.match(/^PRETTY_NAME="?([^"\n]+)"?$/m)?.[1] ?? Deno.build.os,
  };
}

/**
 * Collects the versions of deno, zig, the peers and the workload's tools.
 *
 * @example
 * ```ts
 * import { collectVersions } from "./machine.ts";
 * const versions = await collectVersions();
 * console.log(versions.deno);
 * ```
 */
export async function collectVersions(): Promise<Versions> {
  const zig = await findZig().catch(() => undefined);
  const firstLine = (text: string | undefined): string => text?.split("\n")[0].trim() ?? "missing";
  return {
    deno: Deno.version.deno,
    zig: zig ? firstLine(await outputOf(zig.program, [...zig.prefix, "version"])) : "missing",
    "syslog-ng": (await packageVersion("syslog-ng-core")) ?? "missing",
    socat: (await packageVersion("socat")) ?? "missing",
    snoopy: (await packageVersion("snoopy")) ?? "missing",
    bash: (await packageVersion("bash")) ?? "missing",
    git: firstLine(await outputOf("git", ["--version"])),
    gcc: firstLine(await outputOf("gcc", ["--version"])),
    // The end-to-end workload runs /usr/bin/python3, whatever python3 is first on PATH.
    python3: firstLine(await outputOf("/usr/bin/python3", ["--version"])),
    "this repository": await repositoryVersion(),
  };
}
