/**
 * Comparison 3, exec-heavy loop: bash starts /bin/true 500 times, with no
 * preload, with an empty preloaded library (the floor of any LD_PRELOAD
 * auditor), with the minimal reporter (the floor of the design issue 4
 * prescribes: one event per exec, sent before the call on the process's own
 * connection), under the shim (reporting to a real collector) and under snoopy
 * (logging to a file). The loop is timed inside bash with $EPOCHREALTIME, so
 * process start-up and the benchmark's wrappers are excluded.
 *
 * @module
 */
import { type Contender, runAlternating } from "./alternate.ts";
import { sumBashTimes } from "./bash_times.ts";
import { runText, waitFor } from "./command.ts";
import { COLLECTOR_TARGET } from "./ingest_targets.ts";
import { countNewlines } from "./line_counter.ts";
import { SNOOPY_LIBRARY } from "./peers.ts";
import { stopServer, waitForSocket } from "./server.ts";
import { formatNumber, formatPercent, median, range, relativeOverhead } from "./stats.ts";
import type { SuiteResult } from "./suite.ts";
import { straceAvailable, syscallsPerIteration } from "./syscalls.ts";
import { compileHelper } from "./native.ts";
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
const EMPTY = "empty preload";
const MINIMAL = "minimal reporter";
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
    'echo "$s $EPOCHREALTIME"; times';
}

/** One run of the loop: wall-clock seconds and CPU seconds of bash and its children. */
export interface LoopSample {
  wallSeconds: number;
  cpuSeconds: number;
}

/**
 * Reads the loop's output: its start and end time, then bash's `times` (user and
 * system time of the shell, then of its children, as `0m0.123s`).
 *
 * @example
 * ```ts
 * import { parseLoopOutput } from "./exec_loop.ts";
 * parseLoopOutput("1.5 2.5\n0m0.010s 0m0.000s\n0m0.200s 0m0.100s\n");
 * // { wallSeconds: 1, cpuSeconds: 0.31 }
 * ```
 */
