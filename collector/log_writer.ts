/**
 * Writes accepted events to `session-<id>.jsonl` and reject records to `rejected.jsonl`:
 * batched (one write per file per round), fsynced on a schedule, retries on write errors, and an
 * LRU of open files. The collector bounds what is queued here (bufferedBytes) by pausing readers.
 *
 * @module
 */
import { join } from "node:path";
import { openRegularFile } from "./regular_file.ts";
import type { Counters } from "./stats.ts";

/** A file the writer appends to. */
interface Output {
  /** Key in the writer's map: the session id, or REJECTS_KEY. */
  key: string;
  path: string;
  /** Session files get `,"session_seq":N}` appended to each record; reject files do not. */
  sequenced: boolean;
  /** Records (UTF-8) waiting to be written; views of the buffers they arrived in. */
  pending: Uint8Array[];
  pendingBytes: number;
  /** The next session_seq; undefined until the file was opened and its tail read. */
  nextSeq: number | undefined;
  file: Deno.FsFile | undefined;
  /** When a batch was last written to it (Date.now()), for closing idle files. */
  lastUsedAt: number;
  /** Written since the last fsync. */
  dirty: boolean;
  /** A write of this file is under way; eviction must not close it meanwhile. */
  busy: boolean;
  /** A batch already numbered and encoded but not fully written yet (kept across retries). */
  inflight: { bytes: Uint8Array; offset: number; queuedBytes: number } | undefined;
  /** After a failed write: not tried again before this time (Date.now()). */
  retryAt: number;
  /** The wait before the next retry; doubles with each failure in a row, 0 after a success. */
  backoffMs: number;
}

/** What the writer needs from the collector around it. */
export interface LogWriterOptions {
  /** Directory of the session files. */
  logDir: string;
  /** Open files kept at most. */
  maxOpenFiles: number;
  /** A file nothing was written to for this long is closed. */
  idleFileMs: number;
  /** fsync dirty files at least this often; 0 = after every batch. */
  fsyncIntervalMs: number;
  /** Counters to update. */
  counters: Counters;
  /** Structured log of problems (stderr in the collector). */
  log: (message: string, fields?: Record<string, unknown>) => void;
  /** Called with the unterminated tail of a session file that it cut off on first open. */
  onTornTail?: (path: string, fragment: Uint8Array) => void;
}

const MAX_BACKOFF_MS = 2000;
/** Map key of rejected.jsonl; a "/" can never be part of a (validated) session id. */
const REJECTS_KEY = "/rejected";
const MAX_BATCH_BYTES = 1024 * 1024;
/**
 * Batch buffers of this size are reused once written: a fresh 1 MiB buffer per write made the
 * main thread allocate (and page-fault on, and garbage-collect) every byte it wrote again.
 */
const SPARE_BATCH_BYTES = MAX_BATCH_BYTES + MAX_BATCH_BYTES / 2;
const TAIL_CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
/** Batches up to this size are written synchronously (see #writeBatch). */
const SYNC_WRITE_BYTES = 64 * 1024;
const encoder = new TextEncoder();
const SEQ_PREFIX = encoder.encode(',"session_seq":');
/** Bytes of `,"session_seq":` + `}\n`; the digits come on top. */
const SEQ_SUFFIX_BYTES = SEQ_PREFIX.length + 2;
const CLOSE_BRACE = 0x7d;

/**
 * The single writer of the log directory. Appends are synchronous and only queue; one loop
 * writes, so lines never interleave and each session's lines keep their arrival order.
 *
 * @example
 * ```ts
 * import { LogWriter } from "./log_writer.ts";
 * import { newCounters } from "./stats.ts";
 * const logDir = await Deno.makeTempDir();
 * const writer = new LogWriter({
 *   logDir, maxOpenFiles: 16, idleFileMs: 60_000, fsyncIntervalMs: 1000,
 *   counters: newCounters(), log: console.error,
 * });
 * const record = new TextEncoder().encode('{"v":1,"received_at":"2025-12-01T12:00:00.000Z"');
 * writer.appendEvent("s1", record);
 * await writer.close(5000);
 * ```
 */
