/**
 * The peers the benchmark compares against, installed from Debian's packages
 * when missing and never enabled system-wide: no syslog-ng service left
 * running, no snoopy in /etc/ld.so.preload.
 *
 * @module
 */
import { runText } from "./command.ts";

/** The Debian packages of the peers. */
export const PEER_PACKAGES: readonly string[] = ["syslog-ng-core", "socat", "snoopy"];

/** Where Debian's snoopy package puts the library; it is only ever preloaded per process. */
export const SNOOPY_LIBRARY = "/lib/x86_64-linux-gnu/libsnoopy.so";

const PRELOAD_FILE = "/etc/ld.so.preload";
const POLICY_RC = "/usr/sbin/policy-rc.d";

/**
 * Whether a Debian package is installed.
 *
 * @example
 * ```ts
 * import { isInstalled } from "./peers.ts";
 * if (!(await isInstalled("socat"))) console.log("socat is missing");
 * ```
 */
export async function isInstalled(pkg: string): Promise<boolean> {
  const out = await runText("dpkg-query", { args: ["-W", "-f=${Status}", pkg] }).catch(() =>
    undefined
  );
  return out?.success === true && out.stdout.includes("install ok installed");
}

/**
 * The installed version of a Debian package, or undefined.
 *
 * @example
 * ```ts
 * import { packageVersion } from "./peers.ts";
 * console.log(await packageVersion("syslog-ng-core")); // e.g. "3.38.1-5+deb12u1"
 * ```
 */
export async function packageVersion(pkg: string): Promise<string | undefined> {
  const out = await runText("dpkg-query", { args: ["-W", "-f=${Version}", pkg] }).catch(() =>
    undefined
  );
  return out?.success ? out.stdout.trim() || undefined : undefined;
}

/**
 * Installs the missing peer packages with apt-get, keeping them disabled: the
 * snoopy debconf question is preseeded to "no", service starts are refused by
 * a temporary policy-rc.d, and afterwards {@linkcode keepPeersDisabled} checks.
 *
 * @example
 * ```ts
 * import { ensurePeers } from "./peers.ts";
 * await ensurePeers((line) => console.error(line));
 * ```
 */
export async function ensurePeers(log: (line: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const pkg of PEER_PACKAGES) if (!(await isInstalled(pkg))) missing.push(pkg);
  if (missing.length > 0) {
    log(`installing ${missing.join(", ")} with apt-get (Debian packages)`);
    await installPackages(missing);
  }
  await keepPeersDisabled(log);
}

async function installPackages(packages: string[]): Promise<void> {
  const debconf = await runText("debconf-set-selections", {
    stdin: "snoopy snoopy/install-ld-preload boolean false\n",
  });
  if (!debconf.success) {
    throw new Error(`debconf-set-selections failed: ${debconf.stderr.trim()}`);
  }
  const ownPolicy = !(await exists(POLICY_RC));
  // exit 101 = "action forbidden": the package's postinst must not start syslog-ng.
  if (ownPolicy) await Deno.writeTextFile(POLICY_RC, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  try {
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    const args = ["install", "-y", "--no-install-recommends", ...packages];
    let out = await runText("apt-get", { args, env });
    if (!out.success) {
      await runText("apt-get", { args: ["update"], env });
      out = await runText("apt-get", { args, env });
    }
    if (!out.success) {
      throw new Error(
        `apt-get install ${packages.join(" ")} failed (run as root with Debian's mirror ` +
          `reachable, or install them yourself):\n${out.stderr.trim()}`,
      );
    }
  } finally {
    if (ownPolicy) await Deno.remove(POLICY_RC).catch(() => {});
  }
  if (packages.includes("syslog-ng-core")) await disableSyslogService();
}

/**
 * Makes sure snoopy is not active system-wide (removes it from
 * /etc/ld.so.preload if it got there; throws if it cannot) and notes a
 * syslog-ng that runs outside the benchmark.
 *
 * @example
 * ```ts
 * import { keepPeersDisabled } from "./peers.ts";
 * await keepPeersDisabled((line) => console.error(line));
 * ```
 */
export async function keepPeersDisabled(log: (line: string) => void): Promise<void> {
  const preload = await Deno.readTextFile(PRELOAD_FILE).catch(() => "");
  if (/snoopy/.test(preload)) {
    log(`removing snoopy from ${PRELOAD_FILE} (it must never be enabled system-wide)`);
    const kept = preload.split("\n").filter((line) => !/snoopy/.test(line)).join("\n");
    if (kept.trim() === "") await Deno.remove(PRELOAD_FILE);
    else await Deno.writeTextFile(PRELOAD_FILE, kept);
  }
  if (/snoopy/.test(await Deno.readTextFile(PRELOAD_FILE).catch(() => ""))) {
    throw new Error(`snoopy is still in ${PRELOAD_FILE}; remove it by hand`);
  }
  const running = await processesNamed("syslog-ng");
  if (running.length > 0) {
    log(
      `note: syslog-ng is already running (pids ${running.join(", ")}); the benchmark leaves ` +
        "it alone and starts its own, but it competes for the CPUs",
    );
  }
}

/** Stops and disables the syslog-ng service in case the package's scripts enabled it. */
async function disableSyslogService(): Promise<void> {
  const quietly = (program: string, args: string[]) =>
    runText(program, { args }).catch(() => undefined);
  await quietly("service", ["syslog-ng", "stop"]);
  await quietly("update-rc.d", ["syslog-ng", "disable"]);
  await quietly("systemctl", ["disable", "--now", "syslog-ng.service"]);
}

/**
 * Pids of processes whose command name is `name`.
 *
 * @example
 * ```ts
 * import { processesNamed } from "./peers.ts";
 * const pids = await processesNamed("syslog-ng");
 * ```
 */
export async function processesNamed(name: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const comm = await Deno.readTextFile(`/proc/${entry.name}/comm`).catch(() => "");
    if (comm.trim() === name) pids.push(Number(entry.name));
  }
  return pids;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
