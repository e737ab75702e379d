/**
 * Comparison 4, end to end: a realistic agent workload (bench/workload.sh: git
 * init/add/commit, a gcc build, Python spawning children) bare, under `run`
 * with a collector already serving (the container sidecar set-up), and under
 * `run` starting its own collector for the run.
 *
 * @module
 */
import { type Contender, runAlternating } from "./alternate.ts";
import { sumBashTimes, withBashTimes } from "./bash_times.ts";
import { runText } from "./command.ts";
import { REPO_ROOT, taskArgs } from "./deno_task.ts";
import { COLLECTOR_TARGET } from "./ingest_targets.ts";
import { stopServer, waitForSocket } from "./server.ts";
import { formatNumber, formatPercent, median, range, relativeOverhead } from "./stats.ts";
import type { SuiteResult } from "./suite.ts";

const WORKLOAD = new URL("workload.sh", import.meta.url).pathname;

/** Options of {@linkcode runEndToEnd}. */
export interface EndToEndOptions {
  rounds: number;
  log: (line: string) => void;
}

const BARE = "bare";
const SIDECAR = "run (collector already serving)";
const OWN = "run (starts its own collector)";
const FIXED = "run -- /bin/true (collector serving)";

/** Programs the workload starts; `run`'s summary must list each of them. */
const EXPECTED_PROGRAMS: readonly RegExp[] = [/\/git$/, /\/gcc(-\d+)?$/, /\/python3(\.\d+)?$/];

/**
 * Runs the end-to-end comparison and returns its section of the report.
 *
 * @example
 * ```ts
 * import { runEndToEnd } from "./end_to_end.ts";
 * const result = await runEndToEnd({ rounds: 5, log: console.error });
 * ```
 */
export async function runEndToEnd(options: EndToEndOptions): Promise<SuiteResult> {
  const workDir = await Deno.makeTempDir({ prefix: "containai-bench-e2e-" });
  const paths = { workDir, socket: `${workDir}/audit.sock`, logDir: `${workDir}/logs` };
  await Deno.mkdir(paths.logDir);
  options.log("e2e: starting a collector for the sidecar set-up");
  const collector = await COLLECTOR_TARGET.start(paths);
  try {
    await waitForSocket(collector, paths.socket);
    const run = await taskArgs("run");
    const fresh = async (round: number, name: string): Promise<string> => {
      const dir = `${workDir}/${name}-${round}`;
      await Deno.mkdir(dir);
      return dir;
    };
    /** `run --json` of `command`, reporting to the collector already serving. */
    const underSidecar = (session: string, command: string[]): string[] => [
      Deno.execPath(),
      ...run,
      "--json",
      "--socket",
      paths.socket,
      "--log-dir",
      paths.logDir,
      "--session",
      session,
      "--",
      ...command,
    ];
    const contenders: Contender<RunSample>[] = [
      {
        name: BARE,
        run: async (round) => await timed(["bash", WORKLOAD, await fresh(round, "bare")]),
      },
      {
        name: SIDECAR,
        run: async (round) =>
          await timed(
            underSidecar(`bench-e2e-${round}`, ["bash", WORKLOAD, await fresh(round, "sidecar")]),
            { expectSummary: true },
          ),
      },
      {
        name: OWN,
        run: async (round) =>
          await timed([
            Deno.execPath(),
            ...run,
            "--json",
            "--log-dir",
            `${workDir}/own-logs`,
            "--",
            "bash",
            WORKLOAD,
            await fresh(round, "own"),
          ], { expectSummary: true }),
      },
      {
        name: FIXED,
        run: async (round) => await timed(underSidecar(`bench-e2e-true-${round}`, ["/bin/true"])),
      },
    ];
    const samples = await runAlternating(contenders, {
      rounds: options.rounds,
      onSample: (name, round, sample) =>
        options.log(
          `e2e: round ${round + 1}/${options.rounds} ${name}: ${
            formatNumber(sample.wallSeconds * 1000)
          } ms wall, ${formatNumber(sample.cpuSeconds * 1000)} ms CPU`,
        ),
    });
    return summarize(samples, options);
  } finally {
    await stopServer(collector);
    await Deno.remove(workDir, { recursive: true });
  }
}

/** One run: wall-clock seconds, spawn to exit, and CPU seconds of the waited-for process tree. */
interface RunSample {
  wallSeconds: number;
  cpuSeconds: number;
}

