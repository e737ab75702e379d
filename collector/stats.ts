/**
 * Counters of the collector and the structured stats lines printed on stderr.
 *
 * @module
 */
import { REJECT_REASONS, type RejectReason } from "./ingest.ts";

/** Everything the collector counts; printed as JSON by {@linkcode statsLine}. */
export interface Counters {
  /** Valid events accepted (stored or waiting in the buffer). */
  events: number;
  /** Bytes read from all connections. */
  bytesIn: number;
  /** Bytes written to session and reject files. */
  bytesWritten: number;
  /** Connections accepted since start. */
  connectionsAccepted: number;
  /** Times the accept loop waited because `maxConnections` were open. */
  connectionLimitWaits: number;
  /** Failed accept calls (e.g. out of file descriptors), each retried. */
  acceptErrors: number;
  /** Rejected lines by reason. */
  rejects: Record<RejectReason, number>;
  /** Failed writes or fsyncs (each retried). */
  writeErrors: number;
  /** Batches written. */
  batches: number;
  /** fsync rounds. */
  fsyncs: number;
  /** Times readers paused because the buffer was full. */
  backpressurePauses: number;
}

/** A fresh set of counters, all zero. */
export function newCounters(): Counters {
  const rejects = Object.fromEntries(REJECT_REASONS.map((reason) => [reason, 0])) as Record<
    RejectReason,
    number
  >;
  return {
    events: 0,
    bytesIn: 0,
    bytesWritten: 0,
    connectionsAccepted: 0,
    connectionLimitWaits: 0,
    acceptErrors: 0,
    rejects,
    writeErrors: 0,
    batches: 0,
    fsyncs: 0,
    backpressurePauses: 0,
  };
}

/** Gauges sampled when a stats line is printed. */
export interface Gauges {
  /** Connections open now. */
  connections: number;
  /** Session/reject files open now. */
  openFiles: number;
  /** Bytes of events accepted but not yet written. */
  bufferedBytes: number;
}

/** What one stats line reports. */
export interface StatsSample {
  /** The counters now. */
  counters: Counters;
  /** The counters at the start of the interval (fresh counters for the whole run). */
  previous: Counters;
  /** Gauges sampled now. */
  gauges: Gauges;
  /** Length of the interval, for the rates. */
  intervalMs: number;
}

/**
 * One stats line: `kind` is "stats" every interval and "summary" at exit; rates are per second
 * over the interval.
 *
 * @example
 * ```ts
 * import { newCounters, statsLine } from "./stats.ts";
 * const counters = newCounters();
 * console.error(statsLine("stats", {
 *   counters,
 *   previous: newCounters(),
 *   gauges: { connections: 0, openFiles: 0, bufferedBytes: 0 },
 *   intervalMs: 10_000,
 * }));
 * ```
 */
export function statsLine(kind: "stats" | "summary", sample: StatsSample): string {
  const { counters, previous } = sample;
  const seconds = Math.max(sample.intervalMs, 1) / 1000;
  const rejects = Object.fromEntries(
    Object.entries(counters.rejects).filter(([, count]) => count > 0),
  );
  return JSON.stringify({
    time: new Date().toISOString(),
    kind,
    eventsPerSecond: Math.round((counters.events - previous.events) / seconds),
    bytesInPerSecond: Math.round((counters.bytesIn - previous.bytesIn) / seconds),
    ...sample.gauges,
    ...counters,
    rejects,
  });
}

/** Copies counters, so the next interval's rates can be computed. */
export function snapshot(counters: Counters): Counters {
  return { ...counters, rejects: { ...counters.rejects } };
}
