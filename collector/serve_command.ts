/**
 * The command line of the served collector: exactly the permissions it needs for its paths.
 *
 * @module
 */
import { dirname } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { type CollectorConfig, ConfigError } from "./config.ts";

const SERVE_MODULE = fromFileUrl(new URL("./serve.ts", import.meta.url));
const SEMI_SPACE_MIB = 2;
const DENO_CONFIG = fromFileUrl(new URL("../deno.json", import.meta.url));

/**
 * The source files of the ingest worker: the only files outside its socket and log directories
 * the served process may read (Deno checks read permission when a Worker loads its modules).
 */
export const INGEST_WORKER_FILES: readonly string[] = [
  "./ingest_worker.ts",
  "./fast_ingest.ts",
  "./line_scanner/mod.ts",
  "./line_scanner/line_scanner_wasm.ts",
  "../protocol/fast_validate.ts",
].map((file) => fromFileUrl(new URL(file, import.meta.url)));

/**
 * The ingest worker's own permissions: read its source files, nothing else (no write, no net),
 * narrower than the served process's.
 *
 * @example
 * ```ts
 * import { ingestWorkerPermissions } from "./serve_command.ts";
 * console.log(ingestWorkerPermissions().write); // false
 * ```
 */
export function ingestWorkerPermissions(): Deno.PermissionOptionsObject {
  return {
    read: [...INGEST_WORKER_FILES],
    write: false,
    net: false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  };
}

/**
 * The permission flags of the served process: the socket (net), its directory (read/write, to
 * replace a stale socket and set the mode), the log directory (read/write: it appends, and reads
 * a session file's last line to continue its sequence), read of the ingest worker's five source
 * files ({@linkcode INGEST_WORKER_FILES}). Nothing else: no run, ffi, sys, env.
 *
 * @example
 * ```ts
 * import { servePermissionFlags } from "./serve_command.ts";
 * import { resolveConfig } from "./config.ts";
 * const config = resolveConfig({ flags: { socket: "/run/a/audit.sock", logDir: "/logs" } });
 * console.log(servePermissionFlags(config));
 * // --allow-net=unix:/run/a/audit.sock --allow-read=/run/a,/logs,<the worker's files>
 * // --allow-write=/run/a,/logs
 * ```
 */
export function servePermissionFlags(config: CollectorConfig): string[] {
  const paths = [["socket", config.socket], ["log dir", config.logDir]];
  for (const file of INGEST_WORKER_FILES) paths.push(["collector source file", file]);
  for (const [name, path] of paths) {
    if (path.includes(",")) {
      throw new ConfigError(
        `the ${name} path "${path}" contains a comma, which Deno permission flags cannot ` +
          "express; choose a path without commas",
      );
    }
  }
  const dirs = `${dirname(config.socket)},${config.logDir}`;
  return [
    `--allow-net=unix:${config.socket}`,
    `--allow-read=${dirs},${INGEST_WORKER_FILES.join(",")}`,
    `--allow-write=${dirs}`,
  ];
}

/**
 * The full argument list for `Deno.execPath()` that starts the served collector.
 *
 * @example
 * ```ts
 * import { serveCommandArgs } from "./serve_command.ts";
 * import { resolveConfig } from "./config.ts";
 * const config = resolveConfig({ flags: { socket: "/tmp/a.sock", logDir: "/tmp/l" } });
 * const args = serveCommandArgs(config);
 * const child = new Deno.Command(Deno.execPath(), { args }).spawn();
 * ```
 */
export function serveCommandArgs(config: CollectorConfig): string[] {
  return [
    "run",
    "--no-prompt",
    "--cached-only",
    // The flag applies to each of the three V8 heaps (main thread, two ingest workers), whose
    // young generations grow with the ingest rate: at 4 MiB the benchmark's peak RSS reached
    // 173-194 MiB, at 2 MiB 165-180 MiB, with the same CPU time per event (side by side).
    `--v8-flags=--max-semi-space-size=${SEMI_SPACE_MIB}`,
    // The ingest workers run with narrower permissions than the process (deno.permissions).
    "--unstable-worker-options",
    "--config",
    DENO_CONFIG,
    ...servePermissionFlags(config),
    SERVE_MODULE,
    "--config-json",
    JSON.stringify(config),
  ];
}

/**
 * Creates the socket directory (0750) and the log directory when missing: the served process
 * may only write inside them, so it cannot create their parents itself.
 *
 * @example
 * ```ts
 * import { prepareDirectories } from "./serve_command.ts";
 * import { resolveConfig } from "./config.ts";
 * const config = resolveConfig({ flags: { socket: "/tmp/s/a.sock", logDir: "/tmp/l" } });
 * await prepareDirectories(config);
 * ```
 */
export async function prepareDirectories(config: CollectorConfig): Promise<void> {
  const socketDir = dirname(config.socket);
  try {
    if (!(await exists(socketDir))) {
      await Deno.mkdir(socketDir, { recursive: true, mode: 0o750 });
      await Deno.chmod(socketDir, 0o750); // mkdir's mode is reduced by the umask
    }
  } catch (error) {
    throw new DirectoryError("socket", socketDir, error);
  }
  try {
    await Deno.mkdir(config.logDir, { recursive: true, mode: 0o750 });
  } catch (error) {
    throw new DirectoryError("log", config.logDir, error);
  }
}

/** The socket or log directory cannot be created (read-only file system, a file in the way). */
export class DirectoryError extends Error {
  /**
   * @param kind Which directory.
   * @param path Its path.
   * @param cause What Deno reported.
   */
  constructor(kind: "socket" | "log", path: string, cause: unknown) {
    super(`cannot create the ${kind} directory ${path}: ${(cause as Error).message}`, { cause });
    this.name = "DirectoryError";
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
