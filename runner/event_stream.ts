/**
 * The runner's own event stream: protocol v1 events with source "Runner",
 * numbered from 0, sent over one connection to the collector.
 *
 * @module
 */
import {
  type AuditEvent,
  type DenyPayload,
  type ExecPayload,
  type ExitPayload,
  PROTOCOL_VERSION,
  validateEvent,
} from "../protocol/mod.ts";

/** `metadata` of every event of a run. */
export interface RunMetadata {
  /** The session id. */
  session_id: string;
  /** The agent name. */
  agent: string;
}

/** An event the runner produces, before the envelope is added. */
export type RunnerEventBody =
  | { event_type: "Exec"; payload: ExecPayload }
  | { event_type: "Deny"; payload: DenyPayload }
  | { event_type: "Exit"; payload: ExitPayload };

function processIdentity(): AuditEvent["process"] {
  // The runner's JavaScript runs on the process's main thread, so tid = pid.
  return {
    pid: Deno.pid,
    ppid: Deno.ppid,
    tid: Deno.pid,
    uid: Deno.uid() ?? 0,
    gid: Deno.gid() ?? 0,
  };
}

/**
 * Sends the runner's events. A failed write never stops the run: the event is
 * counted, one reconnect is tried on the next send, and the next delivered
 * event carries `dropped`.
 *
 * @example
 * ```ts
 * import { RunnerEventStream } from "./event_stream.ts";
 * const stream = await RunnerEventStream.open("/run/containai/audit.sock", {
 *   session_id: "s1",
 *   agent: "sh",
 * });
 * await stream.send({ event_type: "Exit", payload: { pid: 42, exit_code: 0, duration_ms: 3 } });
 * stream.close();
 * ```
 */
export class RunnerEventStream {
  #socket: string;
  #metadata: RunMetadata;
  #connection: Deno.UnixConn | null;
  #nextSeq = 0;
  #dropped = 0;
  #droppedTotal = 0;
  #lastDelivered: number | null = null;
  #encoder = new TextEncoder();

  #sendTimeoutMs: number;

  private constructor(
    socket: string,
    metadata: RunMetadata,
    options: { connection: Deno.UnixConn; sendTimeoutMs: number },
  ) {
    this.#socket = socket;
    this.#metadata = metadata;
    this.#connection = options.connection;
    this.#sendTimeoutMs = options.sendTimeoutMs;
  }

  /**
   * Connects to the collector; throws with the socket path when nothing
   * answers. `sendTimeoutMs` (default 5000) bounds each event's delivery.
   */
  static async open(
    socket: string,
    metadata: RunMetadata,
    options: { sendTimeoutMs?: number } = {},
  ): Promise<RunnerEventStream> {
    try {
      const connection = await Deno.connect({ transport: "unix", path: socket });
      const sendTimeoutMs = options.sendTimeoutMs ?? 5000;
      return new RunnerEventStream(socket, metadata, { connection, sendTimeoutMs });
    } catch (error) {
      throw new Error(
        `cannot connect to the collector at ${socket}: ${(error as Error).message}` +
          " (start one with `./task collect` or omit --socket to let run start its own)",
      );
    }
  }

  /** The seq of the last event the socket accepted, or null before the first. */
  get lastDeliveredSeq(): number | null {
    return this.#lastDelivered;
  }

  /** How many events could not be delivered in total. */
  get droppedTotal(): number {
    return this.#droppedTotal;
  }

  /**
   * Sends one event and returns it as sent, or null when it could not be
   * delivered. Throws only when the event itself breaks the protocol (a bug).
   */
  async send(body: RunnerEventBody): Promise<AuditEvent | null> {
    const event = {
      v: PROTOCOL_VERSION,
      timestamp: new Date().toISOString(),
      source: "Runner",
      event_type: body.event_type,
      metadata: this.#metadata,
      process: processIdentity(),
      seq: this.#nextSeq++,
      ...(this.#dropped > 0 ? { dropped: this.#dropped } : {}),
      payload: body.payload,
    };
    const checked = validateEvent(event);
    if (!checked.ok) {
      const issue = checked.issues[0];
      throw new Error(
        `runner built an invalid ${body.event_type} event: ${issue.path}: ${issue.message}`,
      );
    }
    const line = this.#encoder.encode(`${JSON.stringify(event)}\n`);
    if (await this.#write(line)) {
      this.#dropped = 0;
      this.#lastDelivered = event.seq;
      return checked.event;
    }
    this.#dropped++;
    this.#droppedTotal++;
    return null;
  }

  async #write(line: Uint8Array): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      // A stalled collector must not hang the run: closing the connection
      // makes the pending write fail, and the event counts as dropped.
      const timer = setTimeout(() => this.#closeConnection(), this.#sendTimeoutMs);
      try {
        this.#connection ??= await Deno.connect({ transport: "unix", path: this.#socket });
        let written = 0;
        while (written < line.length) {
          const connection: Deno.UnixConn | null = this.#connection;
          if (connection === null) throw new Error("send timed out");
          written += await connection.write(line.subarray(written));
        }
        return true;
      } catch {
        this.#closeConnection();
      } finally {
        clearTimeout(timer);
      }
    }
    return false;
  }

  #closeConnection(): void {
    try {
      this.#connection?.close();
    } catch {
      // Already closed by the peer; nothing left to release.
    }
    this.#connection = null;
  }

  /**
   * Closes the connection; the next event opens a new one. The collector
   * accepts connections in the order they were made, so an event sent on a
   * fresh connection queues behind every connection opened before it (the
   * shim's, one per program) instead of racing them.
   */
  startNewConnection(): void {
    this.#closeConnection();
  }

  /** Closes the connection. */
  close(): void {
    this.#closeConnection();
  }
}
