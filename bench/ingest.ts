/**
 * Comparison 1, collector ingest: the ContainAI collector vs syslog-ng
 * configured for the same job vs a raw byte copy (socat into one file). Four
 * clients send pre-encoded events concurrently; a run lasts from the first
 * byte sent until every line is in the output files.
 *
 * @module
 */
import { type Contender, runAlternating } from "./alternate.ts";
import { cpuUsage } from "node:process";
import { sleep } from "./command.ts";
import {
  COLLECTOR_TARGET,
  type IngestTarget,
  SOCAT_TARGET,
  SYSLOG_NG_TARGET,
} from "./ingest_targets.ts";
import { encodeForClients, generateEvents } from "./events.ts";
import { LineCounter } from "./line_counter.ts";
import { ProcessTreeUsage } from "./proc.ts";
import { stopServer, waitForSocket } from "./server.ts";
import { formatNumber, formatRatio, median, range } from "./stats.ts";
import type { SuiteResult } from "./suite.ts";
import { validateEvent } from "../protocol/mod.ts";

const CHUNK_BYTES = 256 * 1024;
const DEFAULT_STALL_MS = 20_000;
const MIB = 1024 * 1024;

/** One measured ingest run. */
export interface IngestSample {
  seconds: number;
  rssBytes: number;
  /** CPU seconds the server used during the run (all its threads and processes). */
  cpuSeconds: number;
  /** CPU seconds this process (the clients and the line counting) used during the run. */
  clientCpuSeconds: number;
}

/** Options of {@linkcode runIngest}. */
export interface IngestOptions {
  events: number;
  clients: number;
  rounds: number;
  targets?: IngestTarget[];
  /** A run fails when no new line arrives for this long (default 20 s). */
  stallMs?: number;
  log: (line: string) => void;
}

/** The payload every run sends. */
interface Workload {
  buffers: Uint8Array[];
  events: number;
  bytes: number;
}

/**
 * Runs the ingest comparison and returns its section of the report.
 *
 * @example
 * ```ts
 * import { runIngest } from "./ingest.ts";
 * const result = await runIngest({ events: 400_000, clients: 4, rounds: 3, log: console.error });
 * ```
 */
export async function runIngest(options: IngestOptions): Promise<SuiteResult> {
  const targets = options.targets ?? [COLLECTOR_TARGET, SYSLOG_NG_TARGET, SOCAT_TARGET];
  const workload = prepareWorkload(options.events, options.clients);
  options.log(
    `ingest: ${formatNumber(workload.events)} events, ${formatNumber(workload.bytes / MIB)} MiB (${
      formatNumber(workload.bytes / workload.events)
    } B/event), ${options.clients} clients`,
  );
  const contenders: Contender<IngestSample>[] = targets.map((target) => ({
    name: target.name,
    run: () => measureIngest(target, workload, { stallMs: options.stallMs ?? DEFAULT_STALL_MS }),
  }));
  // Start and stop each server once, unmeasured: Deno compiles and caches changed modules on
  // first start, which would count against whichever round came first.
  for (const target of targets) await warmUp(target);
  const samples = await runAlternating(contenders, {
    rounds: options.rounds,
    onSample: (name, round, sample) =>
      options.log(
        `ingest: round ${round + 1}/${options.rounds} ${name}: ${
          formatNumber(workload.events / sample.seconds)
        } events/s, ${formatNumber(sample.seconds)} s, ${
          formatNumber(sample.cpuSeconds / sample.seconds)
        } cores busy (sampled), peak RSS ${formatNumber(sample.rssBytes / MIB)} MiB`,
      ),
  });
  return summarize(targets, samples, workload, options);
}

function prepareWorkload(count: number, clients: number): Workload {
  const events = generateEvents(count, { sessions: 8 });
  // Guard the generator: a rejected event would measure the reject path instead.
  for (let i = 0; i < events.length; i += Math.max(1, Math.floor(events.length / 2000))) {
    const checked = validateEvent(JSON.parse(JSON.stringify(events[i])));
    if (!checked.ok) throw new Error(`generated event ${i} is invalid: ${checked.issues[0].path}`);
  }
  const buffers = encodeForClients(events, clients);
  return { buffers, events: count, bytes: buffers.reduce((sum, b) => sum + b.length, 0) };
}

