/**
 * Moves the line function off the main thread: complete lines are gathered into jobs (one copy
 * per chunk, not a message per event), a Worker parses, checks and re-serializes them on the
 * second core, and the results come back in order. The main thread keeps reading sockets and
 * writing files. Should the worker fail, the main thread processes every unanswered job itself,
 * in order, so no accepted event is lost or reordered.
 *
 * @module
 */
import {
  ITEM_FIELDS,
  KIND_UNDECIDED_RAW,
  KIND_UNDECIDED_TEXT,
  processJob,
} from "./ingest_worker.ts";

/** One job for the worker: lines each ending in `\n`, grouped in runs. */
export interface IngestJob {
  /** Sequence number; results come back in this order. */
  id: number;
  /** The lines of all runs, each terminated by `\n`. */
  bytes: Uint8Array;
  /** Two numbers per run: the end offset of its bytes, and its receive time (ms since epoch). */
  runs: Float64Array;
}

/** The worker's answer to one {@linkcode IngestJob}. */
export interface IngestResult {
  /** The job's id. */
  id: number;
  /** Stored records and undecided lines, back to back (UTF-8). */
  out: Uint8Array;
  /**
   * Four numbers per line, in the order received: kind (a `sessions` index for an accepted
   * record, or an undecided kind), start and end in `out` (for a raw line: its `raws` index
   * and 0), and the index of the run it came from.
   */
  items: Int32Array;
  /** Session ids of the accepted records. */
  sessions: string[];
  /** Lines that are not valid UTF-8, as received. */
  raws: Uint8Array[];
}

/** What the pipeline hands back to the collector, in the order the lines were received. */
export interface IngestSink {
  /** An event the worker accepted: its stored record (without its session_seq ending). */
  accepted(sessionId: string, record: Uint8Array): void;
  /** A line the worker did not accept: the full line function must decide it. */
  undecided(line: Uint8Array, connection: number, receivedAtMs: number): void;
  /** A run of lines to process on the main thread (no worker, or the worker failed). */
  inProcess(run: Uint8Array, connection: number, receivedAtMs: number): void;
}

/** How to start the worker. */
export interface IngestWorkerSpec {
  /** The worker module (default: ingest_worker.ts). */
  url?: URL;
  /**
   * How many workers (default 1). Jobs go to them in turn; results are delivered in job order
   * whichever worker finishes first.
   */
  count?: number;
  /**
   * Its permissions; "inherit" (the default) gives it the process's. Narrower permissions need
   * Deno's `--unstable-worker-options`.
   */
  permissions?: Deno.PermissionOptions;
}

/** Options of {@linkcode IngestPipeline}. */
export interface IngestPipelineOptions {
  /** Receives the outcome of every line. */
  sink: IngestSink;
  /** Structured log of worker failures. */
  log: (message: string, fields?: Record<string, unknown>) => void;
  /** The worker to use; undefined: process everything on the main thread. */
  worker: IngestWorkerSpec | undefined;
  /** Bytes sent to the worker and not answered yet above which {@linkcode full} is true. */
  maxInFlightBytes: number;
  /**
   * A job unanswered for this long counts as a worker failure (its lines and every later job's
   * are then processed on the main thread): a hung worker must not pause every reader until
   * shutdown. Default 5000 ms; a job takes milliseconds.
   */
  stallMs?: number;
  /**
   * A job of at most this many bytes, when no other is in flight, is processed on the main thread
   * at once (default 16 KiB; 0: every job goes to a worker). For a trickle of events (a shell's
   * execs, one line per read) a worker round trip (message, wake-up, answer) costs several times
   * the lines' own work, in CPU and in latency. Order is kept: nothing earlier is with a worker.
   */
  inlineJobBytes?: number;
}

const DEFAULT_STALL_MS = 5000;
const DEFAULT_INLINE_JOB_BYTES = 16 * 1024;

/** A job is sent once it holds this many bytes (or at the end of the current turn). */
const JOB_BYTES = 256 * 1024;
/**
 * Jobs are written into shared memory the workers read in place (no copy per job, no allocation:
 * the slots are reused). A slot holds a job of JOB_BYTES plus a whole read.
 */
const SLOT_BYTES = 2 * JOB_BYTES;
/** Free slots kept for reuse; more in flight at once are allocated and dropped after. */
const MAX_FREE_SLOTS = 12;
/** After this many failures no worker is restarted: everything runs on the main thread. */
const MAX_FAILURES = 3;
const NEWLINE = 0x0a;
const DEFAULT_WORKER_URL = new URL("./ingest_worker.ts", import.meta.url);

