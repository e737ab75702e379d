/**
 * The ingest worker: runs the zod-free part of the line function ({@linkcode fastAccept}) on
 * whole chunks of lines, on the second core, while the main thread reads sockets and writes
 * files. Started by {@linkcode IngestPipeline} with permission to read its own source files
 * only. Lines it does not accept go back to the main thread as they were received, which
 * decides them with the full line function (zod, reject records).
 *
 * @module
 */
import { fastAccept } from "./fast_ingest.ts";
import type { IngestJob, IngestResult } from "./ingest_pipeline.ts";
import { KIND_DECLINED, LineScanner, SCANNER_ITEM_FIELDS } from "./line_scanner/mod.ts";

/** `IngestResult.items` holds four numbers per line: kind, start, end, run index. */
export const ITEM_FIELDS = 4;
/** Item kind (any other kind is an index in `sessions`): the line text, for the main thread. */
export const KIND_UNDECIDED_TEXT = -1;
/** Item kind: a line that is not valid UTF-8; `start` indexes `raws`. */
export const KIND_UNDECIDED_RAW = -2;

const NEWLINE = 0x0a;
/** Below V8's large-object size (128 KiB) also once joined with `received_at` added. */
const PIECE_BYTES = 64 * 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Decodes about twice as fast as the fatal decoder; a U+FFFD in its output means: check. */
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/** Options of {@linkcode processJob}. */
export interface ProcessJobOptions {
  /**
   * Whether the WebAssembly line scanner runs first (default true): it stores the lines it
   * vouches for itself, the others take the JavaScript path. False: the JavaScript path only.
   */
  scanner?: boolean;
}

/**
 * Turns one job (lines, each ending in `\n`, grouped in runs with their receive time) into
 * stored records and the lines left for the main thread, in the order received.
 *
 * The line scanner (line_scanner/mod.ts) runs first; the lines it declines go through
 * {@linkcode fastAccept} as before. Should the scanner fail on a job (a trap of a safety check),
 * the whole job is done again on the JavaScript path, with a fresh scanner for the next one.
 *
 * @example
 * ```ts
 * import { processJob } from "./ingest_worker.ts";
 * const bytes = new TextEncoder().encode("[1]\n");
 * const result = processJob({ id: 1, bytes, runs: new Float64Array([4, Date.now()]) });
 * console.log(result.items); // Int32Array [-1, 0, 3, 0]: undecided, for the main thread
 * ```
 */
export function processJob(job: IngestJob, options: ProcessJobOptions = {}): IngestResult {
  const scanner = options.scanner === false ? undefined : lineScanner();
  if (scanner !== undefined) {
    try {
      return runJob(job, scanner);
    } catch {
      scannerInstance = undefined;
    }
  }
  return runJob(job, undefined);
}

let scannerInstance: LineScanner | undefined;
/** Why the scanner could not be instantiated; then every job takes the JavaScript path. */
let scannerError: string | undefined;

function lineScanner(): LineScanner | undefined {
  if (scannerInstance === undefined && scannerError === undefined) {
    try {
      scannerInstance = new LineScanner();
    } catch (error) {
      scannerError = String(error);
    }
  }
  return scannerInstance;
}

function runJob(job: IngestJob, scanner: LineScanner | undefined): IngestResult {
  const state = new JobState(job.bytes.length, scanner);
  scanner?.reset();
  let start = 0;
  for (let r = 0; r < job.runs.length; r += 2) {
    const end = job.runs[r];
    const receivedAt = stamp(job.runs[r + 1]);
    const stampLength = scanner?.setStamp(receivedAt) ?? 0;
    const runIndex = r / 2;
    // Pieces of at most PIECE_BYTES (cut after a newline; a longer line is one piece), so the
    // decoded text and the joined records stay young-generation strings: larger ones go
    // straight to V8's large-object space and are freed only by a full collection, which let
    // peak RSS grow with the ingest rate.
    let pieceStart = start;
    while (pieceStart < end - 1) {
      let pieceEnd = end - 1;
      if (pieceEnd - pieceStart > PIECE_BYTES) {
        const cut = job.bytes.lastIndexOf(NEWLINE, pieceStart + PIECE_BYTES);
        pieceEnd = cut > pieceStart ? cut : job.bytes.indexOf(NEWLINE, pieceStart + PIECE_BYTES);
        if (pieceEnd === -1 || pieceEnd > end - 1) pieceEnd = end - 1;
      }
      const piece = job.bytes.subarray(pieceStart, pieceEnd);
      if (scanner !== undefined && piece.length <= scanner.inputCapacity) {
        state.addScanned(piece, receivedAt, runIndex, stampLength);
      } else {
        state.addPiece(piece, receivedAt, runIndex);
      }
      pieceStart = pieceEnd + 1;
    }
    start = end;
  }
  return state.result(job.id);
}

