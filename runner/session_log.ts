/**
 * Reading a session log back, and waiting for an event to reach it.
 *
 * @module
 */
import { type LogRecord, parseLog } from "./summary.ts";

/** The session log file of `sessionId` under `logDir`. */
export function sessionLogPath(logDir: string, sessionId: string): string {
  return `${logDir.replace(/\/+$/, "")}/session-${sessionId}.jsonl`;
}

/** The records of a session log; empty when the file does not exist (yet). */
export async function readSessionLog(path: string): Promise<LogRecord[]> {
  try {
    return parseLog(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
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
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<LogRecord[] | null> {
  const deadline = performance.now() + (options.timeoutMs ?? 5000);
  let interval = options.intervalMs ?? 2;
  while (true) {
    const records = await readSessionLog(path);
    if (records.some(predicate)) return records;
    if (performance.now() >= deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(interval * 2, 50);
  }
}
