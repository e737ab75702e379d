/**
 * A real collector for tests of every part (collector, shim, runner, container, bench): it runs
 * the served collector process with its narrow permissions on a socket in a temp dir.
 *
 * @example
 * ```ts
 * import { startTestCollector } from "./tests/support/collector.ts";
 * await using collector = await startTestCollector();
 * // ... a producer sends events with session id "s1" to collector.socket ...
 * const events = await collector.waitForEvents("s1", (events) => events.length >= 1);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { type CollectorConfig, startCollectorProcess } from "../../collector/mod.ts";

export type { CollectorConfig };

/** One stored line of a session file, parsed. */
export type StoredLine = Record<string, unknown>;

/** A collector started for a test. */
export interface TestCollector {
  /** Absolute socket path producers connect to. */
  socket: string;
  /** Absolute directory of the session files. */
  logDir: string;
  /** Process id of the served collector. */
  pid: number;
  /** The complete lines of `<logDir>/session-<id>.jsonl`, parsed ([] while it does not exist). */
  readSession(id: string): Promise<StoredLine[]>;
  /**
   * Polls the session file until `predicate` holds and returns its events; throws, listing what
   * it saw, after `timeoutMs` (default 10 s).
   */
  waitForEvents(
    id: string,
    predicate: (events: StoredLine[]) => boolean,
    timeoutMs?: number,
  ): Promise<StoredLine[]>;
  /** What the collector printed on stderr so far (JSON log, stats and summary lines). */
  stderrText(): string;
  /**
   * Waits until a stderr line matches `pattern` and returns it (stderr arrives through a pipe,
   * so a line may show up a little after the event it reports).
   */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, wait, return the exit code (idempotent). */
  stop(): Promise<number>;
  /** Stops the collector and removes the temp dir it created. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startTestCollector}. */
export interface TestCollectorOptions {
  /** Socket path; default `<temp dir>/audit.sock`. */
  socket?: string;
  /** Log directory; default `<temp dir>/logs`. */
  logDir?: string;
  /** Further collector settings, e.g. `{ fsyncIntervalMs: 0, maxConnections: 8 }`. */
  settings?: Partial<CollectorConfig>;
}

/**
 * Starts a real collector; paths not given are created in a fresh temp dir that
 * `[Symbol.asyncDispose]` removes.
 *
 * @example
 * ```ts
 * import { startTestCollector } from "./tests/support/collector.ts";
 * const collector = await startTestCollector({ settings: { fsyncIntervalMs: 0 } });
 * console.log(collector.socket, collector.logDir);
 * await collector[Symbol.asyncDispose]();
 * ```
 */
export async function startTestCollector(
  options: TestCollectorOptions = {},
): Promise<TestCollector> {
  const needsTemp = options.socket === undefined || options.logDir === undefined;
  const tempDir = needsTemp ? await Deno.makeTempDir({ prefix: "collector-test-" }) : undefined;
  const socket = options.socket ?? join(tempDir as string, "audit.sock");
  const logDir = options.logDir ?? join(tempDir as string, "logs");
  let stderr = "";
  let process;
  try {
    process = await startCollectorProcess({
      socket,
      logDir,
      settings: options.settings,
      onStderr: (text) => (stderr += text),
    });
  } catch (error) {
    if (tempDir !== undefined) await Deno.remove(tempDir, { recursive: true });
    throw error;
  }
  let stopped: Promise<number> | undefined;
  const stop = () => (stopped ??= process.stop());
  const readSession = (id: string) => readJsonLines(join(process.logDir, `session-${id}.jsonl`));
  return {
    socket: process.socket,
    logDir: process.logDir,
    pid: process.pid,
    readSession,
    waitForEvents: async (id, predicate, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const events = await readSession(id);
        if (predicate(events)) return events;
        if (Date.now() > deadline) {
          const seen = events.slice(-5).map((event) => JSON.stringify(event)).join("\n  ");
          throw new Error(
            `session ${id}: condition not met within ${timeoutMs} ms; ${events.length} events ` +
              `in ${process.logDir}/session-${id}.jsonl, the last ones:\n  ${seen || "(none)"}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    stderrText: () => stderr,
    waitForLog: async (pattern, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const line = stderr.split("\n").find((candidate) => pattern.test(candidate));
        if (line !== undefined) return line;
        if (Date.now() > deadline) {
          throw new Error(`no collector stderr line matched ${pattern} in:\n${stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
      if (tempDir !== undefined) await Deno.remove(tempDir, { recursive: true });
    },
  };
}

/**
 * Parses the complete lines of a JSONL file; a last line still being written (no `\n` yet) is
 * left out, and a missing file reads as [].
 *
 * @example
 * ```ts
 * import { readJsonLines } from "./tests/support/collector.ts";
 * const rejected = await readJsonLines("/tmp/logs/rejected.jsonl");
 * ```
 */
export async function readJsonLines(path: string): Promise<StoredLine[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const complete = text.slice(0, text.lastIndexOf("\n") + 1);
  return complete.split("\n").filter((line) => line.length > 0).map((line) =>
    JSON.parse(line) as StoredLine
  );
}
