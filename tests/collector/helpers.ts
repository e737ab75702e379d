/**
 * Producers for the collector tests: valid events and raw writes to a real socket.
 *
 * @module
 */
import { join } from "node:path";
import type { AuditEvent } from "../../protocol/mod.ts";
import { readJsonLines, type StoredLine } from "../support/collector.ts";

/** A valid Exec event of `sessionId` with producer sequence number `seq`. */
export function execEvent(sessionId: string, seq: number, pid = 4242): AuditEvent {
  return {
    v: 1,
    timestamp: "2025-12-01T12:00:00.123456789Z",
    source: "Shim",
    event_type: "Exec",
    metadata: { session_id: sessionId, agent: "test-agent" },
    process: { pid, ppid: 1, tid: pid, uid: 1000, gid: 1000 },
    seq,
    payload: {
      call: "execve",
      path: "/usr/bin/ls",
      argv: ["ls", "-la", `arg-${seq}`],
      env: ["PATH=/usr/bin"],
      cwd: "/workspace",
    },
  };
}

/** Events as protocol lines (each ends with `\n`). */
export function toLines(events: unknown[]): string {
  return events.map((event) => `${JSON.stringify(event)}\n`).join("");
}

/** Writes all of `data` to `conn` (a socket write may take only part of it). */
export async function writeAll(conn: Deno.Conn, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

/** Connects to `socket`, sends `data`, closes. */
export async function send(socket: string, data: Uint8Array | string): Promise<void> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    await writeAll(conn, data);
  } finally {
    conn.close();
  }
}

/** The file names in `dir`, sorted. */
export async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Waits until `<logDir>/rejected.jsonl` holds at least `count` records and returns them. */
export async function waitForRejects(
  collector: { logDir: string },
  count: number,
): Promise<StoredLine[]> {
  const deadline = Date.now() + 10_000;
  while (true) {
    const records = await readJsonLines(join(collector.logDir, "rejected.jsonl"));
    if (records.length >= count) return records;
    if (Date.now() > deadline) {
      throw new Error(`expected ${count} reject records, found ${JSON.stringify(records)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