export class LogWriter {
  #options: LogWriterOptions;
  #outputs = new Map<string, Output>();
  #queue = new Set<Output>();
  /** Open outputs in least-recently-used-first order. */
  #open = new Map<Output, true>();
  #buffered = 0;
  #progressWaiters: Array<() => void> = [];
  #wake: (() => void) | undefined;
  #closing = false;
  #abandoned = false;
  #lastSync = 0;
  #parallelWrites: number;
  /** Written batches' buffers, for the next batches (at most one per parallel write). */
  #spareBatches: ArrayBuffer[] = [];
  #opening = 0;
  #done: Promise<void>;

  /** Starts the writer loop. */
  constructor(options: LogWriterOptions) {
    this.#options = options;
    this.#parallelWrites = Math.max(1, Math.min(16, Math.floor(options.maxOpenFiles / 4)));
    this.#done = this.#run();
  }

  /**
   * Queues one event record (the stored line in UTF-8 without its `,"session_seq":N}` ending).
   * The bytes are kept, not copied, until written: the caller must not change them.
   */
  appendEvent(sessionId: string, record: Uint8Array): void {
    this.#append(sessionId, true, record);
  }

  /** Queues one line for rejected.jsonl. */
  appendReject(line: string): void {
    this.#append(REJECTS_KEY, false, encoder.encode(line));
  }

  /** Accepted bytes not yet written. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Files open now. */
  get openFiles(): number {
    return this.#open.size;
  }