/** Runs a command to completion under bash's `times`; returns its wall-clock and CPU seconds. */
async function timed(
  command: string[],
  options: { expectSummary?: boolean } = {},
): Promise<RunSample> {
  const env = Deno.env.toObject();
  // The benchmark chooses the collector; an inherited socket would silently change that.
  delete env.CONTAINAI_AUDIT_SOCKET;
  delete env.CONTAINAI_AUDIT_LOG_DIR;
  const [program, ...args] = withBashTimes(command);
  const start = performance.now();
  const out = await runText(program, { args, env: { ...env, LC_ALL: "C" }, cwd: REPO_ROOT });
  const wallSeconds = (performance.now() - start) / 1000;
  if (!out.success) {
    throw new Error(`exited with ${out.code}:\n${(out.stderr || out.stdout).trim().slice(-2000)}`);
  }
  const lines = out.stdout.trim().split("\n");
  const cpuSeconds = sumBashTimes(lines.slice(-2).join("\n"));
  if (options.expectSummary) checkSummary(lines.slice(0, -2).join("\n"));
  return { wallSeconds, cpuSeconds };
}

/** Checks run's --json summary: complete log, and every program of the workload seen. */
function checkSummary(stdout: string): void {
  const line = stdout.trim().split("\n").findLast((l) => l.startsWith("{"));
  if (line === undefined) throw new Error(`run printed no JSON summary:\n${stdout.slice(-1000)}`);
  const summary = JSON.parse(line) as { log_complete?: boolean; programs?: string[] };
  if (summary.log_complete !== true) throw new Error(`run reports an incomplete log: ${line}`);
  const programs = summary.programs ?? [];
  const missing = EXPECTED_PROGRAMS.filter((pattern) => !programs.some((p) => pattern.test(p)));
  if (missing.length > 0) {
    throw new Error(`run's summary lacks programs ${missing.join(", ")}: ${programs.join(", ")}`);
  }
}

function summarize(samples: Map<string, RunSample[]>, options: EndToEndOptions): SuiteResult {
  const medianOf = (name: string, key: keyof RunSample): number =>
    median(samples.get(name)!.map((sample) => sample[key]));
  const vsBare = (name: string, key: keyof RunSample): string =>
    name === BARE || name === FIXED
      ? "—"
      : formatPercent(relativeOverhead(medianOf(name, key), medianOf(BARE, key)));
  const rows = [BARE, SIDECAR, OWN, FIXED].map((name) => {
    const spread = range(samples.get(name)!.map((sample) => sample.wallSeconds));
    return [
      name,
      formatNumber(medianOf(name, "wallSeconds") * 1000),
      `${formatNumber(spread.min * 1000)} – ${formatNumber(spread.max * 1000)}`,
      vsBare(name, "wallSeconds"),
      formatNumber(medianOf(name, "cpuSeconds") * 1000),
      vsBare(name, "cpuSeconds"),
    ];
  });
  const added = (key: keyof RunSample): number => medianOf(SIDECAR, key) - medianOf(BARE, key);
  const auditing = (key: keyof RunSample): string => {
    const rest = added(key) - medianOf(FIXED, key);
    return rest > 0
      ? `${formatNumber(rest * 1000)} ms (${formatPercent(rest / medianOf(BARE, key))} of bare)`
      : "nothing measurable";
  };
  return {
    id: "e2e",
    title: "4. End to end: a realistic workload under `run`",
    setup: [
      "bench/workload.sh in a fresh directory: git init, 21 files added and committed, gcc " +
      "builds and runs a 4-file program, git status/log, then Python runs git 10 times through " +
      "subprocess, a shell pipeline and os.system. Wall time from spawn to exit, including " +
      "`run`'s own start-up (Deno, the kernel probe, the shim injection, the summary); CPU time " +
      "of the command and every process it waited for, from bash's `times` (a collector " +
      "already serving is not included; one that `run` starts is included only if `run` " +
      "waits for it).",
      "Under `run` (started with deno.json's run task permissions, `--json`), the summary must " +
      "report a complete log listing git, gcc and python3, or the run fails. The sidecar " +
      "variant uses a collector that is already serving (as in the container); the other lets " +
      "`run` start and stop a collector itself. `run -- /bin/true` measures `run`'s fixed " +
      `cost. ${options.rounds} rounds, alternating.`,
    ],
    columns: [
      "contender",
      "wall ms (median)",
      "wall ms (min – max)",
      "wall vs bare",
      "CPU ms (median)",
      "CPU vs bare",
    ],
    rows,
    findings: [
      `End to end, the workload under \`run\` with a collector already serving takes ` +
      `${vsBare(SIDECAR, "wallSeconds")} wall-clock time and ${vsBare(SIDECAR, "cpuSeconds")} ` +
      `CPU time compared with bare (${vsBare(OWN, "wallSeconds")} wall when \`run\` starts ` +
      `its own collector). \`run -- /bin/true\` alone takes ` +
      `${formatNumber(medianOf(FIXED, "wallSeconds") * 1000)} ms wall, ` +
      `${formatNumber(medianOf(FIXED, "cpuSeconds") * 1000)} ms CPU; beyond that fixed cost, ` +
      `auditing the workload itself costs ${auditing("wallSeconds")} wall and ` +
      `${auditing("cpuSeconds")} CPU.`,
    ],
  };
}
