/**
 * The WebAssembly line scanner (line_scanner.zig): the ingest worker's first pass over received
 * bytes. It vouches for a line only when the line is a canonical event the hand-written check
 * accepts (so `JSON.stringify(JSON.parse(line)) === line` and `isCertainlyValidEvent` holds), and
 * then writes the stored record itself: the line without its `}` plus `received_at`, byte for
 * byte what `fastAccept` gives, without any JavaScript string per line. Declined lines go
 * through the JavaScript path unchanged.
 *
 * The module's bytes come from line_scanner_wasm.ts (generated, committed): the worker may read
 * nothing but its own source files.
 *
 * @module
 */
import { LINE_SCANNER_WASM_BASE64 } from "./line_scanner_wasm.ts";

/** Item kind of a declined line; a vouched line's kind is its session's index. */
export const KIND_DECLINED = -1;
/** `LineScanner.items` holds three numbers per line: kind, start, end. */
export const SCANNER_ITEM_FIELDS = 3;

interface ScannerExports {
  memory: WebAssembly.Memory;
  inputPointer(): number;
  inputCapacity(): number;
  outputPointer(): number;
  itemsPointer(): number;
  stampPointer(): number;
  sessionPointer(index: number): number;
  sessionLength(index: number): number;
  itemCount(): number;
  outputLength(): number;
  reset(): void;
  scan(start: number, end: number, stampLength: number): number;
}

const STAMP_CAPACITY = 64;
const ITEM_CAPACITY = 2048;
const latin1 = new TextDecoder("latin1");
let compiled: WebAssembly.Module | undefined;

function scannerModule(): WebAssembly.Module {
  if (compiled === undefined) {
    const binary = atob(LINE_SCANNER_WASM_BASE64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    compiled = new WebAssembly.Module(bytes);
  }
  return compiled;
}

/** A line the scanner vouched for: its session id and its stored record (without session_seq). */
export interface VouchedLine {
  /** The session id (validated: safe in a file name). */
  sessionId: string;
  /** `fastAccept(line, receivedAt).record`, as UTF-8. */
  record: Uint8Array;
}

/**
 * One instance of the scanner: its own memory with an input buffer, the records it writes and
 * three numbers per line scanned.
 *
 * @example
 * ```ts
 * import { LineScanner } from "./mod.ts";
 * const scanner = new LineScanner();
 * const line = new TextEncoder().encode('{"v":1}');
 * console.log(scanner.vouch(line, "2025-12-01T12:00:00.000Z")); // undefined: not an event
 * ```
 */
export class LineScanner {
  /** The largest piece of lines one {@linkcode load} takes. */
  readonly inputCapacity: number;
  #exports: ScannerExports;
  #input: Uint8Array;
  #output: Uint8Array;
  #items: Int32Array;
  #stamp: Uint8Array;

  /** Instantiates the compiled module (compiled once per thread). */
  constructor() {
    const instance = new WebAssembly.Instance(scannerModule(), {});
    const exports = instance.exports as unknown as ScannerExports;
    this.#exports = exports;
    this.inputCapacity = exports.inputCapacity();
    // The module never grows its memory (fixed buffers), so these views stay valid.
    const buffer = exports.memory.buffer;
    this.#input = new Uint8Array(buffer, exports.inputPointer(), this.inputCapacity);
    this.#output = new Uint8Array(buffer, exports.outputPointer());
    this.#items = new Int32Array(buffer, exports.itemsPointer(), ITEM_CAPACITY * 3);
    this.#stamp = new Uint8Array(buffer, exports.stampPointer(), STAMP_CAPACITY);
  }

  /** Forgets the sessions seen so far (their indexes start again at 0). */
  reset(): void {
    this.#exports.reset();
  }

  /** Copies `bytes` (at most {@linkcode inputCapacity}) to the start of the input buffer. */
  load(bytes: Uint8Array): void {
    this.#input.set(bytes);
  }

  /** Sets the receive time written into records; returns its length for {@linkcode scan}. */
  setStamp(receivedAt: string): number {
    const length = Math.min(receivedAt.length, STAMP_CAPACITY);
    for (let i = 0; i < length; i++) this.#stamp[i] = receivedAt.charCodeAt(i) & 0x7f;
    return length;
  }

  /**
   * Scans the lines of the loaded input from `start` to `end` (empty lines skipped): fills
   * {@linkcode items} and {@linkcode output} and returns where it stopped (`end`, or the start
   * of the line to scan next when the item buffer is full).
   */
  scan(start: number, end: number, stampLength: number): number {
    return this.#exports.scan(start, end, stampLength);
  }

  /** Lines reported by the last {@linkcode scan}. */
  itemCount(): number {
    return this.#exports.itemCount();
  }

  /** Kind, start and end of each line of the last scan (valid until the next scan). */
  get items(): Int32Array {
    return this.#items;
  }

  /** The records of the last scan's vouched lines: `output.subarray(0, outputLength())`. */
  get output(): Uint8Array {
    return this.#output;
  }

  /** Bytes of records the last scan wrote. */
  outputLength(): number {
    return this.#exports.outputLength();
  }

  /** The session id with index `index` (since the last {@linkcode reset}). */
  sessionId(index: number): string {
    const length = this.#exports.sessionLength(index);
    const start = this.#exports.sessionPointer(index);
    return latin1.decode(new Uint8Array(this.#exports.memory.buffer, start, length));
  }

  /**
   * Scans one line (without its newline) on its own: its session and record when vouched for,
   * undefined when declined.
   *
   * @example
   * ```ts
   * import { LineScanner } from "./mod.ts";
   * const line = new TextEncoder().encode("[1]");
   * console.log(new LineScanner().vouch(line, "2025-12-01T12:00:00.000Z")); // undefined
   * ```
   */
  vouch(line: Uint8Array, receivedAt: string): VouchedLine | undefined {
    if (line.length > this.inputCapacity || line.includes(0x0a)) return undefined;
    this.reset();
    this.load(line);
    this.scan(0, line.length, this.setStamp(receivedAt));
    if (this.itemCount() !== 1) return undefined;
    const [kind, start, end] = this.#items;
    if (kind === KIND_DECLINED) return undefined;
    return { sessionId: this.sessionId(kind), record: this.#output.slice(start, end) };
  }
}
