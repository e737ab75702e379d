/**
 * Finds the collector a run reports to: one that already answers, or one
 * started for the duration of the run.
 *
 * @module
 */
import {
  collectorAnswers,
  DEFAULT_CONFIG,
  LOG_DIR_ENV,
  SOCKET_ENV,
  startCollectorProcess,
} from "../collector/mod.ts";

/** The collector a run uses. */
export interface CollectorLink {
  /** Its socket. */
  socket: string;
  /** Where its session logs are (for a reused collector: where they are expected). */
  logDir: string;
  /** Whether the run started it (and stops it). */
  started: boolean;
  /** Stops a collector the run started and removes its private socket dir; no-op otherwise. */
  close(): Promise<void>;
}

/** Options of {@linkcode linkCollector}. */
export interface LinkCollectorOptions {
  /** An explicit --socket. */
  socket?: string;
  /** An explicit --log-dir. */
  logDir?: string;
  /** The environment to read defaults from; default the process's. */
  env?: Readonly<Record<string, string>>;
}

/**
 * The default log directory of collectors the runner starts: the XDG state
 * directory, which a normal user can write without setup.
 *
 * @example
 * ```ts
 * import { defaultRunLogDir } from "./collector_link.ts";
 * console.log(defaultRunLogDir({ HOME: "/home/me" })); // "/home/me/.local/state/containai/logs"
 * ```
 */
export function defaultRunLogDir(env: Readonly<Record<string, string>>): string {
  if (env.XDG_STATE_HOME?.startsWith("/")) return `${env.XDG_STATE_HOME}/containai/logs`;
  if (env.HOME?.startsWith("/")) return `${env.HOME}/.local/state/containai/logs`;
  throw new Error("neither XDG_STATE_HOME nor HOME is set: pass --log-dir DIR");
}

/**
 * Uses the collector answering on --socket, else on $CONTAINAI_AUDIT_SOCKET or
 * /run/containai/audit.sock; when none answers, starts one (on --socket, or on
 * a socket in a private temporary directory) and stops it on `close()`.
 *
 * Log directory: --log-dir, else $CONTAINAI_AUDIT_LOG_DIR, else for a reused
 * collector its default /mnt/logs and for a started one the XDG state dir.
 *
 * @example
 * ```ts
 * import { linkCollector } from "./collector_link.ts";
 * const link = await linkCollector({});
 * try {
 *   console.log(link.socket, link.logDir, link.started);
 * } finally {
 *   await link.close();
 * }
 * ```
 */
export async function linkCollector(options: LinkCollectorOptions = {}): Promise<CollectorLink> {
  const env = options.env ?? Deno.env.toObject();
  const wanted = options.socket ?? env[SOCKET_ENV] ?? DEFAULT_CONFIG.socket;
  const configuredLogDir = options.logDir ?? env[LOG_DIR_ENV];
  if (await collectorAnswers(wanted)) {
    return {
      socket: wanted,
      logDir: configuredLogDir ?? DEFAULT_CONFIG.logDir,
      started: false,
      close: () => Promise.resolve(),
    };
  }
  const logDir = absolute(configuredLogDir ?? defaultRunLogDir(env));
  const privateDir = options.socket === undefined ? await makePrivateDir(env) : null;
  const socket = options.socket === undefined
    ? `${privateDir}/audit.sock`
    : absolute(options.socket);
  // The collector's JSON log would interleave with the audited program's
  // terminal output; it is kept and shown only when the collector fails.
  let stderr = "";
  try {
    const collector = await startCollectorProcess({
      socket,
      logDir,
      settings: { statsIntervalMs: 86_400_000 },
      onStderr: (text) => (stderr = (stderr + text).slice(-8000)),
      // A Ctrl-C typed on the terminal interrupts the command, not its audit.
      detached: true,
    });
    return {
      socket,
      logDir: collector.logDir,
      started: true,
      close: async () => {
        const code = await collector.stop();
        if (privateDir !== null) await Deno.remove(privateDir, { recursive: true });
        if (code !== 0) {
          throw new Error(`the collector started for this run exited with code ${code}`);
        }
      },
    };
  } catch (error) {
    if (privateDir !== null) await Deno.remove(privateDir, { recursive: true }).catch(() => {});
    throw new Error(`${(error as Error).message}\n${stderr}`.trimEnd());
  }
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

async function makePrivateDir(env: Readonly<Record<string, string>>): Promise<string> {
  const runtime = env.XDG_RUNTIME_DIR;
  const usable = runtime !== undefined && runtime.startsWith("/") &&
    (await Deno.stat(runtime).then((info) => info.isDirectory, () => false));
  // makeTempDir creates the directory 0700: only this user can reach the socket.
  return await Deno.makeTempDir({ prefix: "containai-run-", dir: usable ? runtime : undefined });
}
