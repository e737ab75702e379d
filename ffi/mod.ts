/**
 * The environment probe (Deno.dlopen of libc): seccomp mode, no_new_privs,
 * seccomp user notification, filter installability, WSL and kernel release,
 * and the capture decision the runner records.
 *
 * @example
 * ```ts
 * import { chooseCapture, probeEnvironment } from "./mod.ts";
 * const probe = probeEnvironment({ procRoot: "/proc" });
 * const { mode, reason } = chooseCapture(probe);
 * console.log(mode, reason);
 * ```
 *
 * @module
 */
export { errnoName, type Finding, isKnown, type Known, type Unknown } from "./finding.ts";
export { DEFAULT_LIBC, type Libc, LIBC_SYMBOLS, type LibcResult, openLibc } from "./libc.ts";
export {
  classifyWsl,
  type KernelInfo,
  readKernelInfo,
  type TextRead,
  type TextReader,
  type WslKind,
} from "./kernel.ts";
export { type FilterInstall, probeSeccomp, type SeccompInfo, type SeccompMode } from "./seccomp.ts";
export { probeEnvironment, type ProbeOptions, type ProbeResult } from "./probe.ts";
export { inForegroundOfTerminal } from "./terminal.ts";
export {
  type CaptureDecision,
  type CaptureMode,
  chooseCapture,
  seccompTrapPossible,
} from "./capture.ts";
export {
  buildProbeReport,
  formatProbeTable,
  probeCommand,
  type ProbeReport,
} from "./probe_command.ts";
