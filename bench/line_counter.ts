/**
 * Counts the lines that have reached a directory's files, incrementally: each
 * poll reads only the bytes appended since the previous one.
 *
 * @module
 */

const NEWLINE = 10;

/**
 * Counts newline bytes in the files of `dir` whose names pass `accept`.
 *
 * @example
 * ```ts
 * import { LineCounter } from "./line_counter.ts";
 * const counter = new LineCounter("/tmp/logs", { accept: (name) => name.endsWith(".jsonl") });
 * const lines = await counter.poll();
 * ```
 */
export class LineCounter {
  readonly #dir: string;
  readonly #accept: (name: string) => boolean;
  readonly #offsets = new Map<string, number>();
  readonly #buffer = new Uint8Array(1 << 20);
  #lines = 0;

  constructor(dir: string, options: { accept: (name: string) => boolean }) {
    this.#dir = dir;
    this.#accept = options.accept;
  }

  /** Total lines counted so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Number of files that matched. */
  get files(): number {
    return this.#offsets.size;
  }

  /** Reads what was appended since the last poll and returns the total line count. */
  async poll(): Promise<number> {
    for await (const entry of Deno.readDir(this.#dir)) {
      if (!entry.isFile || !this.#accept(entry.name)) continue;
      const path = `${this.#dir}/${entry.name}`;
      const offset = this.#offsets.get(entry.name) ?? 0;
      const { size } = await Deno.stat(path);
      if (size > offset) this.#offsets.set(entry.name, await this.#countFrom(path, offset));
      else this.#offsets.set(entry.name, offset);
    }
    return this.#lines;
  }

  async #countFrom(path: string, offset: number): Promise<number> {
    using file = await Deno.open(path, { read: true });
    await file.seek(offset, Deno.SeekMode.Start);
    let position = offset;
    while (true) {
      const read = await file.read(this.#buffer);
      if (read === null || read === 0) return position;
      this.#lines += countNewlines(this.#buffer.subarray(0, read));
      position += read;
    }
  }
}

/**
 * Counts the newline bytes in a buffer.
 *
 * @example
 * ```ts
 * import { countNewlines } from "./line_counter.ts";
 * countNewlines(new TextEncoder().encode("a\nb\n")); // 2
 * ```
 */
export function countNewlines(bytes: Uint8Array): number {
  let count = 0;
  let index = bytes.indexOf(NEWLINE);
  while (index !== -1) {
    count++;
    index = bytes.indexOf(NEWLINE, index + 1);
  }
  return count;
}
