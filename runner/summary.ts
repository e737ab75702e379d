/**
 * The end-of-run summary, read back from the session log.
 *
 * @module
 */

/** One line of a session log, as far as the summary needs it. */
export interface LogRecord {
  source?: string;
  event_type?: string;
  seq?: number;
  process?: { pid?: number };
  payload?: Record<string, unknown>;
}

/** What `run` reports at the end (and prints with --json). */
export interface RunSummary {
  /** The session id. */
  session_id: string;
  /** The agent name. */
  agent: string;
  /** The session log file. */
  log_file: string;
  /** The runner's exit status (the command's). */
  exit_code: number;
  /** The signal that killed the command, when one did. */
  signal?: number;
  /** Every runner event was delivered and the last one seen in the log (else counts may be short). */
  log_complete: boolean;
  /** Why the log could not be read back, when it could not. */
  log_problem?: string;
  /** Runner events that could not be delivered. */
  runner_events_dropped: number;
  /** Events of this run in the log (from where the log ended when the run began), by event_type. */
  counts: Record<string, number>;
  /** Programs executed (paths of successful Exec events), in first-seen order. */
  programs: string[];
  /** Network destinations, "address:port" or a socket path, in first-seen order. */
  network: string[];
  /** Denied (or, in observe mode, would-be denied) actions. */
  denied: string[];
}

/**
 * Parses a session log's text; lines that are not JSON objects are skipped
 * (a summary must not fail on one damaged line).
 */
export function parseLog(text: string): LogRecord[] {
  const records: LogRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const value = JSON.parse(line);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) records.push(value);
    } catch {
      // A torn or foreign line; the rest of the log still counts.
    }
  }
  return records;
}

const EINPROGRESS = 115;
/**
 * Characters a terminal may act on: C0 and C1 controls, DEL, and the bidirectional overrides and
 * isolates (which reorder what is shown); plus the backslash, so escapes stay unambiguous.
 */
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\\]/g;

/**
 * `text` with every character a terminal could act on written as `\xNN` or `\uNNNN` (and `\` as
 * `\\`): program paths, addresses and policy targets come from the audited program, which must
 * not be able to clear, recolour or rewrite the summary shown to the user.
 */
function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    if (char === "\\") return "\\\\";
    const code = char.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** How many programs/destinations/denials the text summary lists before "and N more". */
const LISTED = 12;

function connectDestination(payload: Record<string, unknown>): string {
  const address = String(payload.address ?? "");
  if (payload.port === undefined) return address;
  return payload.family === "AF_INET6"
    ? `[${address}]:${payload.port}`
    : `${address}:${payload.port}`;
}

/** Counts, programs, destinations and denials of the events that belong to a session. */
export function summarizeRecords(
  records: readonly LogRecord[],
): Pick<RunSummary, "counts" | "programs" | "network" | "denied"> {
  const counts: Record<string, number> = {};
  const attempts = new Map<string, number>();
  const network: string[] = [];
  const denied: string[] = [];
  for (const record of records) {
    const type = record.event_type ?? "(none)";
    counts[type] = (counts[type] ?? 0) + 1;
    const payload = record.payload ?? {};
    if (type === "Exec" && typeof payload.path === "string") {
      // An Exec is sent before the call; a failed call sends a second one with errno.
      const delta = payload.errno === undefined ? 1 : -1;
      attempts.set(payload.path, (attempts.get(payload.path) ?? 0) + delta);
    } else if (type === "Connect") {
      const failed = payload.errno !== undefined && payload.errno !== EINPROGRESS;
      const destination = connectDestination(payload) + (failed ? ` (errno ${payload.errno})` : "");
      if (!network.includes(destination)) network.push(destination);
    } else if (type === "Deny") {
      const how = payload.enforced === true ? "denied" : "would deny (observe)";
      const entry = `${payload.action} ${payload.target} ${how} by ${payload.rule}`;
      if (!denied.includes(entry)) denied.push(entry);
    }
  }
  const programs = [...attempts].filter(([, count]) => count > 0).map(([path]) => path);
  return { counts, programs, network, denied };
}

/**
 * The summary as the few lines `run` prints on stderr.
 *
 * @example
 * ```ts
 * import { formatSummary, summarizeRecords } from "./summary.ts";
 * const counted = summarizeRecords([{ event_type: "Exec", payload: { path: "/usr/bin/ls" } }]);
 * console.error(formatSummary({
 *   session_id: "s1",
 *   agent: "sh",
 *   log_file: "/mnt/logs/session-s1.jsonl",
 *   exit_code: 0,
 *   log_complete: true,
 *   runner_events_dropped: 0,
 *   ...counted,
 * }));
 * ```
 */
export function formatSummary(summary: RunSummary): string {
  const counts = Object.entries(summary.counts).map(([type, count]) => `${type} ${count}`);
  const list = (items: string[]) => {
    if (items.length === 0) return "none";
    const shown = items.slice(0, LISTED).map(printable);
    const more = items.length - shown.length;
    return shown.join(", ") + (more > 0 ? `, and ${more} more (see the log or --json)` : "");
  };
  const ended = summary.signal === undefined
    ? `exit ${summary.exit_code}`
    : `killed by signal ${summary.signal} (exit ${summary.exit_code})`;
  const lines = [
    `── audit summary: session ${summary.session_id} (agent ${summary.agent}), ${ended}`,
    `   log:      ${summary.log_file}`,
    `   events:   ${counts.length === 0 ? "none" : counts.join(", ")}`,
    `   programs: ${list(summary.programs)}`,
    `   network:  ${list(summary.network)}`,
    `   denied:   ${list(summary.denied)}`,
  ];
  if (summary.log_problem !== undefined) {
    lines.push(`   note:     ${summary.log_problem}`);
  } else if (!summary.log_complete && summary.runner_events_dropped === 0) {
    lines.push(
      "   note:     the log did not show the runner's last event in time; counts may be short",
    );
  }
  if (summary.runner_events_dropped > 0) {
    lines.push(
      `   note:     ${summary.runner_events_dropped} runner event(s) could not be delivered`,
    );
  }
  return lines.join("\n");
}
