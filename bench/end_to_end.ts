/**
 * Comparison 4, end to end: a realistic agent workload (bench/workload.sh: git
 * init/add/commit, a gcc build, Python spawning children) bare, under `run`
 * with a collector already serving (the container sidecar set-up), and under
 * `run` starting its own collector for the run.
 *
 * @module
 */
import { type Contender, runAlternating } from "./alternate.ts";
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
    const contenders: Contender<number>[] = [
      {
        name: BARE,
        run: async (round) => await timed(["bash", WORKLOAD, await fresh(round, "bare")]),
      },
      {
        name: SIDECAR,
        run: async (round) =>
          await timed([
            Deno.execPath(),
            ...run,
            "--json",
            "--socket",
            paths.socket,
            "--log-dir",
            paths.logDir,
            "--session",
            `bench-e2e-${round}`,
            "--",
            "bash",
            WORKLOAD,
            await fresh(round, "sidecar"),
          ], { expectSummary: true }),
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
    ];
    contenders.push({
      name: FIXED,
      run: async (round) =>
        await timed([
          Deno.execPath(),
          ...run,
          "--json",
          "--socket",
          paths.socket,
          "--log-dir",
          paths.logDir,
          "--session",
          `bench-e2e-true-${round}`,
          "--",
          "/bin/true",
        ]),
    });
    const samples = await runAlternating(contenders, {
      rounds: options.rounds,
      onSample: (name, round, seconds) =>
        options.log(
          `e2e: round ${round + 1}/${options.rounds} ${name}: ${formatNumber(seconds * 1000)} ms`,
        ),
    });
    return summarize(samples, options);
  } finally {
    await stopServer(collector);
    await Deno.remove(workDir, { recursive: true });
  }
}

/** Runs a command to completion; returns its wall-clock seconds, spawn to exit. */
async function timed(
  command: string[],
  options: { expectSummary?: boolean } = {},
): Promise<number> {
  const env = Deno.env.toObject();
  // The benchmark chooses the collector; an inherited socket would silently change that.
  delete env.CONTAINAI_AUDIT_SOCKET;
  delete env.CONTAINAI_AUDIT_LOG_DIR;
  const start = performance.now();
  const out = await runText(command[0], { args: command.slice(1), env, cwd: REPO_ROOT });
  const seconds = (performance.now() - start) / 1000;
  if (!out.success) {
    throw new Error(`exited with ${out.code}:\n${(out.stderr || out.stdout).trim().slice(-2000)}`);
  }
  if (options.expectSummary) checkSummary(out.stdout);
  return seconds;
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

function summarize(samples: Map<string, number[]>, options: EndToEndOptions): SuiteResult {
  const bare = median(samples.get(BARE)!);
  const rows = [BARE, SIDECAR, OWN, FIXED].map((name) => {
    const values = samples.get(name)!;
    const spread = range(values);
    return [
      name,
      formatNumber(median(values) * 1000),
      `${formatNumber(spread.min * 1000)} – ${formatNumber(spread.max * 1000)}`,
      name === BARE || name === FIXED ? "—" : formatNumber((median(values) - bare) * 1000),
      name === BARE || name === FIXED ? "—" : formatPercent(relativeOverhead(median(values), bare)),
    ];
  });
  const sidecar = relativeOverhead(median(samples.get(SIDECAR)!), bare);
  const own = relativeOverhead(median(samples.get(OWN)!), bare);
  const fixed = median(samples.get(FIXED)!);
  const auditing = median(samples.get(SIDECAR)!) - bare - fixed;
  return {
    id: "e2e",
    title: "4. End to end: a realistic workload under `run`",
    setup: [
      "bench/workload.sh in a fresh directory: git init, 21 files added and committed, gcc " +
      "builds and runs a 4-file program, git status/log, then Python runs git 10 times through " +
      "subprocess, a shell pipeline and os.system. Wall time from spawn to exit, including " +
      "`run`'s own start-up (Deno, the kernel probe, the shim injection, the summary).",
      "Under `run` (started with deno.json's run task permissions, `--json`), the summary must " +
      "report a complete log listing git, gcc and python3, or the run fails. The sidecar " +
      "variant uses a collector that is already serving (as in the container); the other lets " +
      `\`run\` start and stop a collector itself. \`run -- /bin/true\` measures \`run\`'s ` +
      `fixed cost. ${options.rounds} rounds, alternating.`,
    ],
    columns: ["contender", "ms (median)", "ms (min – max)", "added ms", "vs bare"],
    rows,
    findings: [
      `End to end, the workload under \`run\` takes ${formatPercent(sidecar)} longer than bare ` +
      `with a collector already serving, ${formatPercent(own)} when \`run\` starts its own.`,
      `Of that, \`run -- /bin/true\` (start-up, probe, summary; no workload) takes ` +
      `${formatNumber(fixed * 1000)} ms; ` +
      (auditing > 0
        ? `the remaining ${formatNumber(auditing * 1000)} ms (${
          formatPercent(auditing / bare)
        } of bare) is what auditing the workload itself costs.`
        : "the rest is below this run's noise (the medians leave nothing for auditing the " +
          "workload itself)."),
    ],
  };
}