/** What the worker sends: its permissions once, then a result or an error per job. */
type WorkerMessage =
  | IngestResult
  | { id: number; error: string }
  | { permissions: Record<string, string>; lineScanner?: string };

interface PendingJob {
  id: number;
  /** The job's bytes, kept until answered (the worker gets a copy). */
  bytes: Uint8Array;
  /** End offset and receive time per run, as sent. */
  runs: number[];
  /** Connection of each run. */
  connections: number[];
  /** Index of the worker it was sent to. */
  worker: number;
  /** When it was sent (performance.now()). */
  sentAt: number;
  /** The worker's answer, once it came (delivered when every earlier job's has). */
  result: IngestResult | undefined;
}

/**
 * Runs lines through the ingest worker, in order, with a bound on unanswered bytes.
 *
 * @example
 * ```ts
 * import { IngestPipeline } from "./ingest_pipeline.ts";
 * const pipeline = new IngestPipeline({
 *   sink: {
 *     accepted: (session, record) => console.log(session, record.length),
 *     undecided: (line) => console.log("undecided", line.length),
 *     inProcess: (run) => console.log("in process", run.length),
 *   },
 *   log: console.error,
 *   worker: {},
 *   maxInFlightBytes: 8 << 20,
 * });
 * pipeline.add(new TextEncoder().encode("[1]"), 1, Date.now());
 * await pipeline.drain(5000);
 * pipeline.close();
 * ```
 */
export class IngestPipeline {
  #options: IngestPipelineOptions;
  /** The running workers: all of them, or none (after a failure, until they are restarted). */
  #workers: Worker[] = [];
  #nextWorker = 0;
  #failures = 0;
  #nextId = 1;
  #freeSlots: SharedArrayBuffer[] = [];
  #staging: Uint8Array = this.#takeSlot(SLOT_BYTES);
  #stagingLength = 0;
  #stagingRuns: number[] = [];
  #stagingConnections: number[] = [];
  #flushQueued = false;
  #inFlight: PendingJob[] = [];
  #inFlightBytes = 0;
  #progressWaiters: Array<() => void> = [];
  #closed = false;
  #watchdog: ReturnType<typeof setInterval> | undefined;