class JobState {
  parts: string[] = [];
  chars = 0;
  /** Index in `items` of the first item of the parts not yet encoded. */
  firstItem = 0;
  out: Uint8Array;
  at = 0;
  items: number[] = [];
  sessions: string[] = [];
  sessionIndex = new Map<string, number>();
  raws: Uint8Array[] = [];

  scanner: LineScanner | undefined;
  /** The `sessions` index of each of the scanner's session indexes in this job. */
  scannerSessions: number[] = [];

  constructor(inputBytes: number, scanner: LineScanner | undefined) {
    // Records are the lines plus `,"received_at":"..."` (40 bytes): room for lines of 320 bytes.
    this.out = new Uint8Array(inputBytes + (inputBytes >> 3) + 4096);
    this.scanner = scanner;
  }

  /**
   * Lines (without the last one's newline) received together, through the line scanner: the
   * records it wrote are copied as they are, the lines it declined (each run of consecutive
   * ones) go to {@linkcode addPiece}; items stay in the order received.
   */
  addScanned(piece: Uint8Array, receivedAt: string, runIndex: number, stampLength: number): void {
    const scanner = this.scanner as LineScanner;
    scanner.load(piece);
    let position = 0;
    while (position < piece.length) {
      const next = scanner.scan(position, piece.length, stampLength);
      if (next <= position) throw new Error("the line scanner made no progress");
      const outputLength = scanner.outputLength();
      this.#reserve(outputLength);
      const base = this.at;
      this.out.set(scanner.output.subarray(0, outputLength), base);
      this.at += outputLength;
      const scanned = scanner.items;
      const end = scanner.itemCount() * SCANNER_ITEM_FIELDS;
      let declinedStart = -1;
      let declinedEnd = -1;
      for (let i = 0; i < end; i += SCANNER_ITEM_FIELDS) {
        const kind = scanned[i];
        if (kind === KIND_DECLINED) {
          if (declinedStart === -1) declinedStart = scanned[i + 1];
          declinedEnd = scanned[i + 2];
          continue;
        }
        if (declinedStart !== -1) {
          this.addPiece(piece.subarray(declinedStart, declinedEnd), receivedAt, runIndex);
          declinedStart = -1;
        }
        const session = this.scannerSessions[kind] ?? this.#scannerSession(kind);
        this.items.push(session, base + scanned[i + 1], base + scanned[i + 2], runIndex);
      }
      if (declinedStart !== -1) {
        this.addPiece(piece.subarray(declinedStart, declinedEnd), receivedAt, runIndex);
      }
      position = next;
    }
  }

