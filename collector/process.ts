/**
 * Starting the real collector as a child process (for the runner and the tests).
 *
 * @module
 */
import { type CollectorConfig, resolveConfig } from "./config.ts";
import { collectorAnswers } from "./socket_path.ts";
import { prepareDirectories, serveCommandArgs } from "./serve_command.ts";

/** A running collector child process. */
export interface CollectorProcess {
  /** Process id of the served collector. */
  pid: number;
  /** Absolute path of its socket. */
  socket: string;
  /** Absolute path of its log directory. */
  logDir: string;
  /** Resolves with the exit code when the process exits (by stop() or on its own). */
  exited: Promise<number>;
  /** Sends SIGTERM, waits for the exit and returns the exit code (0 = everything on disk). */
  stop(): Promise<number>;
}

/** Options of {@linkcode startCollectorProcess}. */
export interface StartCollectorOptions {
  /** Socket path to serve. */
  socket: string;
  /** Directory of the session logs. */
  logDir: string;
  /** Optional JSONC config file; `socket` and `logDir` above take precedence over it. */
  configPath?: string;
  /** Further settings (they override the config file), e.g. `{ fsyncIntervalMs: 0 }`. */
  settings?: Partial<CollectorConfig>;
  /** How long to wait for the socket to accept connections (default 10 s). */
  readyTimeoutMs?: number;
  /**
   * Receives the collector's stderr (JSON log, stats and summary lines) as it arrives; without
   * it, the collector shares this process's stderr.
   */
  onStderr?: (text: string) => void;
  /**
   * Start it in its own process group, so a Ctrl-C typed on this process's terminal does not
   * reach it (the runner needs its collector to outlive an interrupted command).
   */
  detached?: boolean;
}

/**
 * Spawns the served collector with its narrow permissions (the same command `main.ts collect`
 * runs) and resolves once its socket accepts connections.
 *
 * @example
 * ```ts
 * import { startCollectorProcess } from "./process.ts";
 * const collector = await startCollectorProcess({ socket: "/tmp/a.sock", logDir: "/tmp/logs" });
 * // ... producers connect to collector.socket ...
 * console.log(await collector.stop()); // 0
 * ```
 */
export async function startCollectorProcess(
  options: StartCollectorOptions,
): Promise<CollectorProcess> {
  const file = options.configPath === undefined
    ? undefined
    : { path: options.configPath, text: await Deno.readTextFile(options.configPath) };
  const config = resolveConfig({
    file,
    settings: options.settings,
    flags: { socket: options.socket, logDir: options.logDir },
  });
  await prepareDirectories(config);
  // When something already answers there, the socket answering proves nothing: wait until the
  // child replaced it, or (normally) until the child refuses and exits with code 3.
  const occupiedInode = await collectorAnswers(config.socket)
    ? (await Deno.lstat(config.socket)).ino
    : undefined;
  const child = new Deno.Command(Deno.execPath(), {
    args: serveCommandArgs(config),
    stdin: "null",
    stdout: "inherit",
    stderr: options.onStderr === undefined ? "inherit" : "piped",
    detached: options.detached,
  }).spawn();
  let stderrTail = "";
  const stderrDone = options.onStderr === undefined
    ? Promise.resolve()
    : child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({
        write(text) {
          stderrTail = (stderrTail + text).slice(-4000);
          options.onStderr?.(text);
        },
      }),
    );
  let exited: number | undefined;
  const status = child.status.then(async (s) => {
    await stderrDone;
    return (exited = s.code);
  });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  const mode = parseInt(config.socketMode, 8);
  while (!(await servedByChild(config.socket, occupiedInode, mode))) {
    if (exited !== undefined) {
      throw new Error(
        `the collector exited with code ${exited} before serving ${config.socket} ` +
          "(3 = another collector answers there, 4 = not a socket, 5 = log dir in use); " +
          `its stderr: ${stderrTail || "(see above)"}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await status;
      throw new Error(`the collector did not answer on ${config.socket} in time; see its stderr`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    pid: child.pid,
    socket: config.socket,
    logDir: config.logDir,
    exited: status,
    stop: async () => {
      if (exited === undefined) {
        try {
          child.kill("SIGTERM");
        } catch {
          // It exited in between.
        }
      }
      return await status;
    },
  };
}

/**
 * Ready means: it answers, it is not the collector that was there before, and it has its final
 * mode (the socket is created with the umask's mode and chmod-ed right after binding).
 */
async function servedByChild(
  socket: string,
  occupiedInode: number | null | undefined,
  mode: number,
): Promise<boolean> {
  if (!(await collectorAnswers(socket))) return false;
  try {
    const info = await Deno.lstat(socket);
    if (occupiedInode !== undefined && info.ino === occupiedInode) return false;
    return ((info.mode ?? 0) & 0o7777) === mode;
  } catch {
    return false;
  }
}
