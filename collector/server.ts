/**
 * The served collector process: claims the socket path, binds it with its mode, handles
 * SIGTERM/SIGINT, runs the {@linkcode Collector} and removes the socket on exit.
 *
 * @module
 */
import { Collector, type Logger, stderrLogger } from "./collector.ts";
import type { IngestWorkerSpec } from "./ingest_pipeline.ts";
import type { CollectorConfig } from "./config.ts";
import { LOCK_FILE, lockLogDir } from "./log_dir_lock.ts";
import { claimSocketPath, SocketPathError } from "./socket_path.ts";

/**
 * Serves `config.socket` until SIGTERM or SIGINT and returns the exit code: 0 after a clean
 * shutdown, 1 when events could not be written in time, 3 when another collector answers on
 * the socket, 4 when the socket path is not a socket, 5 when another collector writes to the
 * log directory.
 *
 * @example
 * ```ts
 * import { serveCollector } from "./server.ts";
 * import { resolveConfig } from "./config.ts";
 * const config = resolveConfig({ flags: { socket: "/tmp/a.sock", logDir: "/tmp/l" } });
 * const code = await serveCollector(config);
 * ```
 */
export async function serveCollector(
  config: CollectorConfig,
  options: { log?: Logger; ingestWorker?: IngestWorkerSpec } = {},
): Promise<number> {
  const log = options.log ?? stderrLogger;
  const ingestWorker = options.ingestWorker;
  // Listen for signals before the socket answers: a supervisor may stop us right after that.
  let collector: Collector | undefined;
  let stopRequested = false;
  const onSignal = () => {
    stopRequested = true;
    collector?.shutdown();
  };
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    return await serveUntilStopped(config, log, ingestWorker, (created) => {
      collector = created;
      if (stopRequested) created.shutdown();
    });
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

async function serveUntilStopped(
  config: CollectorConfig,
  log: Logger,
  ingestWorker: IngestWorkerSpec | undefined,
  onCreated: (collector: Collector) => void,
): Promise<number> {
  await Deno.mkdir(config.logDir, { recursive: true });
  // The socket first: a collector already serving it is the common case and gets exit code 3.
  try {
    const claim = await claimSocketPath(config.socket);
    if (claim === "stale-removed") log("removed a stale socket", { socket: config.socket });
  } catch (error) {
    if (!(error instanceof SocketPathError)) throw error;
    log(`refusing to start: ${error.message}`, { exitCode: error.exitCode });
    return error.exitCode;
  }
  let lock: Deno.FsFile | undefined;
  try {
    lock = await lockLogDir(config.logDir);
  } catch (error) {
    // A lock file that is not a regular file, a read-only log directory, ...: say so plainly.
    log(`refusing to start: cannot lock the log directory: ${(error as Error).message}`, {
      exitCode: 1,
    });
    return 1;
  }
  if (lock === undefined) {
    log(
      `refusing to start: another collector writes to ${config.logDir} (it holds ` +
        `${LOCK_FILE}); stop it or choose another --log-dir`,
      { exitCode: 5 },
    );
    return 5;
  }
  try {
    return await serveWithLock(config, log, ingestWorker, onCreated);
  } finally {
    lock.close();
  }
}

async function serveWithLock(
  config: CollectorConfig,
  log: Logger,
  ingestWorker: IngestWorkerSpec | undefined,
  onCreated: (collector: Collector) => void,
): Promise<number> {
  let listener: Deno.UnixListener;
  try {
    listener = Deno.listen({ transport: "unix", path: config.socket });
    await Deno.chmod(config.socket, parseInt(config.socketMode, 8));
  } catch (error) {
    log(`cannot bind ${config.socket}: ${(error as Error).message}`, { exitCode: 1 });
    return 1;
  }
  const socketInode = (await Deno.lstat(config.socket)).ino;
  const collector = new Collector(config, { listener, log, ingestWorker });
  log("collector listening", {
    socket: config.socket,
    logDir: config.logDir,
    pid: Deno.pid,
    permissions: reportPermissions(config),
  });
  onCreated(collector);
  const unwritten = await collector.run();
  await removeOwnSocket(config.socket, socketInode);
  collector.printSummary();
  if (unwritten > 0) {
    log("exiting with events not written (disk full or failing?)", { unwrittenBytes: unwritten });
    return 1;
  }
  return 0;
}

async function removeOwnSocket(socket: string, inode: number | null): Promise<void> {
  try {
    const info = await Deno.lstat(socket);
    // Another collector may have replaced a socket we lost; only remove our own.
    if (info.isSocket && info.ino === inode) await Deno.remove(socket);
  } catch {
    // Already gone (closing the listener removes it on some platforms).
  }
}

/** What the served process may do, as Deno reports it; printed at startup for auditors. */
function reportPermissions(config: CollectorConfig): Record<string, string> {
  const query = (descriptor: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state;
  return {
    "net(any)": query({ name: "net" }),
    "net(socket)": query(
      { name: "net", host: `unix:${config.socket}` } as Deno.PermissionDescriptor,
    ),
    "read(/)": query({ name: "read", path: "/" }),
    "write(/)": query({ name: "write", path: "/" }),
    "write(logDir)": query({ name: "write", path: config.logDir }),
    "read(logDir)": query({ name: "read", path: config.logDir }),
    run: query({ name: "run" }),
    ffi: query({ name: "ffi" }),
    sys: query({ name: "sys" }),
    env: query({ name: "env" }),
  };
}
