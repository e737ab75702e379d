/**
 * Comparison 3, exec-heavy loop: bash starts /bin/true 500 times, with no
 * preload, under the shim (reporting to a real collector) and under snoopy
 * (logging to a file). The loop is timed inside bash with $EPOCHREALTIME, so
 * process start-up and the benchmark's wrappers are excluded.
 *
 * @module
 */
import { type Contender, runAlternating } from "./alternate.ts";
import { runText, waitFor } from "./command.ts";
import { COLLECTOR_TARGET } from "./ingest.ts";
import { countNewlines } from "./line_counter.ts";
import { SNOOPY_LIBRARY } from "./peers.ts";
import { stopServer, waitForSocket } from "./server.ts";
import { formatNumber, formatPercent, median, range, relativeOverhead } from "./stats.ts";
import type { SuiteResult } from "./suite.ts";
import { buildShim } from "../toolchain/mod.ts";

const SNOOPY_TEMPLATE = new URL("snoopy.ini", import.meta.url);
const SNOOPY_CONFIG_PATH = "/etc/snoopy.ini";

/** Options of {@linkcode runExecLoop}. */
export interface ExecLoopOptions {
  execs: number;
  rounds: number;
  log: (line: string) => void;
}

const NONE = "no preload";
const SHIM = "containai shim";
const SNOOPY = "snoopy";

/**
 * The bash program that runs the loop and prints its start and end time.
 *
 * @example
 * ```ts
 * import { loopScript } from "./exec_loop.ts";
 * loopScript(500); // "s=$EPOCHREALTIME; for ((i = 0; i < 500; i++)); do ..."
 * ```
 */
export function loopScript(execs: number): string {
  return `s=$EPOCHREALTIME; for ((i = 0; i < ${execs}; i++)); do /bin/true; done; ` +
    'echo "$s $EPOCHREALTIME"';
}

/**
 * Runs the exec-loop comparison and returns its section of the report.
 *
 * @example
 * ```ts
 * import { runExecLoop } from "./exec_loop.ts";
 * const result = await runExecLoop({ execs: 500, rounds: 11, log: console.error });
 * ```
 */
export async function runExecLoop(options: ExecLoopOptions): Promise<SuiteResult> {
  const workDir = await Deno.makeTempDir({ prefix: "containai-bench-exec-" });
  const paths = { workDir, socket: `${workDir}/audit.sock`, logDir: `${workDir}/logs` };
  await Deno.mkdir(paths.logDir);
  options.log("exec: building the shim, starting a collector");
  const shim = await buildShim({ quiet: true });
  const collector = await COLLECTOR_TARGET.start(paths);
  try {
    await waitForSocket(collector, paths.socket);
    const snoopyLog = `${workDir}/snoopy.log`;
    const snoopyConfig = `${workDir}/snoopy.ini`;
    const template = await Deno.readTextFile(SNOOPY_TEMPLATE);
    await Deno.writeTextFile(snoopyConfig, template.replaceAll("@LOG_FILE@", snoopyLog));
    const script = loopScript(options.execs);
    const contenders: Contender<number>[] = [
      { name: NONE, run: () => timeBash(script, {}) },
      {
        name: SHIM,
        run: async (round) => {
          const session = `bench-exec-${round}`;
          const seconds = await timeBash(script, {
            LD_PRELOAD: shim,
            CONTAINAI_AUDIT_SOCKET: paths.socket,
            CONTAINAI_SESSION_ID: session,
            CONTAINAI_AGENT: "bench",
          });
          await expectLines(`${paths.logDir}/session-${session}.jsonl`, options.execs, "/bin/true");
          return seconds;
        },
      },
      {
        name: SNOOPY,
        run: async () => {
          const before = await linesIn(snoopyLog, "/bin/true");
          const seconds = await timeBash(script, { LD_PRELOAD: SNOOPY_LIBRARY }, {
            mountOver: { source: snoopyConfig, target: SNOOPY_CONFIG_PATH },
          });
          const logged = (await linesIn(snoopyLog, "/bin/true")) - before;
          if (logged < options.execs) {
            throw new Error(`snoopy logged ${logged} of ${options.execs} execs of /bin/true`);
          }
          return seconds;
        },
      },
    ];
    const samples = await runAlternating(contenders, {
      rounds: options.rounds,
      onSample: (name, round, seconds) =>
        options.log(
          `exec: round ${round + 1}/${options.rounds} ${name}: ${formatNumber(seconds * 1000)} ms`,
        ),
    });
    return summarize(samples, options);
  } finally {
    await stopServer(collector);
    await Deno.remove(workDir, { recursive: true });
  }
}

