/**
 * Records of rejected input for `<log-dir>/rejected.jsonl`, rate-limited so hostile producers
 * cannot fill the disk with them.
 *
 * @module
 */
import type { RejectReason } from "./ingest.ts";

/** Bytes of the offending input kept in a reject record. */
export const SAMPLE_BYTES = 512;

/** One rejected line, as written to rejected.jsonl. */
export interface RejectRecord {
  /** When the collector rejected it (RFC 3339 UTC). */
  time: string;
  /** Always "Collector": the collector wrote this record itself. */
  source: "Collector";
  /** Why the line was rejected. */
  reason: RejectReason;
  /** Schema path of the problem ("" when the line as a whole is the problem). */
  path: string;
  /** The problem in words. */
  message: string;
  /** Byte length of the rejected line (for overlong lines: the bytes seen before the cut). */
  bytes: number;
  /** The first bytes of the line, printable ASCII kept, everything else as \xNN. */
  sample: string;
  /** Connection number (in accept order) the line came from. */
  connection: number;
}

/** One rejected input, as the collector reports it to {@linkcode RejectLog.record}. */
export interface Reject {
  /** Why it was rejected. */
  reason: RejectReason;
  /** Schema path of the problem ("" when not a schema problem). */
  path: string;
  /** What is wrong, in words. */
  message: string;
  /** The offending bytes; a sample of at most SAMPLE_BYTES is kept. */
  line: Uint8Array;
  /** Which connection sent it. */
  connection: number;
  /** Size of the input when `line` holds only part of it. */
  bytes?: number;
}

/** The record written once per second when records were suppressed by the rate limit. */
export interface SuppressedRecord {
  /** When the summary was written. */
  time: string;
  /** Always "Collector". */
  source: "Collector";
  /** Always "suppressed". */
  reason: "suppressed";
  /** How many reject records were left out since the previous summary. */
  count: number;
}

/**
 * Escapes a byte sample so that any input, including invalid UTF-8 and control bytes, reads
 * back unambiguously: printable ASCII stays, backslash becomes `\\`, the rest `\xNN`.
 *
 * @example
 * ```ts
 * import { escapeSample } from "./reject_log.ts";
 * console.log(escapeSample(new Uint8Array([0x61, 0x00, 0xff]))); // a\x00\xff
 * ```
 */
export function escapeSample(bytes: Uint8Array): string {
  const head = bytes.subarray(0, SAMPLE_BYTES);
  let out = "";
  for (const byte of head) {
    if (byte === 0x5c) out += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/**
 * Turns rejects into JSON lines, at most `perSecond` per second; the rest are counted and
 * summarised in one "suppressed" record when the next second starts.
 *
 * @example
 * ```ts
 * import { RejectLog } from "./reject_log.ts";
 * const lines: string[] = [];
 * const log = new RejectLog({ perSecond: 100, write: (line) => lines.push(line) });
 * const line = new TextEncoder().encode("not json");
 * log.record({ reason: "invalid_json", path: "", message: "bad", line, connection: 1 });
 * ```
 */
export class RejectLog {
  #perSecond: number;
  #write: (line: string) => void;
  #now: () => number;
  #windowStart = 0;
  #inWindow = 0;
  #suppressed = 0;

  /** `write` receives each finished line (without `\n`). */
  constructor(options: { perSecond: number; write: (line: string) => void; now?: () => number }) {
    this.#perSecond = options.perSecond;
    this.#write = options.write;
    this.#now = options.now ?? Date.now;
  }

  /** Records one reject, or counts it as suppressed when over the rate. */
  record(reject: Reject): void {
    const now = this.#now();
    this.#roll(now);
    if (this.#inWindow >= this.#perSecond) {
      this.#suppressed++;
      return;
    }
    this.#inWindow++;
    const record: RejectRecord = {
      time: new Date(now).toISOString(),
      source: "Collector",
      reason: reject.reason,
      path: reject.path,
      message: reject.message.slice(0, 512),
      bytes: reject.bytes ?? reject.line.length,
      sample: escapeSample(reject.line),
      connection: reject.connection,
    };
    this.#write(JSON.stringify(record));
  }

  /** Starts a new rate window when a second has passed (call on a timer). */
  tick(): void {
    this.#roll(this.#now());
  }

  /** Writes the pending "suppressed" summary, if any (on a timer and at exit). */
  flushSuppressed(): void {
    if (this.#suppressed === 0) return;
    const record: SuppressedRecord = {
      time: new Date(this.#now()).toISOString(),
      source: "Collector",
      reason: "suppressed",
      count: this.#suppressed,
    };
    this.#suppressed = 0;
    this.#write(JSON.stringify(record));
  }

  #roll(now: number): void {
    if (now - this.#windowStart < 1000) return;
    this.#windowStart = now;
    this.#inWindow = 0;
    this.flushSuppressed();
  }
}
