/**
 * Splits a byte stream into newline-terminated lines with a bound on line length.
 *
 * @module
 */

const NEWLINE = 0x0a;

/** Receives what a {@linkcode LineSplitter} finds. */
export interface LineSink {
  /**
   * One or more complete lines, separated by `\n`, without the last line's `\n`; each at most
   * the limit. Handing over runs instead of single lines lets the caller decode many lines in
   * one call. The bytes may be a view of a reused read buffer: consume them before returning.
   */
  lines(run: Uint8Array): void;
  /**
   * A line went over the limit (`cause` "line"), or holding it would exceed the memory shared by
   * all splitters (`cause` "memory"); `head` holds its first bytes. It is discarded up to `\n`.
   */
  overlong(head: Uint8Array, cause: "line" | "memory"): void;
}

/**
 * Bytes of unfinished lines held by all splitters together, and their limit: without it, 4096
 * connections each holding a 1 MiB half line could exhaust memory.
 */
export interface HeldBytesBudget {
  /** Bytes held now (updated by the splitters). */
  used: number;
  /** Most bytes all splitters may hold. */
  readonly limit: number;
}

/**
 * Cuts chunks into lines. A line longer than `maxLineBytes` is reported once through
 * {@linkcode LineSink.overlong} and then skipped up to the next newline, so the stream stays
 * usable; memory per splitter never exceeds `maxLineBytes`, and all splitters sharing a
 * {@linkcode HeldBytesBudget} never hold more than its limit.
 *
 * @example
 * ```ts
 * import { LineSplitter } from "./line_splitter.ts";
 * const lines: string[] = [];
 * const splitter = new LineSplitter(1024, {
 *   lines: (run) => lines.push(...new TextDecoder().decode(run).split("\n")),
 *   overlong: () => {},
 * });
 * splitter.push(new TextEncoder().encode("a\nb"));
 * splitter.push(new TextEncoder().encode("c\n"));
 * console.log(lines); // ["a", "bc"]
 * ```
 */
export class LineSplitter {
  #maxLineBytes: number;
  #sink: LineSink;
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  #discarding = false;
  #budget: HeldBytesBudget;

  /**
   * Creates a splitter that passes lines of at most `maxLineBytes` bytes to `sink`; `budget` is
   * shared with other splitters (default: one of its own, limited to `maxLineBytes`).
   */
  constructor(maxLineBytes: number, sink: LineSink, options: { budget?: HeldBytesBudget } = {}) {
    this.#maxLineBytes = maxLineBytes;
    this.#sink = sink;
    this.#budget = options.budget ?? { used: 0, limit: maxLineBytes };
  }

  /**
   * Drops the unfinished line (e.g. when its connection timed out) and returns its first bytes,
   * for the record of what was dropped; empty when nothing was held.
   */
  takePartial(): Uint8Array {
    const head = this.#parts[0] ?? new Uint8Array(0);
    this.#release();
    this.#discarding = false;
    return head;
  }

  /** True while bytes of an unfinished line are held (or being discarded). */
  get hasPartialLine(): boolean {
    return this.#partBytes > 0 || this.#discarding;
  }

  /** Feeds the next chunk of the stream. `chunk` may be reused by the caller afterwards. */
  push(chunk: Uint8Array): void {
    const first = chunk.indexOf(NEWLINE);
    if (first === -1) {
      this.#hold(chunk);
      return;
    }
    this.#complete(chunk.subarray(0, first));
    const last = chunk.lastIndexOf(NEWLINE);
    if (last > first) this.#completeRun(chunk.subarray(first + 1, last));
    if (last + 1 < chunk.length) this.#hold(chunk.subarray(last + 1));
  }

  /**
   * Ends the stream. An unterminated last line is passed on as a line (a producer that exits
   * without a final newline still delivers its event).
   */
  end(): void {
    if (this.#discarding) {
      this.#discarding = false;
      return;
    }
    if (this.#partBytes > 0) this.#complete(new Uint8Array(0));
  }

  #hold(rest: Uint8Array): void {
    if (this.#discarding) return;
    if (this.#partBytes + rest.length > this.#maxLineBytes) {
      this.#startDiscarding(rest, "line");
      return;
    }
    if (this.#budget.used + rest.length > this.#budget.limit) {
      this.#startDiscarding(rest, "memory");
      return;
    }
    this.#parts.push(rest.slice());
    this.#partBytes += rest.length;
    this.#budget.used += rest.length;
  }

  /** Passes on lines that lie whole in one chunk, as few runs as the length limit allows. */
  #completeRun(run: Uint8Array): void {
    if (run.length <= this.#maxLineBytes) {
      this.#sink.lines(run);
      return;
    }
    let start = 0;
    let runStart = 0;
    while (start <= run.length) {
      let end = run.indexOf(NEWLINE, start);
      if (end === -1) end = run.length;
      if (end - start > this.#maxLineBytes) {
        if (start > runStart) this.#sink.lines(run.subarray(runStart, start - 1));
        this.#sink.overlong(run.subarray(start, end), "line");
        runStart = end + 1;
      }
      start = end + 1;
    }
    if (runStart < run.length) this.#sink.lines(run.subarray(runStart));
  }

  #complete(tail: Uint8Array): void {
    if (this.#discarding) {
      this.#discarding = false;
      return;
    }
    if (this.#partBytes + tail.length > this.#maxLineBytes) {
      this.#startDiscarding(tail, "line");
      this.#discarding = false;
      return;
    }
    if (this.#partBytes === 0) {
      this.#sink.lines(tail);
      return;
    }
    const line = new Uint8Array(this.#partBytes + tail.length);
    let offset = 0;
    for (const part of this.#parts) {
      line.set(part, offset);
      offset += part.length;
    }
    line.set(tail, offset);
    this.#release();
    this.#sink.lines(line);
  }

  #startDiscarding(rest: Uint8Array, cause: "line" | "memory"): void {
    const head = this.#parts.length > 0 ? this.#parts[0] : rest;
    this.#release();
    this.#discarding = true;
    this.#sink.overlong(head, cause);
  }

  #release(): void {
    this.#budget.used -= this.#partBytes;
    this.#parts = [];
    this.#partBytes = 0;
  }
}
