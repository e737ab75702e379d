/**
 * One audited run: probe, collector, shim, the command, the runner's events,
 * and the summary read back from the session log.
 *
 * @module
 */
import { chooseCapture, probeEnvironment, type ProbeOptions } from "../ffi/mod.ts";
import type { ExecPayload } from "../protocol/mod.ts";
import { type ChildEnd, runChild } from "./child.ts";
import { DENIED_EXIT_CODE, DENY_ERRNO, prepareRunPolicy } from "../policy/mod.ts";
import { SignalRelay } from "./signal_relay.ts";
import { linkCollector } from "./collector_link.ts";
import { childEnvironment, redactEnvironment } from "./environment.ts";
import { RunnerEventStream } from "./event_stream.ts";
import { limitLists } from "./payload_limit.ts";
import { resolveProgram } from "./program_path.ts";
import { agentFromCommand, checkAgent, checkSessionId, newSessionId } from "./session.ts";
import { fileSize, logProblem, sessionLogPath, waitForRecord } from "./session_log.ts";
import { resolveShim } from "./shim_path.ts";
import { type LogRecord, type RunSummary, summarizeRecords } from "./summary.ts";

/** Options of {@linkcode runAudited}; each mirrors a `run` flag. */
export interface RunOptions {
  /** Session id; default a new time-sortable one. */
  session?: string;
  /** Agent name; default the command's base name. */
  agent?: string;
  /** Collector socket to use (or to start one on). */
  socket?: string;
  /** Session log directory. */
  logDir?: string;
  /** The shim library to inject. */
  shim?: string;
  /** A policy file (JSONC, see docs/policy.md) to apply to the command and, through the shim, to everything it starts. */
  policy?: string;
  /** The command's environment before the audit variables; default the runner's. */
  env?: Record<string, string>;
  /** Progress notes (e.g. "building the shim"); default none. */
  notify?: (message: string) => void;
  /** Probe inputs (tests simulate /proc and libc). */
  probe?: ProbeOptions;
  /** How long to wait for the runner's last event to reach the log; default 5000 ms. */
  flushTimeoutMs?: number;
}

/** The outcome of a run. */
export interface RunResult {
  /** The exit status `run` exits with: the command's (128+N for signal N). */
  exitCode: number;
  /** What the session log holds. */
  summary: RunSummary;
}

/**
 * Runs `command` under audit and returns its exit status and the summary.
 * Throws (before the command starts) when the run cannot be set up: bad
 * session id or agent, no shim, no collector.
 *
 * @example
 * ```ts
 * import { runAudited } from "./run.ts";
 * const { exitCode, summary } = await runAudited(["sh", "-c", "ls /"], { logDir: "/tmp/logs" });
 * console.log(exitCode, summary.programs);
 * ```
 */