async function measureIngest(
  target: IngestTarget,
  workload: Workload,
  { stallMs }: { stallMs: number },
): Promise<IngestSample> {
  const workDir = await Deno.makeTempDir({ prefix: "containai-bench-ingest-" });
  const paths = { workDir, socket: `${workDir}/audit.sock`, logDir: `${workDir}/logs` };
  await Deno.mkdir(paths.logDir);
  const server = await target.start(paths);
  let exited = false;
  server.status.then(() => exited = true);
  try {
    await waitForSocket(server, paths.socket);
    const rss = new ProcessTreeUsage(server.process.pid, { scope: target.rssScope });
    const counter = new LineCounter(paths.logDir, { accept: target.accept });
    const conns = await Promise.all(
      workload.buffers.map(() => Deno.connect({ transport: "unix", path: paths.socket })),
    );
    await rss.start();
    const clientCpu = cpuUsage();
    const start = performance.now();
    let sendError: Error | undefined;
    const sending = Promise.all(conns.map((conn, i) => send(conn, workload.buffers[i])))
      .catch((error) => sendError = error);
    let lastProgress = start;
    let lastLines = 0;
    let lastRss = 0;
    while (counter.lines < workload.events) {
      await sleep(10);
      const lines = await counter.poll();
      const now = performance.now();
      if (now - lastRss >= 100) {
        await rss.sample();
        lastRss = now;
      }
      if (lines > lastLines) {
        lastLines = lines;
        lastProgress = now;
      }
      if (sendError) throw new Error(`sending failed: ${sendError.message}`);
      if (exited || now - lastProgress > stallMs) {
        throw new Error(
          `only ${lines} of ${workload.events} lines arrived` +
            (exited ? " before the server exited" : ` (no progress for ${stallMs / 1000} s)`) +
            `:\n${server.output().trim() || "(no output)"}`,
        );
      }
    }
    const seconds = (performance.now() - start) / 1000;
    const clientUsed = cpuUsage(clientCpu);
    await rss.sample();
    await sending;
    const status = await stopServer(server);
    const final = await counter.poll();
    if (final !== workload.events) {
      throw new Error(`${final} lines in the output, expected exactly ${workload.events}`);
    }
    if (!status.success && status.signal !== "SIGTERM" && status.code !== 128 + 15) {
      throw new Error(`exited with ${status.code} when stopped:\n${server.output().trim()}`);
    }
    return {
      seconds,
      rssBytes: rss.peakBytes,
      cpuSeconds: rss.cpuSeconds,
      clientCpuSeconds: (clientUsed.user + clientUsed.system) / 1e6,
    };
  } finally {
    await stopServer(server, { signal: "SIGKILL", graceMs: 5000 });
    await Deno.remove(workDir, { recursive: true });
  }
}

