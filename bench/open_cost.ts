/**
 * Comparison 2, cost per audited open: a loop of open()+close() without any
 * hook ("plain"), with one 300-byte write() to a Unix socket per open done by
 * the program itself (the floor of any synchronous hook), and under the shim.
 * Both writers send to the same discarding reader, so the comparison isolates
 * the hook's own cost.
 *
 * @module
 */
import { type Contender, runAlternating } from "./alternate.ts";
import { runText } from "./command.ts";
import { compileHelper } from "./native.ts";
import { startServer, stopServer, waitForSocket } from "./server.ts";
import { formatNumber, formatRatio, median, range } from "./stats.ts";
import type { SuiteResult } from "./suite.ts";
import { buildShim } from "../toolchain/mod.ts";

/** Options of {@linkcode runOpenCost}. */
export interface OpenCostOptions {
  iterations: number;
  rounds: number;
  log: (line: string) => void;
}

const PLAIN = "plain (no preload)";
const FLOOR = "one-write floor";
const SHIM = "containai shim";

/**
 * Runs the per-open comparison and returns its section of the report.
 *
 * @example
 * ```ts
 * import { runOpenCost } from "./open_cost.ts";
 * const result = await runOpenCost({ iterations: 200_000, rounds: 7, log: console.error });
 * ```
 */
export async function runOpenCost(options: OpenCostOptions): Promise<SuiteResult> {
  const workDir = await Deno.makeTempDir({ prefix: "containai-bench-open-" });
  try {
    options.log("open: building the shim and the C helpers");
    const shim = await buildShim({ quiet: true });
    const openLoop = await compileHelper("open_loop", { outDir: workDir });
    const sink = await compileHelper("sink", { outDir: workDir });
    const target = `${workDir}/target.txt`;
    await Deno.writeTextFile(target, "opened by the benchmark\n");
    const socket = `${workDir}/sink.sock`;
    const loop = { openLoop, sink, socket, iterations: options.iterations };
    const contenders: Contender<number>[] = [
      { name: PLAIN, run: () => timeLoop(loop, { args: [target] }) },
      { name: FLOOR, run: () => timeLoop(loop, { args: [target, socket], expectLines: true }) },
      {
        name: SHIM,
        run: () =>
          timeLoop(loop, {
            args: [target],
            expectLines: true,
            env: {
              LD_PRELOAD: shim,
              CONTAINAI_AUDIT_SOCKET: socket,
              CONTAINAI_SESSION_ID: "bench-open",
              CONTAINAI_AGENT: "bench",
            },
          }),
      },
    ];
    const samples = await runAlternating(contenders, {
      rounds: options.rounds,
      onSample: (name, round, ns) =>
        options.log(
          `open: round ${round + 1}/${options.rounds} ${name}: ${formatNumber(ns)} ns/open`,
        ),
    });
    return summarize(samples, options);
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
}

interface LoopSetup {
  openLoop: string;
  sink: string;
  socket: string;
  iterations: number;
}

/** Runs the loop once with a fresh sink; returns nanoseconds per iteration. */
async function timeLoop(
  setup: LoopSetup,
  options: { args: string[]; env?: Record<string, string>; expectLines?: boolean },
): Promise<number> {
  const sink = startServer(setup.sink, { args: [setup.socket] });
  try {
    await waitForSocket(sink, setup.socket);
    const out = await runText(setup.openLoop, {
      args: [String(setup.iterations), ...options.args],
      env: options.env,
    });
    if (!out.success) throw new Error(`open_loop failed (${out.code}): ${out.stderr.trim()}`);
    await stopServer(sink);
    const received = Number(sink.output().trim().split("\n").at(-1));
    if (options.expectLines && !(received >= setup.iterations)) {
      throw new Error(
        `the reader received ${received} lines for ${setup.iterations} opens: ` +
          "the events did not arrive, so the run measured nothing",
      );
    }
    return Number(out.stdout.trim());
  } finally {
    await stopServer(sink, { signal: "SIGKILL", graceMs: 2000 });
  }
}

function summarize(samples: Map<string, number[]>, options: OpenCostOptions): SuiteResult {
  const plain = median(samples.get(PLAIN)!);
  const floorAdded = median(samples.get(FLOOR)!) - plain;
  const rows = [PLAIN, FLOOR, SHIM].map((name) => {
    const values = samples.get(name)!;
    const spread = range(values);
    const added = median(values) - plain;
    return [
      name,
      formatNumber(median(values)),
      `${formatNumber(spread.min)} – ${formatNumber(spread.max)}`,
      name === PLAIN ? "—" : formatNumber(added),
      name === PLAIN ? "—" : formatRatio(added / floorAdded),
    ];
  });
  const ratio = (median(samples.get(SHIM)!) - plain) / floorAdded;
  return {
    id: "open",
    title: "2. Shim cost per audited open",
    setup: [
      `A C program (bench/c/open_loop.c, built with zig cc -O2) opens and closes one file ` +
      `${formatNumber(options.iterations)} times and reports the nanoseconds per iteration of ` +
      "the loop alone (process start-up excluded). The floor variant also write()s one 300-byte " +
      "line to a Unix stream socket after each open, as the cheapest possible synchronous hook " +
      "would. The shim variant is the plain loop with LD_PRELOAD=libauditshim.so " +
      "(ReleaseFast). Floor and shim write to the same reader (bench/c/sink.c: epoll, read, " +
      "discard, count lines), a fresh one per run, which checks that every open's line arrived.",
      `${options.rounds} rounds, contenders alternating. "Added" is a contender's median minus ` +
      "plain's median.",
    ],
    columns: [
      "contender",
      "ns per open (median)",
      "ns (min – max)",
      "added ns per open",
      "added vs floor's added",
    ],
    rows,
    findings: [
      `The shim adds ${formatRatio(ratio)} the cost the one-write floor adds (goal: at most ` +
      `1.3x): ${ratio <= 1.3 ? "**met**" : "**not met**"}.`,
    ],
  };
}