export async function runAudited(command: string[], options: RunOptions = {}): Promise<RunResult> {
  if (command.length === 0) throw new Error("no command given: put it after --, e.g. run -- ls");
  const sessionId = checkSessionId(options.session ?? newSessionId());
  const agent = checkAgent(options.agent ?? agentFromCommand(command));
  const env = options.env ?? Deno.env.toObject();
  const shim = await resolveShim({
    explicit: options.shim,
    onBuild: () => options.notify?.("building the shim (first use) ..."),
  });
  // Loaded first: an invalid policy is reported before anything starts.
  const runPolicy = options.policy === undefined
    ? undefined
    : await prepareRunPolicy(options.policy);
  const probe = probeEnvironment(options.probe);
  const capture = chooseCapture(probe);
  // Installed before a collector may be started, so no signal can end the
  // runner by default action and leave that collector running.
  using relay = new SignalRelay();
  const link = await linkCollector({ socket: options.socket, logDir: options.logDir, env });
  try {
    const stream = await RunnerEventStream.open(link.socket, { session_id: sessionId, agent });
    try {
      const logFile = sessionLogPath(link.logDir, sessionId);
      const audit = { shim, socket: link.socket, sessionId, agent };
      const childEnv = childEnvironment({ ...env, ...runPolicy?.env }, audit);
      const exec = execPayload(command, { childEnv, probe: { ...probe }, capture });
      const offset = await fileSize(logFile);
      await stream.send({ event_type: "Exec", payload: exec });
      // The collector reads every connection on its own; seeing the Exec on
      // disk first keeps it ahead of the events the command's shim sends.
      // No such directory: a reused collector writes elsewhere; do not delay the command.
      const logDirExists = await Deno.stat(link.logDir).then(
        (info) => info.isDirectory,
        () => false,
      );
      if (logDirExists) await waitForOwn(logFile, stream, { timeoutMs: 1000, offset });
      const denial = runPolicy?.checkTask(exec.path, { argv: command, cwd: exec.cwd });
      if (denial !== undefined) {
        // Like the shim: the Exec first, then the Deny, and in enforce mode no start.
        await stream.send({ event_type: "Deny", payload: denial.payload });
        if (denial.payload.enforced) console.error(`run: ${denial.message}`);
        else options.notify?.(denial.message);
      }
      const end: ChildEnd = denial?.payload.enforced
        ? { started: false, errno: DENY_ERRNO, exitCode: DENIED_EXIT_CODE, message: denial.message }
        : await runChild(command, { env: childEnv, relay });
      stream.startNewConnection();
      if (end.started) {
        const outcome = end.signal === undefined
          ? { exit_code: end.exitCode }
          : { signal: end.signal };
        await stream.send({
          event_type: "Exit",
          payload: { pid: end.pid, ...outcome, duration_ms: end.durationMs },
        });
      } else if (denial === undefined) {
        console.error(`run: ${end.message}`);
        await stream.send({ event_type: "Exec", payload: { ...exec, errno: end.errno } });
      }
      // Where no log shows up (a reused collector writing elsewhere), do not
      // make the user wait the full flush timeout for it.
      const timeoutMs = await logProblem(logFile) === null ? options.flushTimeoutMs ?? 5000 : 200;
      const records = await waitForOwn(logFile, stream, { timeoutMs, offset });
      const problem = records === null ? await logProblem(logFile) : null;
      const summary: RunSummary = {
        session_id: sessionId,
        agent,
        log_file: logFile,
        exit_code: end.exitCode,
        ...(end.started && end.signal !== undefined ? { signal: end.signal } : {}),
        log_complete: records !== null && stream.droppedTotal === 0,
        ...(problem === null ? {} : { log_problem: problem }),
        runner_events_dropped: stream.droppedTotal,
        ...summarizeRecords(records ?? []),
      };
      return { exitCode: end.exitCode, summary };
    } finally {
      stream.close();
    }
  } finally {
    // The command has run; a collector that fails to stop cleanly must not
    // replace its exit status, so this is reported, not thrown.
    await link.close().catch((error) => console.error(`run: ${(error as Error).message}`));
  }
}

/** The runner's Exec payload for `command` (before it starts). */
function execPayload(
  command: string[],
  context: Pick<ExecPayload, "probe" | "capture"> & { childEnv: Record<string, string> },
): ExecPayload {
  const { childEnv, probe, capture } = context;
  const cwd = Deno.cwd();
  const { argv, env, truncated } = limitLists(command, redactEnvironment(childEnv));
  return {
    call: "run",
    path: resolveProgram(command[0], { searchPath: childEnv.PATH, cwd }) ?? command[0],
    argv,
    env,
    cwd,
    probe,
    capture,
    ...(truncated ? { truncated: true as const } : {}),
  };
}

/** Waits for the runner's last delivered event to show in the log. */
function waitForOwn(
  logFile: string,
  stream: RunnerEventStream,
  options: { timeoutMs: number; offset: number },
): Promise<LogRecord[] | null> {
  const seq = stream.lastDeliveredSeq;
  if (seq === null) return Promise.resolve(null);
  return waitForRecord(
    logFile,
    (record) =>
      record.source === "Runner" && record.process?.pid === Deno.pid && record.seq === seq,
    options,
  );
}
