/**
 * The `probe` subcommand: prints the probe as a table (or JSON) with the
 * capture mode `run` would choose.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Finding, isKnown } from "./finding.ts";
import { probeEnvironment, type ProbeResult } from "./probe.ts";
import { type CaptureDecision, chooseCapture, seccompTrapPossible } from "./capture.ts";

const HELP = `usage: main.ts probe [--json]

Probes the kernel through Deno.dlopen(libc.so.6): seccomp mode, no_new_privs,
seccomp user notification, whether a seccomp filter could be installed (asked
without installing one), WSL2, kernel release. Prints the capture mode
\`run\` would choose and why. Answers that cannot be established print as
"unknown" with the reason.
  --json   print {probe, capture, seccomp_trap_possible} as JSON`;

/** What `probe --json` prints. */
export interface ProbeReport {
  /** The findings. */
  probe: ProbeResult;
  /** The capture decision `run` would make. */
  capture: CaptureDecision;
  /** Whether a seccomp exec trap could run here. */
  seccomp_trap_possible: boolean;
}

/**
 * Probes and decides, in one object.
 *
 * @example
 * ```ts
 * import { buildProbeReport } from "./probe_command.ts";
 * console.log(buildProbeReport().capture.reason);
 * ```
 */
export function buildProbeReport(probe: ProbeResult = probeEnvironment()): ProbeReport {
  return {
    probe,
    capture: chooseCapture(probe),
    seccomp_trap_possible: seccompTrapPossible(probe),
  };
}

const ROWS: ReadonlyArray<[string, keyof Omit<ProbeResult, "arch">]> = [
  ["kernel release", "kernel_release"],
  ["WSL", "wsl"],
  ["seccomp mode", "seccomp_mode"],
  ["no_new_privs", "no_new_privs"],
  ["user notification", "user_notification"],
  ["filter install", "filter_install"],
];

/**
 * Renders a report as the readable table `probe` prints.
 *
 * @example
 * ```ts
 * import { buildProbeReport, formatProbeTable } from "./probe_command.ts";
 * console.log(formatProbeTable(buildProbeReport()));
 * ```
 */
export function formatProbeTable(report: ProbeReport): string {
  const row = (name: string, value: string, note: string) =>
    `${name.padEnd(19)} ${value.padEnd(22)} ${note}`.trimEnd();
  const lines = [
    row("probe", "value", "source (detail) / reason"),
    row("architecture", report.probe.arch, ""),
  ];
  for (const [name, key] of ROWS) {
    const finding = report.probe[key] as Finding<unknown>;
    const note = isKnown(finding)
      ? finding.source + (finding.detail ? ` (${finding.detail})` : "")
      : finding.reason;
    lines.push(row(name, String(finding.value), note));
  }
  lines.push(
    "",
    `capture mode: ${report.capture.mode}`,
    `reason: ${report.capture.reason}`,
    `seccomp exec trap possible here: ${report.seccomp_trap_possible ? "yes" : "no"}`,
  );
  return lines.join("\n");
}

/**
 * Runs `probe`; returns the exit code.
 *
 * @example
 * ```ts
 * import { probeCommand } from "./probe_command.ts";
 * await probeCommand(["--json"]);
 * ```
 */
export function probeCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (error) {
    console.error(`probe: ${(error as Error).message}\n\n${HELP}`);
    return Promise.resolve(2);
  }
  if (values.help) {
    console.log(HELP);
    return Promise.resolve(0);
  }
  const report = buildProbeReport();
  console.log(values.json ? JSON.stringify(report, null, 2) : formatProbeTable(report));
  return Promise.resolve(0);
}
