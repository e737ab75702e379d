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
import { type Server, startServer, stopServer, waitForSocket } from "./server.ts";
import { formatNumber, formatRatio, median, range } from "./stats.ts";
import type { SuiteResult } from "./suite.ts";
import { straceAvailable, syscallsPerIteration } from "./syscalls.ts";
import { buildShim } from "../toolchain/mod.ts";

/** Options of {@linkcode runOpenCost}. */
export interface OpenCostOptions {
  iterations: number;
  rounds: number;
  log: (line: string) => void;
}

/**
 * The shim drops events when a send would wait longer than its timeout (a reader kept off the
 * CPU by other load); a run that delivered less than this is repeated, at most
 * {@linkcode MAX_ATTEMPTS} times in all, since a run that dropped events did less work.
 */
const MIN_DELIVERED = 0.99;
const MAX_ATTEMPTS = 3;

/** One run of the loop: nanoseconds per iteration and what the reader received. */
interface LoopSample {
  wallNs: number;
  cpuNs: number;
  /** Lines the reader received per open (1 when every event arrived); NaN for plain. */
  delivered: number;
  /** Runs repeated because too few lines arrived. */
  retries: number;
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
    const shimEnv = {
      LD_PRELOAD: shim,
      CONTAINAI_AUDIT_SOCKET: socket,
      CONTAINAI_SESSION_ID: "bench-open",
      CONTAINAI_AGENT: "bench",
    };
    const variants: Variant[] = [
      { name: PLAIN, args: [target] },
      { name: FLOOR, args: [target, socket], expectLines: true },
      { name: SHIM, args: [target], env: shimEnv, expectLines: true },
    ];
    const contenders: Contender<LoopSample>[] = variants.map((variant) => ({
      name: variant.name,
      run: () => timeLoop(loop, variant),
    }));
    const samples = await runAlternating(contenders, {
      rounds: options.rounds,
      onSample: (name, round, sample) =>
        options.log(
          `open: round ${round + 1}/${options.rounds} ${name}: ${
            formatNumber(sample.wallNs)
          } ns/open wall, ${formatNumber(sample.cpuNs)} ns/open CPU`,
        ),
    });
    const syscalls = await countSyscalls(loop, variants, { workDir, log: options.log });
    return summarize(samples, syscalls, options);
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
}

/** Starts a fresh reader on the loop's socket. */
function startSink(setup: LoopSetup): Server {
  return startServer(setup.sink, { args: [setup.socket] });
}

/** One way of running the loop. */
interface Variant {
  name: string;
  args: string[];
  env?: Record<string, string>;
  expectLines?: boolean;
}

/** System calls per open of each variant, or undefined without a usable strace. */
async function countSyscalls(
  setup: LoopSetup,
  variants: Variant[],
  options: { workDir: string; log: (line: string) => void },
): Promise<Map<string, number> | undefined> {
  if (!(await straceAvailable())) {
    options.log("open: strace is not available; skipping the system-call count");
    return undefined;
  }
  options.log("open: counting system calls per open with strace");
  const sink = startSink(setup);
  try {
    await waitForSocket(sink, setup.socket);
    const counts = new Map<string, number>();
    for (const variant of variants) {
      counts.set(
        variant.name,
        await syscallsPerIteration(
          (n) => ({
            program: setup.openLoop,
            args: [String(n), ...variant.args],
            env: variant.env,
          }),
          { small: 1000, large: 3000, workDir: options.workDir },
        ),
      );
    }
    return counts;
  } finally {
    await stopServer(sink);
  }
}

interface LoopSetup {
  openLoop: string;
  sink: string;
  socket: string;
  iterations: number;
}

/** Runs the loop until enough of its lines arrive (see {@linkcode MIN_DELIVERED}). */
async function timeLoop(setup: LoopSetup, variant: Variant): Promise<LoopSample> {
  for (let attempt = 1;; attempt++) {
    const sample = await timeLoopOnce(setup, variant);
    if (!variant.expectLines || sample.delivered >= MIN_DELIVERED) {
      return { ...sample, retries: attempt - 1 };
    }
    if (attempt === MAX_ATTEMPTS) {
      throw new Error(
        `the reader received ${formatNumber(sample.delivered * 100)} % of the lines for ` +
          `${setup.iterations} opens in each of ${MAX_ATTEMPTS} attempts (the shim drops events ` +
          "while a send would wait longer than its timeout): the machine is too busy",
      );
    }
  }
}