  /** Starts the workers (unless `options.worker` is undefined). */
  constructor(options: IngestPipelineOptions) {
    this.#options = options;
    this.#startWorkers();
    if (options.worker !== undefined) {
      const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
      this.#watchdog = setInterval(() => this.#checkStall(stallMs), Math.min(stallMs, 1000));
      Deno.unrefTimer(this.#watchdog);
    }
  }

  /** True when the workers hold so many unanswered bytes that readers should wait. */
  get full(): boolean {
    return this.#inFlightBytes >= this.#options.maxInFlightBytes;
  }

  /** True while workers run (false after too many failures, or without one). */
  get usesWorker(): boolean {
    return this.#workers.length > 0;
  }

  /** Bytes handed to the workers and not answered yet. */
  get inFlightBytes(): number {
    return this.#inFlightBytes;
  }

  /**
   * Resolves once a worker answered a job (or the workers failed). With nothing staged or in
   * flight no answer is due: the promise then never settles and nothing here keeps it, so a
   * caller racing it against other progress (the collector's paused readers, against the
   * writer's rounds) leaves no waiter behind per wait.
   */
  whenProgress(): Promise<void> {
    if (this.#inFlight.length === 0 && this.#stagingLength === 0) return new Promise(() => {});
    return new Promise((resolve) => this.#progressWaiters.push(resolve));
  }

  /**
   * Queues complete lines (`\n`-separated, without the last `\n`) of one connection, received
   * at `receivedAtMs`. `run` may be a view of a reused buffer: it is copied at once.
   */
  add(run: Uint8Array, connection: number, receivedAtMs: number): void {
    if (this.#workers.length === 0) {
      this.#options.sink.inProcess(run, connection, receivedAtMs);
      return;
    }
    const needed = this.#stagingLength + run.length + 1;
    if (needed > this.#staging.length) {
      this.#flush();
      if (run.length + 1 > this.#staging.length) {
        this.#releaseSlot(this.#staging);
        this.#staging = this.#takeSlot(run.length + 1);
      }
    }
    this.#staging.set(run, this.#stagingLength);
    this.#stagingLength += run.length;
    this.#staging[this.#stagingLength++] = NEWLINE;
    this.#stagingRuns.push(this.#stagingLength, receivedAtMs);
    this.#stagingConnections.push(connection);
    if (this.#stagingLength >= JOB_BYTES) {
      this.#flush();
    } else if (!this.#flushQueued) {
      // Lines that arrive in the same turn of the event loop (reads of several connections)
      // share one job; the rest go out at the end of the turn, so latency stays low.
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.#flush();
      });
    }
  }

  /**
   * Resolves once every line added so far was handed to the sink. When the worker has not
   * answered within `timeoutMs`, it is stopped and the main thread processes what is left.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.#flush();
    if (this.#inFlight.length === 0) return;
    const deadline = Date.now() + timeoutMs;
    while (this.#inFlight.length > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#fail("the ingest worker did not answer in time");
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, 5)));
    }
  }

  /** Stops the workers; lines still unanswered are processed on the main thread first. */
  close(): void {
    clearInterval(this.#watchdog);
    this.#flush();
    this.#closed = true;
    this.#stopWorkers();
    if (this.#inFlight.length > 0) this.#finishInFlightHere();
  }

  #startWorkers(): void {
    const spec = this.#options.worker;
    if (spec === undefined || this.#closed || this.#failures >= MAX_FAILURES) return;
    const options: WorkerOptions & { deno?: { permissions?: Deno.PermissionOptions } } = {
      type: "module",
      name: "containai-ingest",
    };
    if (spec.permissions !== undefined) options.deno = { permissions: spec.permissions };
    const workers: Worker[] = [];
    try {
      for (let i = 0; i < (spec.count ?? 1); i++) {
        workers.push(new Worker(spec.url ?? DEFAULT_WORKER_URL, options));
      }
    } catch (error) {
      for (const worker of workers) worker.terminate();
      this.#options.log("cannot start the ingest worker; processing lines on the main thread", {
        error: (error as Error).message,
      });
      return;
    }
    workers.forEach((worker, index) => {
      worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
        if (this.#workers[index] !== worker) return;
        const message = event.data;
        if ("permissions" in message) {
          this.#options.log("ingest worker running", {
            worker: index,
            permissions: message.permissions,
            lineScanner: message.lineScanner,
          });
        } else {
          this.#receive(index, message);
        }
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        if (this.#workers[index] === worker) {
          this.#fail(`the ingest worker failed: ${event.message}`);
        }
      };
      worker.onmessageerror = () => {
        if (this.#workers[index] === worker) {
          this.#fail("a message of the ingest worker was unreadable");
        }
      };
    });
    this.#workers = workers;
  }

  #stopWorkers(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers = [];
  }

  #flush(): void {
    if (this.#stagingLength === 0) return;
    const job: PendingJob = {
      id: this.#nextId++,
      bytes: this.#staging.subarray(0, this.#stagingLength),
      runs: this.#stagingRuns,
      connections: this.#stagingConnections,
      worker: -1,
      sentAt: performance.now(),
      result: undefined,
    };
    this.#staging = this.#takeSlot(SLOT_BYTES);
    this.#stagingLength = 0;
    this.#stagingRuns = [];
    this.#stagingConnections = [];
    if (this.#workers.length === 0) {
      this.#processHere(job);
      this.#releaseSlot(job.bytes);
      return;
    }
    const inline = this.#options.inlineJobBytes ?? DEFAULT_INLINE_JOB_BYTES;
    if (this.#inFlight.length === 0 && job.bytes.length <= inline) {
      this.#processInline(job);
      this.#releaseSlot(job.bytes);
      return;
    }
    this.#inFlight.push(job);
    this.#inFlightBytes += job.bytes.length;
    const message: IngestJob = { id: job.id, bytes: job.bytes, runs: new Float64Array(job.runs) };
    job.worker = this.#nextWorker;
    this.#nextWorker = (this.#nextWorker + 1) % this.#workers.length;
    try {
      // Shared, not transferred: the job's bytes stay here until answered, for the fallback.
      this.#workers[job.worker].postMessage(message);
    } catch (error) {
      this.#fail(`cannot send to the ingest worker: ${(error as Error).message}`);
    }
  }

  #checkStall(stallMs: number): void {
    const oldest = this.#inFlight.find((job) => job.result === undefined);
    if (oldest === undefined || this.#workers.length === 0) return;
    const waited = performance.now() - oldest.sentAt;
    if (waited >= stallMs) {
      this.#fail(`the ingest worker did not answer job ${oldest.id} for ${Math.round(waited)} ms`);
    }
  }

  #receive(worker: number, result: IngestResult | { id: number; error: string }): void {
    if ("error" in result) {
      this.#fail(`the ingest worker failed: ${result.error}`);
      return;
    }
    // Each worker answers its jobs in the order it got them: this must be its oldest open one.
    const job = this.#inFlight.find((pending) =>
      pending.worker === worker && pending.result === undefined
    );
    if (job === undefined || job.id !== result.id) {
      this.#fail(`ingest worker ${worker} answered job ${result.id} out of order`);
      return;
    }
    job.result = result;
    while (this.#inFlight.length > 0 && this.#inFlight[0].result !== undefined) {
      const done = this.#inFlight.shift() as PendingJob;
      this.#inFlightBytes -= done.bytes.length;
      this.#deliver(done.result as IngestResult, done);
      this.#releaseSlot(done.bytes);
    }
    this.#reportProgress();
  }

  #deliver(result: IngestResult, job: PendingJob): void {
    const { out, items, sessions, raws } = result;
    const sink = this.#options.sink;
    for (let i = 0; i < items.length; i += ITEM_FIELDS) {
      const kind = items[i];
      if (kind >= 0) {
        sink.accepted(sessions[kind], out.subarray(items[i + 1], items[i + 2]));
        continue;
      }
      const run = items[i + 3];
      const line = kind === KIND_UNDECIDED_TEXT
        ? out.subarray(items[i + 1], items[i + 2])
        : kind === KIND_UNDECIDED_RAW
        ? raws[items[i + 1]]
        : new Uint8Array(0);
      sink.undecided(line, job.connections[run], job.runs[2 * run + 1]);
    }
  }

  /**
   * Stops the workers, hands over the answers already in and processes every unanswered job
   * here (in job order), then starts new workers (up to MAX_FAILURES times).
   */
  #fail(reason: string): void {
    this.#stopWorkers();
    this.#failures++;
    this.#options.log(`${reason}; its unanswered lines are processed on the main thread`, {
      jobs: this.#inFlight.length,
      bytes: this.#inFlightBytes,
      restarts: this.#failures < MAX_FAILURES ? "yes" : "no (too many failures)",
    });
    this.#finishInFlightHere();
    this.#flush();
    this.#startWorkers();
    this.#reportProgress();
  }

  #finishInFlightHere(): void {
    const jobs = this.#inFlight;
    this.#inFlight = [];
    this.#inFlightBytes = 0;
    for (const job of jobs) {
      if (job.result !== undefined) this.#deliver(job.result, job);
      else this.#processHere(job);
      this.#releaseSlot(job.bytes);
    }
  }

  /** What a worker would do with `job`, done here; the full line function if that throws. */
  #processInline(job: PendingJob): void {
    let result: IngestResult;
    try {
      result = processJob({ id: job.id, bytes: job.bytes, runs: new Float64Array(job.runs) });
    } catch {
      this.#processHere(job);
      return;
    }
    this.#deliver(result, job);
  }

  #processHere(job: PendingJob): void {
    let start = 0;
    for (let r = 0; r < job.connections.length; r++) {
      const end = job.runs[2 * r];
      this.#options.sink.inProcess(
        job.bytes.subarray(start, end - 1),
        job.connections[r],
        job.runs[2 * r + 1],
      );
      start = end;
    }
  }

  /** A view of a shared buffer of at least `bytes` bytes: a free slot when one fits. */
  #takeSlot(bytes: number): Uint8Array {
    const reused = bytes <= SLOT_BYTES ? this.#freeSlots.pop() : undefined;
    return new Uint8Array(reused ?? new SharedArrayBuffer(Math.max(bytes, SLOT_BYTES)));
  }

  /** Returns a job's buffer for reuse; the worker that read it has answered (or never will). */
  #releaseSlot(view: Uint8Array): void {
    const buffer = view.buffer;
    if (
      buffer instanceof SharedArrayBuffer && buffer.byteLength === SLOT_BYTES &&
      this.#freeSlots.length < MAX_FREE_SLOTS
    ) {
      this.#freeSlots.push(buffer);
    }
  }

  #reportProgress(): void {
    const progress = this.#progressWaiters;
    this.#progressWaiters = [];
    for (const resolve of progress) resolve();
  }
}