async function warmUp(target: IngestTarget): Promise<void> {
  const workDir = await Deno.makeTempDir({ prefix: "containai-bench-ingest-" });
  const paths = { workDir, socket: `${workDir}/audit.sock`, logDir: `${workDir}/logs` };
  await Deno.mkdir(paths.logDir);
  const server = await target.start(paths);
  try {
    await waitForSocket(server, paths.socket);
  } catch (error) {
    throw new Error(`${target.name} failed to start: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await stopServer(server);
    await Deno.remove(workDir, { recursive: true });
  }
}

async function send(conn: Deno.UnixConn, buffer: Uint8Array): Promise<void> {
  try {
    let offset = 0;
    while (offset < buffer.length) {
      offset += await conn.write(buffer.subarray(offset, offset + CHUNK_BYTES));
    }
  } finally {
    conn.close();
  }
}

function summarize(
  targets: IngestTarget[],
  samples: Map<string, IngestSample[]>,
  workload: Workload,
  options: IngestOptions,
): SuiteResult {
  const throughput = (name: string): number =>
    median(samples.get(name)!.map((s) => workload.events / s.seconds));
  const rows = targets.map((target) => {
    const runs = samples.get(target.name)!;
    const rates = runs.map((s) => workload.events / s.seconds);
    const spread = range(rates);
    const eventsPerSecond = median(rates);
    const ratio = (other: IngestTarget): string =>
      samples.has(other.name) ? formatRatio(eventsPerSecond / throughput(other.name)) : "n/a";
    return [
      target.name,
      formatNumber(eventsPerSecond),
      `${formatNumber(spread.min)} – ${formatNumber(spread.max)}`,
      formatNumber(median(runs.map((s) => workload.bytes / s.seconds / 1e6))),
      formatNumber(median(runs.map((s) => s.seconds))),
      target.cpuMeasurable
        ? formatNumber(median(runs.map((s) => s.cpuSeconds / s.seconds)))
        : "n/a",
      target.cpuMeasurable
        ? formatNumber(median(runs.map((s) => (s.cpuSeconds / workload.events) * 1e6)))
        : "n/a",
      `${formatNumber(Math.max(...runs.map((s) => s.rssBytes)) / MIB)} (${
        formatNumber(median(runs.map((s) => s.rssBytes)) / MIB)
      })`,
      formatNumber(median(runs.map((s) => s.clientCpuSeconds / s.seconds))),
      ratio(SYSLOG_NG_TARGET),
      ratio(SOCAT_TARGET),
    ];
  });
  const findings: string[] = [];
  if (samples.has(COLLECTOR_TARGET.name) && samples.has(SYSLOG_NG_TARGET.name)) {
    const vsSyslog = throughput(COLLECTOR_TARGET.name) / throughput(SYSLOG_NG_TARGET.name);
    const peaks = samples.get(COLLECTOR_TARGET.name)!.map((s) => s.rssBytes / MIB);
    const peak = Math.max(...peaks);
    const cpuPerEvent = (name: string): number =>
      median(samples.get(name)!.map((s) => s.cpuSeconds / workload.events));
    const efficiency = cpuPerEvent(SYSLOG_NG_TARGET.name) / cpuPerEvent(COLLECTOR_TARGET.name);
    findings.push(
      `Collector throughput is ${formatRatio(vsSyslog)} syslog-ng's (goal: at least 3x): ` +
        (vsSyslog >= 3 ? "**met**." : "**not met**.") +
        ` Per event it uses ${formatRatio(1 / efficiency)} the CPU time syslog-ng uses.`,
      `Collector peak RSS ${formatNumber(peak)} MiB in its worst round, ${
        formatNumber(median(peaks))
      } MiB in the median one (goal: at most 200 MiB during the run): ` +
        (peak <= 200 ? "**met**." : "**not met** in the worst round."),
    );
  }
  return {
    id: "ingest",
    title: "1. Collector ingest",
    setup: [
      `${formatNumber(workload.events)} valid protocol-v1 events (mixed Open/Exec/Connect/Deny/` +
      `Exit, ${formatNumber(workload.bytes / workload.events)} bytes on average, 8 sessions), ` +
      `${formatNumber(workload.bytes / MIB)} MiB in total, sent by ${options.clients} concurrent ` +
      `connections in ${CHUNK_BYTES / 1024} KiB writes from pre-encoded buffers.`,
      "A run lasts from the first byte sent until every line is in the output files (counted " +
      "by reading them); a fresh server and an empty log directory for every run, after one " +
      "unmeasured start of each server. " +
      `${options.rounds} rounds, contenders alternating.`,
      "Server cores busy = the CPU time (user + system, all threads) the server's processes " +
      "used during the run divided by its duration; peak RSS = the sum of VmHWM of the " +
      "server's processes (for the collector the served process, not its launcher): the " +
      "largest of the rounds, and in brackets the median round. Both are read from /proc every 100 ms, so socat's short-lived " +
      "per-connection children are undercounted (its RSS) or not measurable (its CPU, n/a). " +
      "The benchmark's own clients and line counting share the same 2 cores (\"clients' cores " +
      "busy\": this process's CPU time during the run divided by its duration); socat's rate " +
      "shows how much they can deliver.",
      "syslog-ng (bench/syslog-ng.conf): unix-stream source (no-parse, 64 connections, " +
      "log-iw-size 64000), json-parser, a filter applying protocol v1's session-id pattern, " +
      "one file per session via `session-${.json.metadata.session_id}.jsonl`, template " +
      "`${MESSAGE}\\n` (the line as received), flow-control. It validates only JSON syntax and " +
      "the session id; the collector validates the full schema, adds `received_at` and " +
      "`session_seq`, and fsyncs every second.",
    ],
    columns: [
      "contender",
      "events/s (median)",
      "events/s (min – max)",
      "MB/s",
      "seconds",
      "server cores busy",
      "server CPU µs/event",
      "peak RSS MiB, max (median)",
      "clients' cores busy",
      "vs syslog-ng",
      "vs socat",
    ],
    rows,
    findings,
  };
}