/** Runs the loop once with a fresh reader; returns its timings and what the reader got. */
async function timeLoopOnce(setup: LoopSetup, variant: Variant): Promise<LoopSample> {
  const sink = startSink(setup);
  try {
    await waitForSocket(sink, setup.socket);
    const out = await runText(setup.openLoop, {
      args: [String(setup.iterations), ...variant.args],
      env: variant.env,
    });
    if (!out.success) throw new Error(`open_loop failed (${out.code}): ${out.stderr.trim()}`);
    await stopServer(sink);
    const received = Number(sink.output().trim().split("\n").at(-1));
    const [wallNs, cpuNs] = out.stdout.trim().split(" ").map(Number);
    const delivered = variant.expectLines ? received / setup.iterations : NaN;
    return { wallNs, cpuNs, delivered, retries: 0 };
  } finally {
    await stopServer(sink, { signal: "SIGKILL", graceMs: 2000 });
  }
}

function retried(runs: LoopSample[]): string {
  const retries = runs.reduce((sum, sample) => sum + sample.retries, 0);
  return retries === 0 ? "" : ` (${retries} ${retries === 1 ? "run" : "runs"} repeated)`;
}

function summarize(
  samples: Map<string, LoopSample[]>,
  syscalls: Map<string, number> | undefined,
  options: OpenCostOptions,
): SuiteResult {
  const medianOf = (name: string, key: "wallNs" | "cpuNs"): number =>
    median(samples.get(name)!.map((sample) => sample[key]));
  const added = (name: string, key: "wallNs" | "cpuNs"): number =>
    medianOf(name, key) - medianOf(PLAIN, key);
  const rows = [PLAIN, FLOOR, SHIM].map((name) => {
    const runs = samples.get(name)!;
    const spread = range(runs.map((sample) => sample.wallNs));
    const relative = (key: "wallNs" | "cpuNs"): string =>
      name === PLAIN ? "—" : formatRatio(added(name, key) / added(FLOOR, key));
    return [
      name,
      formatNumber(medianOf(name, "wallNs")),
      `${formatNumber(spread.min)} – ${formatNumber(spread.max)}`,
      name === PLAIN ? "—" : formatNumber(added(name, "wallNs")),
      relative("wallNs"),
      formatNumber(medianOf(name, "cpuNs")),
      name === PLAIN ? "—" : formatNumber(added(name, "cpuNs")),
      relative("cpuNs"),
      name === PLAIN
        ? "—"
        : `${formatNumber(Math.min(...runs.map((sample) => sample.delivered)) * 100)} %` +
          retried(runs),
      syscalls ? formatNumber(syscalls.get(name)!) : "n/a",
    ];
  });
  const wallRatio = added(SHIM, "wallNs") / added(FLOOR, "wallNs");
  const cpuRatio = added(SHIM, "cpuNs") / added(FLOOR, "cpuNs");
  const verdict = (ratio: number): string => (ratio <= 1.3 ? "**met**" : "**not met**");
  return {
    id: "open",
    title: "2. Shim cost per audited open",
    setup: [
      `A C program (bench/c/open_loop.c, built with zig cc -O2) opens and closes one file ` +
      `${formatNumber(options.iterations)} times and reports the nanoseconds per iteration of ` +
      "the loop alone (process start-up excluded), wall-clock and CPU time of the process. " +
      "The floor variant also write()s one 300-byte line to a Unix stream socket after each " +
      "open, as the cheapest possible synchronous hook would. The shim variant is the plain " +
      "loop with LD_PRELOAD=libauditshim.so (ReleaseFast). Floor and shim write to the same " +
      "reader (bench/c/sink.c: epoll, read, discard, count lines), a fresh one per run; " +
      `"delivered" is the worst kept round's share of opens whose line arrived. The shim drops ` +
      "events while a send would wait longer than its timeout (a reader kept off the CPU by " +
      `other load), and a run that dropped events did less work: a run below ` +
      `${MIN_DELIVERED * 100} % is repeated (shown in the column), at most ${MAX_ATTEMPTS} ` +
      "times, then the comparison fails.",
      `${options.rounds} rounds, contenders alternating. "Added" is a contender's median minus ` +
      "plain's median; the ratio divides the shim's added cost by the floor's. System calls " +
      "per open come from `strace -f -c` of the loop at 1,000 and 3,000 iterations (the " +
      "difference divided by 2,000, so start-up cancels out); they do not depend on load.",
    ],
    columns: [
      "contender",
      "wall ns/open (median)",
      "wall ns (min – max)",
      "added wall ns",
      "added vs floor (wall)",
      "CPU ns/open (median)",
      "added CPU ns",
      "added vs floor (CPU)",
      "delivered",
      "syscalls per open",
    ],
    rows,
    findings: [
      `The shim adds ${formatRatio(wallRatio)} the wall-clock cost the one-write floor adds ` +
      `(goal: at most 1.3x): ${verdict(wallRatio)}; in CPU time ${formatRatio(cpuRatio)}: ` +
      `${verdict(cpuRatio)}.`,
    ],
  };
}
