/**
 * The served collector: accepts producers on the Unix socket, turns their lines into stored
 * events or reject records, and shuts down without losing what clients already sent.
 *
 * @module
 */
import type { CollectorConfig } from "./config.ts";
import { ingestLine, ingestText, type LineOutcome, type RejectReason } from "./ingest.ts";
import { type HeldBytesBudget, LineSplitter } from "./line_splitter.ts";
import { LogWriter } from "./log_writer.ts";
import { RejectLog } from "./reject_log.ts";
import { claimSocketPath, SocketPathError } from "./socket_path.ts";
import { type Counters, newCounters, snapshot, statsLine } from "./stats.ts";

/** Exit budget after SIGTERM/SIGINT, below the 5 s a supervisor waits. */
const SHUTDOWN_BUDGET_MS = 4500;
/** While draining, a connection with no new bytes for this long has nothing more in flight. */
const DRAIN_QUIET_MS = 200;
/** A timer firing this much later than due shows the event loop was blocked meanwhile. */
const LATE_TIMER_MS = 50;
const FIRST_READ_BYTES = 4096;
const ACCEPT_RETRY_MS = 50;
const NEWLINE = 0x0a;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
const MAX_READ_BYTES = 256 * 1024;

/** One producer connection. */
interface Connection {
  id: number;
  conn: Deno.UnixConn;
  splitter: LineSplitter;
  lastProgress: number;
  reading: boolean;
  draining: boolean;
  quietTimer: ReturnType<typeof setTimeout> | undefined;
  /** Closed on purpose with a half line pending; that half line is dropped, not parsed. */
  dropPartial: boolean;
}

/** Writes one structured log line (JSON) to stderr. */
export type Logger = (message: string, fields?: Record<string, unknown>) => void;

/** A logger printing `{"time","msg",...fields}` lines on stderr. */
export const stderrLogger: Logger = (message, fields = {}) => {
  console.error(JSON.stringify({ time: new Date().toISOString(), msg: message, ...fields }));
};

/**
 * Serves `config.socket` until SIGTERM or SIGINT and returns the exit code: 0 after a clean
 * shutdown, 1 when events could not be written in time, 3 when another collector answers on
 * the socket, 4 when the socket path is not a socket.
 *
 * @example
 * ```ts
 * import { serveCollector } from "./server.ts";
 * import { resolveConfig } from "./config.ts";
 * const code = await serveCollector(resolveConfig({ flags: { socket: "/tmp/a.sock", logDir: "/tmp/l" } }));
 * ```
 */
