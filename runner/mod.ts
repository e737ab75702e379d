/**
 * The runner: `run -- CMD` audits one command end to end. It probes the
 * kernel, uses or starts a collector, injects the shim, streams its own
 * events (source "Runner") and summarises the session log.
 *
 * @example
 * ```ts
 * import { runAudited } from "./mod.ts";
 * const { exitCode, summary } = await runAudited(["sh", "-c", "ls /"]);
 * console.log(exitCode, summary.log_file, summary.counts);
 * ```
 *
 * @module
 */
export { runCommand } from "./run_command.ts";
export { runAudited, type RunOptions, type RunResult } from "./run.ts";
export { formatSummary, type RunSummary } from "./summary.ts";
export {
  type AuditVariables,
  childEnvironment,
  isSecretName,
  REDACTED,
  redactEnvironment,
  SECRET_NAME_PARTS,
} from "./environment.ts";
export { agentFromCommand, newSessionId } from "./session.ts";
export {
  type CollectorLink,
  defaultRunLogDir,
  linkCollector,
  type LinkCollectorOptions,
} from "./collector_link.ts";
export { INSTALLED_SHIM, resolveShim, type ResolveShimOptions } from "./shim_path.ts";
export { type RunnerEventBody, RunnerEventStream } from "./event_stream.ts";
export type { AuditEvent, DenyPayload, ExecPayload, ExitPayload } from "../protocol/mod.ts";
export type { ProbeOptions } from "../ffi/mod.ts";
export { sessionLogPath } from "./session_log.ts";
