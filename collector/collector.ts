/**
 * One running collector: the accept loop, each producer connection (read, split, ingest), the
 * reject records, the timers (partial lines, stats) and the drain on shutdown.
 *
 * @module
 */
import { AcceptPause } from "./accept_pause.ts";
import type { CollectorConfig } from "./config.ts";
import { ingestLine, ingestText, type LineOutcome } from "./ingest.ts";
import { IngestPipeline, type IngestWorkerSpec } from "./ingest_pipeline.ts";
import { type HeldBytesBudget, LineSplitter } from "./line_splitter.ts";
import { LogWriter } from "./log_writer.ts";
import { type Reject, RejectLog } from "./reject_log.ts";
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
/** Bytes handed to the ingest worker and not answered yet above which readers wait. */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;
/** How long the drain waits for the ingest worker before doing its work on the main thread. */
const WORKER_DRAIN_MS = 1000;
/** A sweep this much later than its interval means the process was stopped or starved. */
const STALL_MS = 1000;

/** One producer connection. */
interface Connection {
  id: number;
  conn: Deno.UnixConn;
  splitter: LineSplitter;
  lastProgress: number;
  /** performance.now() of the last read that returned bytes (for the accept pause). */
  lastReadMs: number;
  reading: boolean;
  draining: boolean;
  quietTimer: QuietTimer | undefined;
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
 * The accept loop, the connections and the timers of one running collector.
 *
 * @example
 * ```ts
 * import { Collector, stderrLogger } from "./collector.ts";
 * import { resolveConfig } from "./config.ts";
 * const config = resolveConfig({ flags: { socket: "/tmp/a.sock", logDir: "/tmp/logs" } });
 * const collector = new Collector(config, {
 *   listener: Deno.listen({ transport: "unix", path: config.socket }),
 *   log: stderrLogger,
 * });
 * Deno.addSignalListener("SIGTERM", () => collector.shutdown());
 * const unwrittenBytes = await collector.run();
 * ```
 */
export class Collector {
  #config: CollectorConfig;
  #listener: Deno.UnixListener;
  #log: Logger;
  #counters: Counters = newCounters();
  #lastStats: Counters = newCounters();
  #writer: LogWriter;
  #pipeline: IngestPipeline;
  #rejects: RejectLog;
  #connections = new Set<Connection>();
  /** Resolves the accept loop's wait at `maxConnections` (a connection ended, or shutdown). */
  #wakeAtLimit: (() => void) | undefined;
  #heldBytes: HeldBytesBudget;
  #handlers = new Set<Promise<void>>();
  #nextId = 1;
  #receivedAt = "";
  #receivedAtMs = NaN;
  #stopping = false;
  #listenerClosed = false;
  #acceptQuietTimer: QuietTimer | undefined;
  #acceptPause: AcceptPause;
  #stoppedAt = 0;
  #drainDeadline: ReturnType<typeof setTimeout> | undefined;
  // Paused readers wait on fresh promises woken from here, not on one long-lived promise: every
  // Promise.race against a promise that stays pending keeps a reaction on it until it settles.
  #drainIsOver = false;
  #drainWaiters = new Set<() => void>();
  #sweeper: ReturnType<typeof setInterval>;
  #sweepEveryMs: number;
  #lastSweepAt = Date.now();
  #statsTimer: ReturnType<typeof setInterval>;
  #started = Date.now();