export function parseLoopOutput(stdout: string): LoopSample {
  const [first, ...rest] = stdout.trim().split("\n");
  const [start, end] = first.split(" ").map(Number);
  if (!(end > start)) {
    throw new Error(`unexpected loop output (want "START END" and bash's times): ${stdout}`);
  }
  return { wallSeconds: end - start, cpuSeconds: sumBashTimes(rest.join("\n")) };
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
  const emptyPreload = await compileHelper("empty_preload", { outDir: workDir, shared: true });
  const minimalReporter = await compileHelper("minimal_reporter", {
    outDir: workDir,
    shared: true,
  });
  const collector = await COLLECTOR_TARGET.start(paths);
  try {
    await waitForSocket(collector, paths.socket);
    const snoopyLog = `${workDir}/snoopy.log`;
    const snoopyConfig = `${workDir}/snoopy.ini`;
    const template = await Deno.readTextFile(SNOOPY_TEMPLATE);
    await Deno.writeTextFile(snoopyConfig, template.replaceAll("@LOG_FILE@", snoopyLog));
    const script = loopScript(options.execs);
    const shimEnv = (session: string): Record<string, string> => ({
      LD_PRELOAD: shim,
      CONTAINAI_AUDIT_SOCKET: paths.socket,
      CONTAINAI_SESSION_ID: session,
      CONTAINAI_AGENT: "bench",
    });
    const snoopyMount = { source: snoopyConfig, target: SNOOPY_CONFIG_PATH };
    const contenders: Contender<LoopSample>[] = [
      { name: NONE, run: () => timeBash(script, {}) },
      { name: EMPTY, run: () => timeBash(script, { LD_PRELOAD: emptyPreload }) },
      {
        name: MINIMAL,
        run: async (round) => {
          const session = `bench-minimal-${round}`;
          const sample = await timeBash(script, {
            ...shimEnv(session),
            LD_PRELOAD: minimalReporter,
          });
          await expectLines(`${paths.logDir}/session-${session}.jsonl`, options.execs, "/bin/true");
          return sample;
        },
      },
      {
        name: SHIM,
        run: async (round) => {
          const session = `bench-exec-${round}`;
          const sample = await timeBash(script, shimEnv(session));
          await expectLines(`${paths.logDir}/session-${session}.jsonl`, options.execs, "/bin/true");
          return sample;
        },
      },
      {
        name: SNOOPY,
        run: async () => {
          const before = await linesIn(snoopyLog, "/bin/true");
          const sample = await timeBash(script, { LD_PRELOAD: SNOOPY_LIBRARY }, {
            mountOver: snoopyMount,
          });
          const logged = (await linesIn(snoopyLog, "/bin/true")) - before;
          if (logged < options.execs) {
            throw new Error(`snoopy logged ${logged} of ${options.execs} execs of /bin/true`);
          }
          return sample;
        },
      },
    ];
    const samples = await runAlternating(contenders, {
      rounds: options.rounds,
      onSample: (name, round, sample) =>
        options.log(
          `exec: round ${round + 1}/${options.rounds} ${name}: ${
            formatNumber(sample.wallSeconds * 1000)
          } ms wall, ${formatNumber(sample.cpuSeconds * 1000)} ms CPU`,
        ),
    });
    let syscalls: Map<string, number> | undefined;
    if (await straceAvailable()) {
      options.log("exec: counting system calls per exec with strace");
      const variants: [string, Record<string, string>, MountOver?][] = [
        [NONE, {}],
        [EMPTY, { LD_PRELOAD: emptyPreload }],
        [MINIMAL, { ...shimEnv("bench-minimal-strace"), LD_PRELOAD: minimalReporter }],
        [SHIM, shimEnv("bench-exec-strace")],
        [SNOOPY, { LD_PRELOAD: SNOOPY_LIBRARY }, snoopyMount],
      ];
      syscalls = new Map();
      for (const [name, env, mountOver] of variants) {
        const perExec = await syscallsPerIteration((n) => {
          const [program, ...args] = bashCommand(loopScript(n), env, { mountOver });
          return { program, args };
        }, { small: 20, large: 60, workDir });
        syscalls.set(name, perExec);
      }
    } else {
      options.log("exec: strace is not available; skipping the system-call count");
    }
    return summarize(samples, syscalls, options);
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
  options: { mountOver?: MountOver } = {},
): Promise<LoopSample> {
  const command = bashCommand(script, env, options);
  const out = await runText(command[0], { args: command.slice(1), env: { LC_ALL: "C" } });
  if (!out.success) throw new Error(`bash loop failed (${out.code}): ${out.stderr.trim()}`);
  return parseLoopOutput(out.stdout);
}

/** A file bind-mounted over another in a private mount namespace. */
interface MountOver {
  source: string;
  target: string;
}

/** The command line that runs `script` in bash with `env` added (and `mountOver` applied). */
function bashCommand(
  script: string,
  env: Record<string, string>,
  options: { mountOver?: MountOver } = {},
): string[] {
  const bash = [
    "env",
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    "/bin/bash",
    "-c",
    script,
  ];
  return options.mountOver
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

function summarize(
  samples: Map<string, LoopSample[]>,
  syscalls: Map<string, number> | undefined,
  options: ExecLoopOptions,
): SuiteResult {
  const medianOf = (name: string, key: keyof LoopSample): number =>
    median(samples.get(name)!.map((sample) => sample[key]));
  const overhead = (name: string, key: keyof LoopSample): number =>
    relativeOverhead(medianOf(name, key), medianOf(NONE, key));
  const rows = [NONE, EMPTY, MINIMAL, SHIM, SNOOPY].map((name) => {
    const spread = range(samples.get(name)!.map((sample) => sample.wallSeconds));
    return [
      name,
      formatNumber(medianOf(name, "wallSeconds") * 1000),
      `${formatNumber(spread.min * 1000)} – ${formatNumber(spread.max * 1000)}`,
      formatNumber((medianOf(name, "wallSeconds") / options.execs) * 1e6),
      name === NONE ? "—" : formatPercent(overhead(name, "wallSeconds")),
      formatNumber(medianOf(name, "cpuSeconds") * 1000),
      name === NONE ? "—" : formatPercent(overhead(name, "cpuSeconds")),
      syscalls ? formatNumber(syscalls.get(name)!) : "n/a",
    ];
  });
  const verdict = (fraction: number): string => (fraction <= 0.05 ? "**met**" : "**not met**");
  const shimWall = overhead(SHIM, "wallSeconds");
  const shimCpu = overhead(SHIM, "cpuSeconds");
  const floorCpu = overhead(MINIMAL, "cpuSeconds");
  const perExecMicros = (name: string): number =>
    (medianOf(name, "cpuSeconds") / options.execs) * 1e6;
  const beyondFloor = perExecMicros(SHIM) - perExecMicros(MINIMAL);
  return {
    id: "exec",
    title: `3. Exec-heavy loop (${options.execs} x /bin/true from bash)`,
    setup: [
      `bash runs \`${loopScript(options.execs)}\`: the sample is the loop's wall-clock ` +
      "duration and the CPU time (user + system) of bash and all its children from `times`; " +
      "CPU time is far less disturbed by other load on the machine, but it leaves out the " +
      "collector's work and any time spent waiting. No preload; an empty preloaded library " +
      "(bench/c/empty_preload.c: what loading one more object into every process costs, the " +
      "floor of any LD_PRELOAD auditor); the minimal reporter (bench/c/minimal_reporter.c: " +
      "hooks execve() only and sends one fixed line per exec on a connection of its own to the " +
      "same collector, before the real call; the floor of the design issue 4 prescribes, " +
      "checked to have every exec stored); the shim (LD_PRELOAD, " +
      "reporting every exec to a real collector on a Unix socket, checked afterwards to hold " +
      "every exec); snoopy (Debian's libsnoopy via LD_PRELOAD only, logging to a file through " +
      "bench/snoopy.ini, bind-mounted over /etc/snoopy.ini in a private mount namespace; the " +
      "log is checked to hold every exec).",
      `${options.rounds} rounds, contenders alternating. System calls per exec (of bash and all ` +
      "its children) come from `strace -f -c` of the loop at 20 and 60 execs (the difference " +
      "divided by 40); they do not depend on load.",
    ],
    columns: [
      "contender",
      "loop wall ms (median)",
      "wall ms (min – max)",
      "wall µs per exec",
      "wall vs no preload",
      "CPU ms (median)",
      "CPU vs no preload",
      "syscalls per exec",
    ],
    rows,
    findings: [
      `The shim changes the loop's wall-clock time by ${formatPercent(shimWall)} (goal: at ` +
      `most +5 %): ${verdict(shimWall)}; its CPU time by ${formatPercent(shimCpu)}: ` +
      `${verdict(shimCpu)}. snoopy: ${formatPercent(overhead(SNOOPY, "wallSeconds"))} wall, ` +
      `${formatPercent(overhead(SNOOPY, "cpuSeconds"))} CPU; an empty preloaded library: ` +
      `${formatPercent(overhead(EMPTY, "wallSeconds"))} wall, ` +
      `${formatPercent(overhead(EMPTY, "cpuSeconds"))} CPU.`,
      `The minimal reporter, which does only what the issue requires of every exec, changes ` +
      `the loop's CPU time by ${formatPercent(floorCpu)} ` +
      `(${floorCpu <= 0.05 ? "within" : "above"} the 5 % goal by itself); ` +
      (beyondFloor > 0
        ? `the shim's own work beyond that floor is ${formatNumber(beyondFloor)} µs of CPU ` +
          `per exec (${formatPercent(beyondFloor / perExecMicros(NONE))} of the loop without a ` +
          "preload)."
        : `the shim costs no more than that floor (${formatNumber(-beyondFloor)} µs of CPU ` +
          "per exec less in this run, within the noise)."),
    ],
  };
}
