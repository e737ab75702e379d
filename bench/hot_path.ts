/**
 * Comparison 5, the collector's hot path in-process: the CPU cost per event of
 * each step the collector takes for one line (JSON.parse, protocol validation,
 * JSON.stringify) and of its whole line function, on the ingest workload's
 * events. It explains the ingest numbers; it does not replace them.
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { type Contender, runAlternating } from "./alternate.ts";
import { generateEvents } from "./events.ts";
import { formatNumber, median, range } from "./stats.ts";
import type { SuiteResult } from "./suite.ts";
import { validateEvent } from "../protocol/mod.ts";

const FAST_CHECK = "isCertainlyValidEvent (hand-written fast path)";
const ZOD_CHECK = "validateEvent (zod, for what the fast path does not vouch for)";
const LINE_FUNCTION = "collector ingestText (the whole line)";

/** Options of {@linkcode runHotPath}. */
export interface HotPathOptions {
  events: number;
  rounds: number;
  log: (line: string) => void;
}

/** The collector's line function, when collector/ingest.ts still exports it under this name. */
type LineFunction = (text: string, receivedAt: string) => { ok: boolean };

async function collectorLineFunction(): Promise<LineFunction | undefined> {
  try {
    const module: Record<string, unknown> = await import("../collector/ingest.ts");
    return typeof module.ingestText === "function" ? module.ingestText as LineFunction : undefined;
  } catch {
    return undefined;
  }
}

/** The protocol's hand-written fast check, when protocol/mod.ts exports it under this name. */
type FastCheck = (value: unknown) => boolean;

async function fastCheck(): Promise<FastCheck | undefined> {
  const module: Record<string, unknown> = await import("../protocol/mod.ts");
  return typeof module.isCertainlyValidEvent === "function"
    ? module.isCertainlyValidEvent as FastCheck
    : undefined;
}

/**
 * Runs the hot-path comparison and returns its section of the report.
 *
 * @example
 * ```ts
 * import { runHotPath } from "./hot_path.ts";
 * const result = await runHotPath({ events: 100_000, rounds: 5, log: console.error });
 * ```
 */
export async function runHotPath(options: HotPathOptions): Promise<SuiteResult> {
  const events = generateEvents(options.events, { sessions: 8 });
  const lines = events.map((event) => JSON.stringify(event));
  const values = lines.map((line) => JSON.parse(line));
  const receivedAt = "2026-01-01T00:00:00.000000000Z";
  const lineFunction = await collectorLineFunction();
  const fast = await fastCheck();
  let sink = 0; // keeps results alive so the engine cannot skip the work
  // CPU time of this process (all its threads, the garbage collector's included): far less
  // disturbed by other load than wall-clock time.
  const perEvent = (work: () => void): () => Promise<number> => () => {
    const start = cpuUsage();
    work();
    const used = cpuUsage(start);
    return Promise.resolve((used.user + used.system) / lines.length);
  };
  const contenders: Contender<number>[] = [
    { name: "JSON.parse", run: perEvent(() => lines.forEach((l) => sink += JSON.parse(l).seq)) },
    ...(fast
      ? [{
        name: FAST_CHECK,
        run: perEvent(() => values.forEach((v) => sink += fast(v) ? 1 : 0)),
      }]
      : []),
    {
      name: ZOD_CHECK,
      run: perEvent(() => values.forEach((v) => sink += validateEvent(v).ok ? 1 : 0)),
    },
    {
      name: "JSON.stringify",
      run: perEvent(() => values.forEach((v) => sink += JSON.stringify(v).length)),
    },
  ];
  if (lineFunction) {
    contenders.push({
      name: LINE_FUNCTION,
      run: perEvent(() => lines.forEach((l) => sink += lineFunction(l, receivedAt).ok ? 1 : 0)),
    });
  } else {
    options.log("hotpath: collector/ingest.ts no longer exports ingestText; skipping it");
  }
  // One unmeasured round first, so that every function is optimised before it is timed.
  for (const contender of contenders) await contender.run(0);
  const samples = await runAlternating(contenders, {
    rounds: options.rounds,
    onSample: (name, round, us) =>
      options.log(
        `hotpath: round ${round + 1}/${options.rounds} ${name}: ${formatNumber(us)} µs/event`,
      ),
  });
  if (sink === 0) throw new Error("the hot-path loops produced nothing; the measurement is void");
  const rows = contenders.map(({ name }) => {
    const values = samples.get(name)!;
    const spread = range(values);
    const us = median(values);
    return [
      name,
      formatNumber(us),
      `${formatNumber(spread.min)} – ${formatNumber(spread.max)}`,
      formatNumber(1e6 / us),
    ];
  });
  const findings: string[] = [];
  if (lineFunction) {
    const total = median(samples.get(LINE_FUNCTION)!);
    const vouched = fast ? values.filter((v) => fast(v)).length / values.length : 0;
    findings.push(
      `Per event the collector's line function takes ${formatNumber(total)} µs of CPU ` +
        `(at most ${formatNumber(1e6 / total)} events/s per core before any I/O).` +
        (fast
          ? ` The hand-written check vouches for ${formatNumber(vouched * 100)} % of the ` +
            "workload's events; zod decides the rest."
          : ""),
    );
  }
  return {
    id: "hotpath",
    title: "5. Collector hot path, in-process",
    setup: [
      `The ${formatNumber(options.events)} events of the ingest workload, already in memory, ` +
      "go through each step the collector takes for a line, in a loop in this process: " +
      "`JSON.parse` of the line, the protocol's hand-written check of the parsed value, zod's " +
      "full validation (the collector runs it only for events the hand-written check does not " +
      "vouch for, and to name the problem in a reject record), `JSON.stringify` of the " +
      "accepted value, and the collector's own line function (collector/ingest.ts " +
      "`ingestText`), which does these plus its own checks. One " +
      `warm-up round, then ${options.rounds} rounds alternating; CPU µs per event (user + ` +
      "system time of this process, the garbage collector's threads included).",
    ],
    columns: ["step", "CPU µs per event (median)", "µs (min – max)", "events/s per core"],
    rows,
    findings,
  };
}