export async function serveCollector(
  config: CollectorConfig,
  options: { log?: Logger } = {},
): Promise<number> {
  const log = options.log ?? stderrLogger;
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
    return await serveUntilStopped(config, log, (created) => {
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
  onCreated: (collector: Collector) => void,
): Promise<number> {
  await Deno.mkdir(config.logDir, { recursive: true });
  let listener: Deno.UnixListener;
  try {
    const claim = await claimSocketPath(config.socket);
    if (claim === "stale-removed") log("removed a stale socket", { socket: config.socket });
    listener = Deno.listen({ transport: "unix", path: config.socket });
    await Deno.chmod(config.socket, parseInt(config.socketMode, 8));
  } catch (error) {
    if (error instanceof SocketPathError) {
      log(`refusing to start: ${error.message}`, { exitCode: error.exitCode });
      return error.exitCode;
    }
    log(`cannot bind ${config.socket}: ${(error as Error).message}`, { exitCode: 1 });
    return 1;
  }
  const socketInode = (await Deno.lstat(config.socket)).ino;
  const collector = new Collector(config, listener, log);
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

/** The accept loop, the connections and the timers of one running collector. */
class Collector {
  #config: CollectorConfig;
  #listener: Deno.UnixListener;
  #log: Logger;
  #counters: Counters = newCounters();
  #lastStats: Counters = newCounters();
  #writer: LogWriter;
  #rejects: RejectLog;
  #connections = new Set<Connection>();
  #heldBytes: HeldBytesBudget;
  #handlers = new Set<Promise<void>>();
  #nextId = 1;
  #receivedAt = "";
  #stopping = false;
  #stoppedAt = 0;
  #drainDeadline: ReturnType<typeof setTimeout> | undefined;
  #drainOver: Promise<void>;
  #endDrain: () => void = () => {};
  #sweeper: ReturnType<typeof setInterval>;
  #statsTimer: ReturnType<typeof setInterval>;
  #started = Date.now();

  constructor(config: CollectorConfig, listener: Deno.UnixListener, log: Logger) {
    this.#config = config;
    this.#listener = listener;
    this.#log = log;
    this.#heldBytes = { used: 0, limit: config.maxBufferBytes };
    this.#drainOver = new Promise((resolve) => (this.#endDrain = resolve));
    this.#writer = new LogWriter({
      logDir: config.logDir,
      maxOpenFiles: config.maxOpenFiles,
      fsyncIntervalMs: config.fsyncIntervalMs,
      maxBufferBytes: config.maxBufferBytes,
      counters: this.#counters,
      log,
      onTornTail: (path, fragment) =>
        this.#rejectCounted({
          reason: "torn_tail",
          path: "",
          message: `unterminated last line cut off ${path}`,
          line: fragment,
          connection: 0,
        }),
    });
    this.#rejects = new RejectLog({
      perSecond: config.rejectRecordsPerSecond,
      write: (line) => this.#writer.appendReject(line),
    });
    const sweepEvery = Math.min(1000, Math.max(20, Math.floor(config.partialLineTimeoutMs / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), sweepEvery);
    this.#statsTimer = setInterval(() => this.#printStats(), config.statsIntervalMs);
  }

  /** Accepts until shutdown, drains, writes everything; returns bytes left unwritten. */
  async run(): Promise<number> {
    await this.#acceptUntilStopped();
    this.shutdown();
    while (this.#handlers.size > 0) await Promise.all(this.#handlers);
    clearTimeout(this.#drainDeadline);
    clearInterval(this.#sweeper);
    clearInterval(this.#statsTimer);
    this.#rejects.flushSuppressed();
    const left = SHUTDOWN_BUDGET_MS - (Date.now() - this.#stoppedAt);
    return await this.#writer.close(left);
  }

  /** Stops accepting and starts draining the open connections (idempotent). */
  shutdown(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#stoppedAt = Date.now();
    this.#log("shutting down: draining connections", {
      connections: this.#connections.size,
      events: this.#counters.events,
      bufferedBytes: this.#writer.bufferedBytes,
    });
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const connection of this.#connections) {
      connection.draining = true;
      if (connection.reading) this.#armQuietTimer(connection);
    }
    this.#drainDeadline = setTimeout(() => {
      for (const connection of this.#connections) closeQuietly(connection.conn);
      this.#endDrain();
    }, this.#config.shutdownDrainMs);
  }

  /** Prints the exit summary on stderr. */
  printSummary(): void {
    console.error(
      statsLine("summary", {
        counters: this.#counters,
        previous: newCounters(),
        gauges: this.#gauges(),
        intervalMs: Date.now() - this.#started,
      }),
    );
  }

  async #acceptUntilStopped(): Promise<void> {
    while (!this.#stopping) {
      let conn: Deno.UnixConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopping) return;
        // EMFILE/ENFILE (out of file descriptors) must not end the collector: the pending
        // connection waits in the backlog until a descriptor frees up.
        this.#counters.acceptErrors++;
        if (this.#counters.acceptErrors % 100 === 1) {
          this.#log("accept failed; retrying (out of file descriptors? raise ulimit -n)", {
            error: (error as Error).message,
            acceptErrors: this.#counters.acceptErrors,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      this.#accept(conn);
    }
  }

  #accept(conn: Deno.UnixConn): void {
    if (this.#connections.size >= this.#config.maxConnections) {
      this.#counters.connectionsRefused++;
      closeQuietly(conn);
      return;
    }
    this.#counters.connectionsAccepted++;
    const connection: Connection = {
      id: this.#nextId++,
      conn,
      splitter: undefined as unknown as LineSplitter,
      lastProgress: Date.now(),
      reading: false,
      draining: false,
      quietTimer: undefined,
      dropPartial: false,
    };
    connection.splitter = new LineSplitter(this.#config.maxLineBytes, {
      lines: (run) => this.#ingestRun(run, connection),
      overlong: (head, cause) =>
        this.#rejectCounted({
          reason: "overlong_line",
          path: "",
          message: cause === "line"
            ? `line longer than ${this.#config.maxLineBytes} bytes; discarded up to its newline`
            : `unfinished lines of all connections hold over ${this.#heldBytes.limit} bytes; ` +
              "this line is discarded up to its newline",
          line: head,
          connection: connection.id,
          bytes: cause === "line" ? this.#config.maxLineBytes + 1 : head.length,
        }),
    }, { budget: this.#heldBytes });
    this.#connections.add(connection);
    const handler = this.#handle(connection).finally(() => {
      this.#connections.delete(connection);
      this.#handlers.delete(handler);
    });
    this.#handlers.add(handler);
  }

  async #handle(connection: Connection): Promise<void> {
    let buffer = new Uint8Array(FIRST_READ_BYTES);
    try {
      while (true) {
        if (this.#writer.full) {
          this.#counters.backpressurePauses++;
          // After the drain deadline, stop waiting for a writer that cannot make progress
          // (disk still full): the connection is closed and the shutdown goes on.
          await Promise.race([this.#writer.whenWritable(), this.#drainOver]);
        }
        connection.reading = true;
        if (connection.draining) this.#armQuietTimer(connection);
        const read = await connection.conn.read(buffer);
        connection.reading = false;
        clearTimeout(connection.quietTimer);
        if (read === null) break;
        const now = Date.now();
        connection.lastProgress = now;
        this.#counters.bytesIn += read;
        this.#receivedAt = new Date(now).toISOString();
        connection.splitter.push(buffer.subarray(0, read));
        if (read === buffer.length && buffer.length < MAX_READ_BYTES) {
          // A busy producer: read more per call. Idle ones keep a small buffer, so thousands
          // of open connections stay cheap.
          buffer = new Uint8Array(buffer.length * 4);
        }
      }
    } catch (error) {
      if (!isClosedError(error)) {
        this.#log("connection read failed", {
          connection: connection.id,
          error: (error as Error).message,
        });
      }
    } finally {
      clearTimeout(connection.quietTimer);
      closeQuietly(connection.conn);
    }
    if (!connection.dropPartial) {
      this.#receivedAt = new Date().toISOString();
      connection.splitter.end();
    }
  }

  /** Lines of one run: decoded in one call; per line only when the run is not valid UTF-8. */
  #ingestRun(run: Uint8Array, connection: Connection): void {
    let text: string;
    try {
      text = utf8.decode(run);
    } catch {
      let start = 0;
      while (start <= run.length) {
        let end = run.indexOf(NEWLINE, start);
        if (end === -1) end = run.length;
        const line = run.subarray(start, end);
        if (line.length > 0) this.#store(ingestLine(line, this.#receivedAt), line, connection);
        start = end + 1;
      }
      return;
    }
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf("\n", start);
      if (end === -1) end = text.length;
      if (end > start) {
        const line = text.slice(start, end);
        this.#store(ingestText(line, this.#receivedAt), line, connection);
      }
      start = end + 1;
    }
  }

  #store(outcome: LineOutcome, line: Uint8Array | string, connection: Connection): void {
    if (outcome.ok) {
      this.#counters.events++;
      this.#writer.appendEvent(outcome.sessionId, outcome.record);
      return;
    }
    const bytes = typeof line === "string" ? encoder.encode(line) : line;
    this.#rejectCounted({ ...outcome, line: bytes, connection: connection.id });
  }

  #rejectCounted(
    reject: {
      reason: RejectReason;
      path: string;
      message: string;
      line: Uint8Array;
      connection: number;
      bytes?: number;
    },
  ): void {
    this.#counters.rejects[reject.reason]++;
    this.#rejects.record(reject);
  }

  #armQuietTimer(connection: Connection): void {
    clearTimeout(connection.quietTimer);
    const due = Date.now() + DRAIN_QUIET_MS;
    connection.quietTimer = setTimeout(() => {
      // A late timer means the event loop was busy (e.g. encoding a large batch), so a read
      // that already has data may not have been delivered yet: wait another quiet period.
      if (Date.now() - due > LATE_TIMER_MS) this.#armQuietTimer(connection);
      else closeQuietly(connection.conn);
    }, DRAIN_QUIET_MS);
  }

  #sweep(): void {
    this.#rejects.tick();
    const now = Date.now();
    const timeout = this.#config.partialLineTimeoutMs;
    for (const connection of this.#connections) {
      if (!connection.splitter.hasPartialLine || now - connection.lastProgress <= timeout) continue;
      connection.dropPartial = true;
      this.#log("closing a connection whose partial line made no progress", {
        connection: connection.id,
        timeoutMs: timeout,
      });
      this.#rejectCounted({
        reason: "partial_line_timeout",
        path: "",
        message: `no newline and no new bytes for ${timeout} ms; connection closed`,
        line: connection.splitter.takePartial(),
        connection: connection.id,
      });
      closeQuietly(connection.conn);
    }
  }

  #printStats(): void {
    const now = this.#counters;
    const before = this.#lastStats;
    const busy = now.bytesIn !== before.bytesIn || now.connectionsAccepted !==
        before.connectionsAccepted ||
      now.connectionsRefused !== before.connectionsRefused ||
      now.bytesWritten !== before.bytesWritten || now.fsyncs !== before.fsyncs;
    if (busy) {
      console.error(statsLine("stats", {
        counters: now,
        previous: before,
        gauges: this.#gauges(),
        intervalMs: this.#config.statsIntervalMs,
      }));
    }
    this.#lastStats = snapshot(now);
  }

  #gauges() {
    return {
      connections: this.#connections.size,
      openFiles: this.#writer.openFiles,
      bufferedBytes: this.#writer.bufferedBytes,
    };
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

function isClosedError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe;
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
