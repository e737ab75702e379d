/**
 * `deno task bench`: runs the comparisons against peers on this machine and
 * writes docs/benchmarks.md. Exits non-zero when a contender fails to complete.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runText } from "./command.ts";
import { REPO_ROOT } from "./deno_task.ts";
import { runEndToEnd } from "./end_to_end.ts";
import { runExecLoop } from "./exec_loop.ts";
import { runHotPath } from "./hot_path.ts";
import { runIngest } from "./ingest.ts";
import { collectVersions, describeMachine, loadAverage } from "./machine.ts";
import { runOpenCost } from "./open_cost.ts";
import { runPolicyCost } from "./policy_bench.ts";
import { ensurePeers, keepPeersDisabled } from "./peers.ts";
import { type BenchReport, renderReport, type SuiteFailure } from "./report.ts";
import type { SuiteResult } from "./suite.ts";

const DEFAULT_OUT = new URL("../docs/benchmarks.md", import.meta.url).pathname;
const DISCUSSION = new URL("discussion.md", import.meta.url);

/** How big a run is. */
interface Scale {
  quick: boolean;
  log: (line: string) => void;
}

/** One comparison the benchmark can run. */
interface Suite {
  id: string;
  title: string;
  /** Whether it needs the Debian peers installed. */
  needsPeers: boolean;
  run(scale: Scale): Promise<SuiteResult>;
}

const SUITES: readonly Suite[] = [
  {
    id: "ingest",
    title: "1. Collector ingest",
    needsPeers: true,
    run: ({ quick, log }) =>
      runIngest({ events: quick ? 40_000 : 400_000, clients: 4, rounds: quick ? 2 : 5, log }),
  },
  {
    id: "open",
    title: "2. Shim cost per audited open",
    needsPeers: false,
    run: ({ quick, log }) =>
      runOpenCost({ iterations: quick ? 20_000 : 200_000, rounds: quick ? 3 : 9, log }),
  },
  {
    id: "exec",
    title: "3. Exec-heavy loop",
    needsPeers: true,
    run: ({ quick, log }) => runExecLoop({ execs: 500, rounds: quick ? 3 : 11, log }),
  },
  {
    id: "e2e",
    title: "4. End to end",
    needsPeers: false,
    run: ({ quick, log }) => runEndToEnd({ rounds: quick ? 2 : 7, log }),
  },
  {
    id: "hotpath",
    title: "5. Collector hot path, in-process",
    needsPeers: false,
    run: ({ quick, log }) =>
      runHotPath({ events: quick ? 20_000 : 100_000, rounds: quick ? 2 : 5, log }),
  },
  {
    id: "policy",
    title: "6. Policy matching cost",
    needsPeers: false,
    run: ({ quick, log }) =>
      runPolicyCost({ iterations: quick ? 100_000 : 1_000_000, rounds: quick ? 3 : 15, log }),
  },
];

const HELP = `usage: deno task bench [--quick] [--only NAMES] [--out FILE]

Runs the comparisons against peers on this machine, alternating contenders,
and reports medians and ratios.
  --quick        smoke run: fewer events and rounds
  --only NAMES   comma-separated subset of: ${SUITES.map((s) => s.id).join(", ")}
  --out FILE     where to write the Markdown report; a full run (no --quick,
                 no --only) defaults to docs/benchmarks.md, others print it
Exits 1 when a contender fails to complete, 2 on bad usage.`;

/**
 * Runs the benchmark with command-line `args`; returns the exit code.
 *
 * @example
 * ```ts
 * import { benchMain } from "./main.ts";
 * const code = await benchMain(["--quick", "--only", "exec"]);
 * ```
 */
export async function benchMain(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        quick: { type: "boolean" },
        only: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const wanted = values.only?.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = wanted?.filter((name) => !SUITES.some((suite) => suite.id === name)) ?? [];
  if (unknown.length > 0) {
    console.error(`bench: unknown comparison "${unknown.join(", ")}"\n\n${HELP}`);
    return 2;
  }
  const suites = SUITES.filter((suite) => wanted === undefined || wanted.includes(suite.id));
  const started = performance.now();
  const startedAt = new Date();
  const loadAtStart = await loadAverage();
  const log = (line: string): void => {
    const seconds = Math.round((performance.now() - started) / 1000);
    const stamp = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    console.error(`[${stamp}] ${line}`);
  };
  const scale = { quick: values.quick === true, log };

  const results: SuiteResult[] = [];
  const failures: SuiteFailure[] = [];
  if (suites.some((suite) => suite.needsPeers)) {
    try {
      await ensurePeers(log);
    } catch (error) {
      console.error(`bench: ${(error as Error).message}`);
      return 1;
    }
  }
  const machine = await describeMachine();
  const versions = await collectVersions();
  for (const suite of suites) {
    log(`${suite.title}: starting`);
    try {
      results.push(await suite.run(scale));
      log(`${suite.title}: done`);
    } catch (error) {
      const message = (error as Error).message;
      log(`${suite.title}: FAILED: ${message}`);
      failures.push({ id: suite.id, title: suite.title, message });
    }
  }
  if (suites.some((suite) => suite.needsPeers)) await keepPeersDisabled(log);

  const report: BenchReport = {
    startedAt,
    durationSeconds: (performance.now() - started) / 1000,
    command: ["deno task bench", ...args].join(" "),
    machine,
    load: { start: loadAtStart, end: await loadAverage() },
    versions,
    results,
    failures,
    comparisons: SUITES.map((suite) => suite.id),
    discussion: await Deno.readTextFile(DISCUSSION).catch(() => undefined),
  };
  const markdown = renderReport(report);
  const out = values.out ?? (scale.quick || wanted ? undefined : DEFAULT_OUT);
  if (out === undefined) {
    console.log(markdown);
  } else {
    await Deno.writeTextFile(out, markdown);
    await formatMarkdown(out, log);
    log(`wrote ${out}`);
  }
  log(failures.length === 0 ? "all comparisons completed" : `${failures.length} failed`);
  return failures.length === 0 ? 0 : 1;
}

/** Formats the written report with `deno fmt` (the project's checks require formatted files). */
async function formatMarkdown(path: string, log: (line: string) => void): Promise<void> {
  const out = await runText(Deno.execPath(), { args: ["fmt", "--quiet", path], cwd: REPO_ROOT });
  if (!out.success) log(`warning: deno fmt ${path} failed: ${out.stderr.trim()}`);
}

if (import.meta.main) {
  Deno.exit(await benchMain(Deno.args));
}