/**
 * Runs the loop in bash with `env` added and returns its duration in seconds.
 * With `mountOver`, bash runs in a private mount namespace where `source` is
 * bind-mounted over `target`.
 */
async function timeBash(
  script: string,
  env: Record<string, string>,
  options: { mountOver?: { source: string; target: string } } = {},
): Promise<number> {
  const bash = ["env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "bash", "-c", script];
  const command = options.mountOver
    ? [
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      'mount --bind "$0" "$1" && shift && exec "$@"',
      options.mountOver.source,
      options.mountOver.target,
      ...bash,
    ]
    : bash;
  const out = await runText(command[0], { args: command.slice(1), env: { LC_ALL: "C" } });
  if (!out.success) throw new Error(`bash loop failed (${out.code}): ${out.stderr.trim()}`);
  const [start, end] = out.stdout.trim().split(" ").map(Number);
  if (!(end > start)) throw new Error(`unexpected loop timing output: ${out.stdout.trim()}`);
  return end - start;
}

async function linesIn(path: string, needle: string): Promise<number> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((line) => line.includes(needle)).length;
}

/** Waits until `path` holds at least `count` lines containing `needle` (the collector batches). */
async function expectLines(path: string, count: number, needle: string): Promise<void> {
  try {
    await waitFor(async () => (await linesIn(path, needle)) >= count, {
      timeoutMs: 10_000,
      what: `${count} events with ${needle} in ${path}`,
    });
  } catch {
    const bytes = await Deno.readFile(path).catch(() => new Uint8Array());
    throw new Error(
      `the collector stored ${await linesIn(path, needle)} events mentioning ${needle} ` +
        `(${countNewlines(bytes)} lines in total) for ${count} execs`,
    );
  }
}

function summarize(samples: Map<string, number[]>, options: ExecLoopOptions): SuiteResult {
  const none = median(samples.get(NONE)!);
  const rows = [NONE, SHIM, SNOOPY].map((name) => {
    const values = samples.get(name)!;
    const spread = range(values);
    return [
      name,
      formatNumber(median(values) * 1000),
      `${formatNumber(spread.min * 1000)} – ${formatNumber(spread.max * 1000)}`,
      formatNumber((median(values) / options.execs) * 1e6),
      name === NONE ? "—" : formatPercent(relativeOverhead(median(values), none)),
    ];
  });
  const shimOverhead = relativeOverhead(median(samples.get(SHIM)!), none);
  const snoopyOverhead = relativeOverhead(median(samples.get(SNOOPY)!), none);
  return {
    id: "exec",
    title: `3. Exec-heavy loop (${options.execs} x /bin/true from bash)`,
    setup: [
      `bash runs \`${loopScript(options.execs)}\`; the loop's own duration is the sample. ` +
      "No preload; the shim (LD_PRELOAD, reporting every exec to a real collector on a Unix " +
      "socket, checked afterwards to hold every exec); snoopy (Debian's libsnoopy via " +
      "LD_PRELOAD only, logging to a file through bench/snoopy.ini, bind-mounted over " +
      "/etc/snoopy.ini in a private mount namespace; the log is checked to hold every exec).",
      `${options.rounds} rounds, contenders alternating.`,
    ],
    columns: ["contender", "loop ms (median)", "ms (min – max)", "µs per exec", "vs no preload"],
    rows,
    findings: [
      `The shim makes the loop ${formatPercent(shimOverhead)} slower (goal: at most +5 %): ` +
      `${shimOverhead <= 0.05 ? "**met**" : "**not met**"}. snoopy: ${
        formatPercent(snoopyOverhead)
      }.`,
    ],
  };
}