  /**
   * Takes over `listener`; `log` receives the structured log lines. `ingestWorker` starts the
   * line function in a Worker (undefined: on the main thread).
   */
  constructor(
    config: CollectorConfig,
    options: { listener: Deno.UnixListener; log: Logger; ingestWorker?: IngestWorkerSpec },
  ) {
    const { listener, log } = options;
    this.#config = config;
    this.#listener = listener;
    this.#log = log;
    this.#heldBytes = { used: 0, limit: config.maxBufferBytes };
    this.#writer = new LogWriter({
      logDir: config.logDir,
      maxOpenFiles: config.maxOpenFiles,
      idleFileMs: config.idleFileMs,
      fsyncIntervalMs: config.fsyncIntervalMs,
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
    this.#pipeline = new IngestPipeline({
      sink: {
        accepted: (sessionId, record) => {
          this.#counters.events++;
          this.#writer.appendEvent(sessionId, record);
        },
        undecided: (line, connection, receivedAtMs) => {
          this.#stampReceivedAt(receivedAtMs);
          this.#store(ingestLine(line, this.#receivedAt), line, connection);
        },
        inProcess: (run, connection, receivedAtMs) => {
          this.#stampReceivedAt(receivedAtMs);
          this.#ingestRun(run, connection);
        },
      },
      log,
      worker: options.ingestWorker,
      maxInFlightBytes: MAX_IN_FLIGHT_BYTES,
    });
    this.#rejects = new RejectLog({
      perSecond: config.rejectRecordsPerSecond,
      write: (line) => this.#writer.appendReject(line),
    });
    const sweepEvery = Math.min(1000, Math.max(20, Math.floor(config.partialLineTimeoutMs / 4)));
    this.#sweepEveryMs = sweepEvery;
    this.#acceptPause = new AcceptPause(config.acceptPauseMs);
    this.#sweeper = setInterval(() => this.#sweep(), sweepEvery);
    this.#statsTimer = setInterval(() => this.#printStats(), config.statsIntervalMs);
  }

  /** Accepts until shutdown, drains, writes everything; returns bytes left unwritten. */
  async run(): Promise<number> {
    await this.#acceptUntilStopped();
    this.shutdown();
    while (this.#handlers.size > 0) await Promise.all(this.#handlers);
    await this.#pipeline.drain(WORKER_DRAIN_MS);
    this.#pipeline.close();
    clearTimeout(this.#drainDeadline);
    clearInterval(this.#sweeper);
    clearInterval(this.#statsTimer);
    this.#rejects.flushSuppressed();
    const left = SHUTDOWN_BUDGET_MS - (Date.now() - this.#stoppedAt);
    return await this.#writer.close(left);
  }

  /**
   * Starts the shutdown (idempotent): connections already waiting in the listen backlog are
   * still accepted (their producers have sent their events), then the listener closes once no
   * new connection came for a quiet period; every connection is read until it goes quiet.
   */
  shutdown(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#stoppedAt = Date.now();
    this.#log("shutting down: draining connections", {
      connections: this.#connections.size,
      events: this.#counters.events,
      bufferedBytes: this.#writer.bufferedBytes,
    });
    // At maxConnections the accept loop is not accepting, so quiet does not mean the backlog is
    // empty: producers waiting there have sent their events. Close the listener only once the
    // loop has been able to accept for a quiet period (the drain deadline still bounds this).
    this.#acceptQuietTimer = quietTimer(() => {
      if (this.#wakeAtLimit === undefined) this.#closeListener();
      else this.#acceptQuietTimer?.restart();
    });
    for (const connection of this.#connections) {
      connection.draining = true;
      if (connection.reading) this.#armQuietTimer(connection);
    }
    this.#drainDeadline = setTimeout(() => {
      this.#closeListener();
      for (const connection of this.#connections) closeQuietly(connection.conn);
      this.#drainIsOver = true;
      for (const wake of this.#drainWaiters) wake();
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
    while (!this.#listenerClosed) {
      if (this.#connections.size >= this.#config.maxConnections) {
        // At the limit, producers wait in the listen backlog (a connect there blocks, bounded by
        // the producer's own timeout) rather than being accepted and closed unread: a line they
        // had already sent would be lost without either side knowing.
        this.#counters.connectionLimitWaits++;
        await new Promise<void>((resolve) => (this.#wakeAtLimit = resolve));
        this.#wakeAtLimit = undefined;
        // Draining: the backlog gets a full quiet period from now, not from before the wait.
        this.#acceptQuietTimer?.restart();
        continue;
      }
      let conn: Deno.UnixConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#listenerClosed) return;
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
      this.#acceptQuietTimer?.restart();
      this.#accept(conn);
      this.#acceptPause.afterAccept();
    }
  }

  #closeListener(): void {
    if (this.#listenerClosed) return;
    this.#listenerClosed = true;
    this.#wakeAtLimit?.();
    this.#acceptQuietTimer?.cancel();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
  }

  #accept(conn: Deno.UnixConn): void {
    this.#counters.connectionsAccepted++;
    const id = this.#nextId++;
    const splitter = new LineSplitter(this.#config.maxLineBytes, {
      lines: (run) => this.#pipeline.add(run, id, this.#receivedAtMs),
      overlong: (head, cause) =>
        this.#rejectCounted({
          reason: "overlong_line",
          path: "",
          message: cause === "line"
            ? `line longer than ${this.#config.maxLineBytes} bytes; discarded up to its newline`
            : `unfinished lines of all connections hold over ${this.#heldBytes.limit} bytes; ` +
              "this line is discarded up to its newline",
          line: head,
          connection: id,
          bytes: cause === "line" ? this.#config.maxLineBytes + 1 : head.length,
        }),
    }, { budget: this.#heldBytes });
    const connection: Connection = {
      id,
      conn,
      splitter,
      lastProgress: Date.now(),
      lastReadMs: Number.NEGATIVE_INFINITY,
      reading: false,
      // Accepted while shutting down (it waited in the backlog): drain it like the others.
      draining: this.#stopping,
      quietTimer: undefined,
      dropPartial: false,
    };
    this.#connections.add(connection);
    const handler = this.#handle(connection).finally(() => {
      this.#connections.delete(connection);
      this.#wakeAtLimit?.();
      this.#handlers.delete(handler);
    });
    this.#handlers.add(handler);
  }

  /** Resolves at the writer's or the pipeline's next progress, or when the drain is over. */
  #nextProgress(): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#drainWaiters.delete(wake);
        resolve();
      };
      this.#drainWaiters.add(wake);
      Promise.race([this.#writer.whenProgress(), this.#pipeline.whenProgress()]).then(wake);
    });
  }

  async #handle(connection: Connection): Promise<void> {
    let buffer = new Uint8Array(FIRST_READ_BYTES);
    try {
      while (true) {
        if (this.#mustPause()) {
          this.#counters.backpressurePauses++;
          // After the drain deadline, stop waiting for a writer that cannot make progress
          // (disk still full): the connection is closed and the shutdown goes on.
          while (this.#mustPause() && !this.#drainIsOver) await this.#nextProgress();
          // The producer could not make progress while this reader was paused: the partial
          // line timeout counts from now, not from the last read before the pause.
          connection.lastProgress = Date.now();
        }
        connection.reading = true;
        if (connection.draining) this.#armQuietTimer(connection);
        const read = await connection.conn.read(buffer);
        connection.reading = false;
        connection.quietTimer?.cancel();
        if (read === null) break;
        const now = Date.now();
        connection.lastReadMs = this.#acceptPause.afterRead(connection.lastReadMs);
        connection.lastProgress = now;
        this.#counters.bytesIn += read;
        this.#stampReceivedAt(now);
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
      connection.quietTimer?.cancel();
      closeQuietly(connection.conn);
    }
    if (!connection.dropPartial) {
      this.#stampReceivedAt(Date.now());
      connection.splitter.end();
    }
  }

  /**
   * True when readers must wait: the bytes accepted but not written plus those still with the
   * ingest worker reach the buffer limit (or the worker has its fill).
   */
  #mustPause(): boolean {
    return this.#pipeline.full ||
      this.#writer.bufferedBytes + this.#pipeline.inFlightBytes >= this.#config.maxBufferBytes;
  }

  /**
   * Sets the receive time of the lines about to be ingested. Producers that write one event per
   * call (every shim) mean one read per event: format the time once per millisecond, not per read.
   */
  #stampReceivedAt(now: number): void {
    if (now === this.#receivedAtMs) return;
    this.#receivedAtMs = now;
    this.#receivedAt = new Date(now).toISOString();
  }

  /** Lines of one run: decoded in one call; per line only when the run is not valid UTF-8. */
  #ingestRun(run: Uint8Array, connection: number): void {
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

  #store(outcome: LineOutcome, line: Uint8Array | string, connection: number): void {
    if (outcome.ok) {
      this.#counters.events++;
      this.#writer.appendEvent(outcome.sessionId, encoder.encode(outcome.record));
      return;
    }
    const bytes = typeof line === "string" ? encoder.encode(line) : line;
    this.#rejectCounted({ ...outcome, line: bytes, connection });
  }

  #rejectCounted(reject: Reject): void {
    this.#counters.rejects[reject.reason]++;
    this.#rejects.record(reject);
  }

  #armQuietTimer(connection: Connection): void {
    connection.quietTimer ??= quietTimer(() => closeQuietly(connection.conn));
    connection.quietTimer.restart();
  }

  #sweep(): void {
    this.#rejects.tick();
    const now = Date.now();
    const timeout = this.#config.partialLineTimeoutMs;
    const sinceLastSweep = now - this.#lastSweepAt;
    this.#lastSweepAt = now;
    if (sinceLastSweep > this.#sweepEveryMs + STALL_MS) {
      // This process did not run for a while (SIGSTOP, a paused container, a suspended
      // machine) or the clock jumped: bytes producers sent meanwhile wait unread in the
      // sockets, so that time must not count as their lack of progress.
      for (const connection of this.#connections) connection.lastProgress = now;
      return;
    }
    for (const connection of this.#connections) {
      // A reader paused by backpressure is not reading: its producer cannot make progress.
      if (!connection.reading || !connection.splitter.hasPartialLine) continue;
      if (now - connection.lastProgress <= timeout) continue;
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
      now.connectionLimitWaits !== before.connectionLimitWaits ||
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

/** Runs `onQuiet` once DRAIN_QUIET_MS pass without a restart(). */
interface QuietTimer {
  restart(): void;
  cancel(): void;
}

function quietTimer(onQuiet: () => void): QuietTimer {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const restart = () => {
    clearTimeout(timer);
    const due = Date.now() + DRAIN_QUIET_MS;
    timer = setTimeout(() => {
      // A late timer means the event loop was busy (e.g. encoding a large batch), so a read or
      // accept that already has data may not have been delivered yet: wait another period.
      if (Date.now() - due > LATE_TIMER_MS) restart();
      else onQuiet();
    }, DRAIN_QUIET_MS);
  };
  restart();
  return { restart, cancel: () => clearTimeout(timer) };
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
