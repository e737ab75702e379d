/**
 * Reading a session log back, and waiting for an event to reach it.
 *
 * @module
 */
import { type LogRecord, parseLog } from "./summary.ts";

/**
 * The session log file of `sessionId` under `logDir`.
 *
 * @example
 * ```ts
 * import { sessionLogPath } from "./session_log.ts";
 * console.log(sessionLogPath("/mnt/logs", "s1")); // "/mnt/logs/session-s1.jsonl"
 * ```
 */
export function sessionLogPath(logDir: string, sessionId: string): string {
  return `${logDir.replace(/\/+$/, "")}/session-${sessionId}.jsonl`;
}

/** The size of a file, 0 when it does not exist or cannot be read. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/**
 * The records of a session log from byte `offset` on; empty when the file
 * cannot be read (yet). A run reads from the size the log had when it began,
 * so a long-lived session's earlier runs are neither re-read nor re-counted.
 */
export async function readSessionLog(path: string, offset = 0): Promise<LogRecord[]> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path);
    if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
    const text = await new Response(file.readable).text();
    file = undefined; // The stream closed it.
    return parseLog(text);
  } catch {
    return [];
  } finally {
    file?.close();
  }
}

/** Why a session log cannot be read, in words with a fix; null when it can. */
export async function logProblem(path: string): Promise<string | null> {
  try {
    (await Deno.open(path)).close();
    return null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return `no session log at ${path}: pass --log-dir with the collector's log directory`;
    }
    return `cannot read ${path}: ${(error as Error).message}`;
  }
}

/**
 * Polls the log until a record matches, and returns every record read then;
 * returns null when `timeoutMs` passes first.
 *
 * @example
 * ```ts
 * import { waitForRecord } from "./session_log.ts";
 * const records = await waitForRecord("/tmp/logs/session-s1.jsonl", (r) => r.event_type === "Exit");
 * ```
 */
export async function waitForRecord(
  path: string,
  predicate: (record: LogRecord) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; offset?: number } = {},
): Promise<LogRecord[] | null> {
  const deadline = performance.now() + (options.timeoutMs ?? 5000);
  let interval = options.intervalMs ?? 2;
  while (true) {
    const records = await readSessionLog(path, options.offset);
    if (records.some(predicate)) return records;
    if (performance.now() >= deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(interval * 2, 50);
  }
}