  /** Resolves after the writer's next round (something written, or a failed attempt). */
  whenProgress(): Promise<void> {
    return new Promise((resolve) => this.#progressWaiters.push(resolve));
  }

  /**
   * Writes and fsyncs everything queued, closes the files and stops. Returns the number of
   * bytes it could not write before `deadlineMs` passed (0 when everything is on disk).
   */
  async close(deadlineMs: number): Promise<number> {
    this.#closing = true;
    this.#wake?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(deadlineMs, 0));
    });
    const outcome = await Promise.race([this.#done.then(() => "done" as const), timedOut]);
    clearTimeout(timer);
    if (outcome === "done") return 0;
    this.#abandoned = true;
    this.#wake?.();
    const unwritten = this.#buffered;
    for (const output of this.#open.keys()) output.file?.close();
    this.#open.clear();
    return unwritten;
  }

  #append(key: string, sequenced: boolean, record: Uint8Array): void {
    let output = this.#outputs.get(key);
    if (output === undefined) {
      output = {
        key,
        path: join(this.#options.logDir, sequenced ? `session-${key}.jsonl` : "rejected.jsonl"),
        sequenced,
        pending: [],
        pendingBytes: 0,
        nextSeq: undefined,
        file: undefined,
        lastUsedAt: 0,
        dirty: false,
        busy: false,
        inflight: undefined,
        retryAt: 0,
        backoffMs: 0,
      };
      this.#outputs.set(key, output);
    }
    output.pending.push(record);
    output.pendingBytes += record.length + 1;
    this.#buffered += record.length + 1;
    this.#queue.add(output);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #run(): Promise<void> {
    while (!this.#abandoned) {
      let round = this.#takeDue();
      if (round.length === 0) {
        if (this.#queue.size === 0 && this.#closing) break;
        await this.#sleep(this.#untilWakeDue());
        round = this.#takeDue();
      }
      // Files are written in parallel (a few at a time): each write is one await, and writing
      // them one by one would give the readers a turn between every two files, letting the
      // buffer grow. Each file still has at most one write in flight, so its lines stay in order.
      for (let i = 0; i < round.length && !this.#abandoned; i += this.#parallelWrites) {
        await Promise.all(
          round.slice(i, i + this.#parallelWrites).map(async (output) => {
            try {
              await this.#writeOutput(output);
              output.backoffMs = 0;
            } catch (error) {
              // The backoff is the file's own: one file that cannot be written (a planted
              // directory, a read-only file) must not slow the writes of every other session.
              // Appends do not retry it early, so a full disk does not become a busy loop.
              output.backoffMs = Math.min(Math.max(output.backoffMs * 2, 50), MAX_BACKOFF_MS);
              output.retryAt = Date.now() + output.backoffMs;
              this.#queue.add(output);
              this.#reportError("write", output.path, error);
            }
          }),
        );
      }
      if (this.#abandoned) return;
      if (this.#hasDirty() && this.#untilSyncDue() === 0) await this.#syncDirty();
      await this.#closeIdle();
      this.#reportProgress();
    }
    if (this.#abandoned) return;
    await this.#syncDirty();
    for (const output of this.#open.keys()) output.file?.close();
    this.#open.clear();
  }

  /** Takes the queued files that are not waiting for a retry out of the queue. */
  #takeDue(): Output[] {
    const now = Date.now();
    const due: Output[] = [];
    for (const output of this.#queue) {
      if (output.retryAt > now) continue;
      due.push(output);
      this.#queue.delete(output);
    }
    return due;
  }

  async #writeOutput(output: Output): Promise<void> {
    output.busy = true;
    try {
      await this.#writeBatch(output);
    } finally {
      output.busy = false;
    }
  }

  async #writeBatch(output: Output): Promise<void> {
    await this.#ensureOpen(output);
    if (output.inflight === undefined) {
      if (output.pending.length === 0) return;
      const { bytes, queuedBytes } = this.#takeBatch(output);
      output.inflight = { bytes, offset: 0, queuedBytes };
      if (output.pending.length > 0) this.#queue.add(output);
    }
    const inflight = output.inflight;
    const file = output.file as Deno.FsFile;
    while (inflight.offset < inflight.bytes.length) {
      const rest = inflight.bytes.subarray(inflight.offset);
      // A small batch is written at once: an async write hands the file to a helper thread and
      // back (a dup, a close and two thread wake-ups), which for a trickle of events (a shell's
      // execs, one line per round) cost far more than the copy into the page cache. Large
      // batches stay async, so the event loop keeps reading sockets while they are written.
      inflight.offset += rest.length <= SYNC_WRITE_BYTES
        ? file.writeSync(rest)
        : await file.write(rest);
    }
    output.inflight = undefined;
    this.#releaseBatch(inflight.bytes);
    // A retried batch was taken in an earlier round: records queued behind it need a round too.
    if (output.pending.length > 0) this.#queue.add(output);
    output.dirty = true;
    this.#buffered -= inflight.queuedBytes;
    this.#options.counters.bytesWritten += inflight.bytes.length;
    this.#options.counters.batches++;
  }

  /**
   * Takes up to MAX_BATCH_BYTES of the queued records, numbered, as one buffer: bounded batches
   * keep the event loop free for reading sockets while a large backlog is written.
   */
  #takeBatch(output: Output): { bytes: Uint8Array; queuedBytes: number } {
    const pending = output.pending;
    let taken = 0;
    let queuedBytes = 0;
    while (taken < pending.length && queuedBytes < MAX_BATCH_BYTES) {
      queuedBytes += pending[taken++].length + 1;
    }
    // Room for the numbers: at most 16 digits each (session_seq stays a safe integer).
    const room = queuedBytes + (output.sequenced ? taken * (SEQ_SUFFIX_BYTES + 16) : 0);
    const batch = this.#batchBuffer(room);
    let at = 0;
    let seq = output.nextSeq as number;
    for (let i = 0; i < taken; i++) {
      const record = pending[i];
      batch.set(record, at);
      at += record.length;
      if (output.sequenced) {
        batch.set(SEQ_PREFIX, at);
        at = writeDecimal(batch, at + SEQ_PREFIX.length, seq++);
        batch[at++] = CLOSE_BRACE;
      }
      batch[at++] = NEWLINE;
    }
    if (output.sequenced) output.nextSeq = seq;
    output.pending = taken === pending.length ? [] : pending.slice(taken);
    output.pendingBytes -= queuedBytes;
    return { bytes: batch.subarray(0, at), queuedBytes };
  }

  /** A buffer of at least `bytes` for a batch: a spare one when it fits. */
  #batchBuffer(bytes: number): Uint8Array {
    if (bytes <= SPARE_BATCH_BYTES) {
      const spare = this.#spareBatches.pop();
      return new Uint8Array(spare ?? new ArrayBuffer(SPARE_BATCH_BYTES), 0, bytes);
    }
    return new Uint8Array(bytes);
  }

  /** Keeps a written batch's buffer for reuse: its write has completed, nothing refers to it. */
  #releaseBatch(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    if (
      buffer instanceof ArrayBuffer && buffer.byteLength === SPARE_BATCH_BYTES &&
      this.#spareBatches.length < this.#parallelWrites
    ) {
      this.#spareBatches.push(buffer);
    }
  }

  async #ensureOpen(output: Output): Promise<void> {
    output.lastUsedAt = Date.now();
    if (output.file !== undefined) {
      this.#open.delete(output);
      this.#open.set(output, true);
      return;
    }
    // Several files are opened in parallel: count the ones being opened, so together they
    // never push the number of open files over the limit.
    this.#opening++;
    try {
      const over = this.#open.size + this.#opening - this.#options.maxOpenFiles;
      if (over > 0) await this.#evict(output, over);
      const file = await this.#openFile(output.path);
      try {
        if (output.sequenced && output.nextSeq === undefined) {
          output.nextSeq = await this.#recoverNextSeq(file, output.path);
        }
      } catch (error) {
        file.close();
        throw error;
      }
      output.file = file;
      this.#open.set(output, true);
    } finally {
      this.#opening--;
    }
  }

  async #openFile(path: string): Promise<Deno.FsFile> {
    // Only a regular file, never through a symlink: see regular_file.ts.
    try {
      return await openRegularFile(path, "append", 0o640);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      // The log directory was removed under us: recreate it rather than lose the events.
      this.#options.log("log directory missing; recreating it", { logDir: this.#options.logDir });
      await Deno.mkdir(this.#options.logDir, { recursive: true, mode: 0o750 });
      return await openRegularFile(path, "append", 0o640);
    }
  }

  /** Closes at least `count` of the least recently used idle files, to make room. */
  async #evict(keep: Output, count: number): Promise<void> {
    const want = Math.max(count, Math.floor(this.#options.maxOpenFiles / 8));
    const victims: Output[] = [];
    for (const output of this.#open.keys()) {
      if (output === keep || output.busy || output.inflight !== undefined) continue;
      victims.push(output);
      if (victims.length >= want) break;
    }
    await this.#closeFiles(victims);
  }

  /**
   * Closes the files nothing was written to for idleFileMs, so a long-running collector does
   * not keep every session it ever saw open until the LRU limit forces it.
   */
  async #closeIdle(): Promise<void> {
    const cutoff = Date.now() - this.#options.idleFileMs;
    const idle: Output[] = [];
    // #open is in least-recently-used-first order: the first recent one ends the search.
    for (const output of this.#open.keys()) {
      if (output.lastUsedAt > cutoff) break;
      if (output.busy || output.inflight !== undefined || output.pending.length > 0) continue;
      idle.push(output);
    }
    await this.#closeFiles(idle);
  }

  /**
   * Closes files (fsynced in parallel first when dirty). They leave the LRU before the first
   * await, so parallel callers never pick the same file twice.
   */
  async #closeFiles(outputs: Output[]): Promise<void> {
    const victims = outputs.map((output) => ({ output, file: output.file as Deno.FsFile }));
    for (const { output } of victims) {
      this.#open.delete(output);
      output.file = undefined;
    }
    await Promise.all(victims.map(async ({ output, file }) => {
      if (output.dirty) {
        try {
          await file.sync();
          output.dirty = false;
        } catch (error) {
          this.#reportError("fsync before close", output.path, error);
        }
      }
      file.close();
      // Forget idle sessions so 10,000 sessions do not pile up in memory; the next event of the
      // session re-reads its last session_seq from the file.
      if (output.pending.length === 0 && !output.busy) this.#outputs.delete(output.key);
    }));
  }

  /**
   * The session_seq to continue with: one more than the last line's. A last line without its
   * `\n` (a crash mid-write) is cut off and handed to `onTornTail`, so the file stays valid JSONL.
   */
  async #recoverNextSeq(file: Deno.FsFile, path: string): Promise<number> {
    const size = (await file.stat()).size;
    if (size === 0) return 0;
    const tail = await readTail(file, size);
    let end = tail.length;
    if (tail[end - 1] !== NEWLINE) {
      const lastNewline = tail.lastIndexOf(NEWLINE);
      const fragment = tail.slice(lastNewline + 1);
      await file.truncate(size - fragment.length);
      this.#options.log("cut an unterminated last line off a session file", {
        path,
        bytes: fragment.length,
      });
      this.#options.onTornTail?.(path, fragment);
      end = lastNewline + 1;
      if (end === 0) return 0;
    }
    const start = tail.lastIndexOf(NEWLINE, end - 2) + 1;
    const lastLine = new TextDecoder().decode(tail.subarray(start, end - 1));
    try {
      const seq = (JSON.parse(lastLine) as { session_seq?: unknown }).session_seq;
      if (Number.isSafeInteger(seq) && (seq as number) >= 0) return (seq as number) + 1;
    } catch {
      // Fall through: count lines instead.
    }
    this.#options.log("last line of a session file has no session_seq; counting lines", { path });
    return await countLines(file);
  }

  async #syncDirty(): Promise<void> {
    const dirty = [...this.#open.keys()].filter((output) => output.dirty);
    this.#lastSync = Date.now();
    if (dirty.length === 0) return;
    await Promise.all(dirty.map(async (output) => {
      try {
        await output.file?.sync();
        output.dirty = false;
      } catch (error) {
        this.#reportError("fsync", output.path, error);
      }
    }));
    this.#options.counters.fsyncs++;
  }

  #hasDirty(): boolean {
    for (const output of this.#open.keys()) if (output.dirty) return true;
    return false;
  }

  /**
   * How long the loop may sleep before an fsync, an idle close or a retry is due; undefined: no
   * timer.
   */
  #untilWakeDue(): number | undefined {
    const sync = this.#hasDirty() ? this.#untilSyncDue() : Infinity;
    let retry = Infinity;
    for (const output of this.#queue) retry = Math.min(retry, output.retryAt - Date.now());
    const oldest = this.#open.keys().next().value;
    const idle = oldest === undefined
      ? Infinity
      : Math.max(0, oldest.lastUsedAt + this.#options.idleFileMs - Date.now());
    const due = Math.min(sync, idle, Math.max(0, retry));
    return due === Infinity ? undefined : due;
  }

  #untilSyncDue(): number {
    return Math.max(0, this.#options.fsyncIntervalMs - (Date.now() - this.#lastSync));
  }

  #sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
      if (ms !== undefined) timer = setTimeout(done, ms);
    });
  }

  #reportProgress(): void {
    const progress = this.#progressWaiters;
    this.#progressWaiters = [];
    for (const resolve of progress) resolve();
  }

  #reportError(operation: string, path: string, error: unknown): void {
    this.#options.counters.writeErrors++;
    const code = (error as { code?: string }).code ?? (error as Error).name;
    this.#options.log(`${operation} failed; events stay buffered and the write is retried`, {
      path,
      code,
      error: (error as Error).message,
      bufferedBytes: this.#buffered,
    });
  }
}

