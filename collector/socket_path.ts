/**
 * Claiming the socket path safely: a stale socket is replaced, a live collector is left alone,
 * anything that is not a socket is refused.
 *
 * @module
 */

/**
 * True when something accepts connections on the Unix socket at `socket` (a live collector).
 *
 * @example
 * ```ts
 * import { collectorAnswers } from "./socket_path.ts";
 * if (await collectorAnswers("/run/containai/audit.sock")) console.log("collector is up");
 * ```
 */
export async function collectorAnswers(socket: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path: socket });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Why the socket path cannot be used; `exitCode` is what the collector exits with. */
export class SocketPathError extends Error {
  /** 3: a collector already answers there; 4: the path is not a socket. */
  readonly exitCode: number;
  /** Creates the error with a message saying what to do. */
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "SocketPathError";
    this.exitCode = exitCode;
  }
}

/**
 * Makes `socket` free to bind: nothing there is fine; a socket nobody answers on (left by a
 * crashed collector) is removed; a live collector or a non-socket throws
 * {@linkcode SocketPathError}.
 *
 * @example
 * ```ts
 * import { claimSocketPath } from "./socket_path.ts";
 * await claimSocketPath("/tmp/audit.sock");
 * ```
 */
export async function claimSocketPath(socket: string): Promise<"free" | "stale-removed"> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(socket);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "free";
    throw error;
  }
  if (!info.isSocket) {
    throw new SocketPathError(
      `${socket} exists and is not a socket; remove it or choose another --socket`,
      4,
    );
  }
  if (await collectorAnswers(socket)) {
    throw new SocketPathError(
      `a collector already answers on ${socket}; stop it first or choose another --socket`,
      3,
    );
  }
  await Deno.remove(socket);
  return "stale-removed";
}