  #scannerSession(kind: number): number {
    const id = (this.scanner as LineScanner).sessionId(kind);
    const index = this.sessionIndex.get(id) ?? this.#addSession(id);
    this.scannerSessions[kind] = index;
    return index;
  }

  /** Room for `bytes` more bytes in `out`. */
  #reserve(bytes: number): void {
    if (this.out.length - this.at >= bytes) return;
    const grown = new Uint8Array(Math.max(this.out.length * 2, this.at + bytes));
    grown.set(this.out.subarray(0, this.at));
    this.out = grown;
  }

  /** Lines (without the last one's newline) received together. */
  addPiece(piece: Uint8Array, receivedAt: string, runIndex: number): void {
    // Items pushed since the last encoding are the scanner's, already in `out`.
    this.firstItem = this.items.length;
    let text: string | undefined;
    try {
      const decoded = lenient.decode(piece);
      // Invalid bytes decode to U+FFFD, which valid text may hold too: then decode strictly.
      text = decoded.indexOf("\uFFFD") === -1 ? decoded : utf8.decode(piece);
    } catch {
      // Not valid UTF-8 somewhere: decode line by line, so only the bad lines are set aside.
      this.addUndecodedRun(piece, receivedAt, runIndex);
    }
    if (text !== undefined) this.addText(text, receivedAt, runIndex);
    this.#encodeParts();
  }

  addText(text: string, receivedAt: string, runIndex: number): void {
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf("\n", start);
      if (end === -1) end = text.length;
      if (end > start) this.addLine(text.slice(start, end), receivedAt, runIndex);
      start = end + 1;
    }
  }

  addUndecodedRun(run: Uint8Array, receivedAt: string, runIndex: number): void {
    let start = 0;
    while (start <= run.length) {
      let end = run.indexOf(NEWLINE, start);
      if (end === -1) end = run.length;
      if (end > start) {
        const line = run.subarray(start, end);
        let text: string | undefined;
        try {
          text = utf8.decode(line);
        } catch {
          this.raws.push(line.slice());
          this.items.push(KIND_UNDECIDED_RAW, this.raws.length - 1, 0, runIndex);
        }
        if (text !== undefined) this.addLine(text, receivedAt, runIndex);
      }
      start = end + 1;
    }
  }

  addLine(text: string, receivedAt: string, runIndex: number): void {
    const accepted = fastAccept(text, receivedAt);
    let kind = KIND_UNDECIDED_TEXT;
    let part = text;
    if (accepted !== undefined) {
      part = accepted.record;
      kind = this.sessionIndex.get(accepted.sessionId) ?? this.#addSession(accepted.sessionId);
    }
    this.parts.push(part);
    this.items.push(kind, this.chars, this.chars + part.length, runIndex);
    this.chars += part.length;
  }

  #addSession(sessionId: string): number {
    this.sessions.push(sessionId);
    this.sessionIndex.set(sessionId, this.sessions.length - 1);
    return this.sessions.length - 1;
  }

  /**
   * Encodes the parts gathered since the last call in one call; item offsets become byte
   * offsets in `out` (recomputed part by part when the text is not all ASCII).
   */
  #encodeParts(): void {
    if (this.parts.length === 0) return;
    const joined = this.parts.join("");
    this.#reserve(joined.length * 3);
    const written = encoder.encodeInto(joined, this.out.subarray(this.at)).written;
    const items = this.items;
    let part = 0;
    let offset = this.at;
    for (let i = this.firstItem; i < items.length; i += ITEM_FIELDS) {
      if (items[i] === KIND_UNDECIDED_RAW) continue;
      const bytes = written === joined.length
        ? items[i + 2] - items[i + 1]
        : encoder.encode(this.parts[part]).length;
      part++;
      items[i + 1] = offset;
      items[i + 2] = offset + bytes;
      offset += bytes;
    }
    this.at += written;
    this.parts = [];
    this.chars = 0;
    this.firstItem = items.length;
  }

  result(id: number): IngestResult {
    const items = new Int32Array(this.items);
    const out = this.out.subarray(0, this.at);
    return { id, out, items, sessions: this.sessions, raws: this.raws };
  }
}

let stampMs = NaN;
let stampText = "";

/** The ISO form of a receive time; lines of one millisecond share it. */
function stamp(ms: number): string {
  if (ms !== stampMs) {
    stampMs = ms;
    stampText = new Date(ms).toISOString();
  }
  return stampText;
}

/** What the worker uses of its global scope. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<IngestJob>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

/**
 * What this worker may do, as Deno reports it: sent once at start, so the collector's log shows
 * the permissions the worker really has.
 */
function ownPermissions(): Record<string, string> {
  const query = (descriptor: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state;
  return {
    "read(own source)": query({ name: "read", path: new URL(import.meta.url).pathname }),
    "read(/)": query({ name: "read", path: "/" }),
    "write(/)": query({ name: "write", path: "/" }),
    net: query({ name: "net" }),
    run: query({ name: "run" }),
    ffi: query({ name: "ffi" }),
    sys: query({ name: "sys" }),
    env: query({ name: "env" }),
  };
}

/**
 * The worker's side of the messages: first its permissions, then one result (or error) per job,
 * in job order.
 */
function serve(scope: WorkerScope): void {
  lineScanner();
  scope.postMessage({
    permissions: ownPermissions(),
    lineScanner: scannerError === undefined ? "ready" : `unavailable: ${scannerError}`,
  });
  scope.onmessage = (event) => {
    const job = event.data;
    let result: IngestResult;
    try {
      result = processJob(job);
    } catch (error) {
      scope.postMessage({ id: job.id, error: String((error as Error)?.stack ?? error) });
      return;
    }
    scope.postMessage(result, [
      result.out.buffer as ArrayBuffer,
      result.items.buffer as ArrayBuffer,
    ]);
  };
}

// Only as a worker: the main thread (and tests) may import processJob directly.
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  serve(globalThis as unknown as WorkerScope);
}