/** Writes `value` (a non-negative safe integer) in decimal at `at`; returns the end offset. */
function writeDecimal(into: Uint8Array, at: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let end = at + digits;
  let rest = value;
  do {
    into[--end] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  } while (rest > 0);
  return at + digits;
}

/** Reads the end of a file, enough to hold its last two newlines (or the whole file). */
async function readTail(file: Deno.FsFile, size: number): Promise<Uint8Array> {
  let tail = new Uint8Array(0);
  let position = size;
  while (position > 0) {
    const length = Math.min(TAIL_CHUNK_BYTES, position);
    position -= length;
    const chunk = new Uint8Array(length + tail.length);
    await readExactly(file, position, chunk.subarray(0, length));
    chunk.set(tail, length);
    tail = chunk;
    let newlines = 0;
    for (let i = tail.indexOf(NEWLINE); i !== -1; i = tail.indexOf(NEWLINE, i + 1)) {
      if (++newlines >= 2) return tail;
    }
  }
  return tail;
}

async function readExactly(file: Deno.FsFile, position: number, into: Uint8Array): Promise<void> {
  await file.seek(position, Deno.SeekMode.Start);
  let offset = 0;
  while (offset < into.length) {
    const read = await file.read(into.subarray(offset));
    if (read === null) throw new Error("session file shrank while its tail was read");
    offset += read;
  }
}

async function countLines(file: Deno.FsFile): Promise<number> {
  await file.seek(0, Deno.SeekMode.Start);
  const buffer = new Uint8Array(TAIL_CHUNK_BYTES);
  let lines = 0;
  for (let read = await file.read(buffer); read !== null; read = await file.read(buffer)) {
    const chunk = buffer.subarray(0, read);
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) lines++;
  }
  return lines;
}
