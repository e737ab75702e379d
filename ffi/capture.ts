/**
 * The capture decision: which layer records exec/open/connect for a run, and why.
 *
 * Today the LD_PRELOAD shim is the capture layer in every mode. The decision
 * still names the reason, and says whether the kernel would allow a seccomp
 * exec trap, so the trap can slot in here when it exists.
 *
 * @module
 */
import type { ProbeResult } from "./probe.ts";
import { isKnown } from "./finding.ts";

/** The capture layers. Only "shim" is implemented. */
export type CaptureMode = "shim";

/** The decision as it travels in the runner's Exec payload (`capture`). */
export interface CaptureDecision {
  /** The layer used. */
  mode: CaptureMode;
  /** Why, in one sentence. */
  reason: string;
}

const SHIM = "the LD_PRELOAD shim captures exec, open and connect";

/**
 * Whether this kernel and process could host a seccomp user-notification exec
 * trap: not WSL, notification available, and a filter installable.
 *
 * @example
 * ```ts
 * import { probeEnvironment, seccompTrapPossible } from "./mod.ts";
 * console.log(seccompTrapPossible(probeEnvironment()));
 * ```
 */
export function seccompTrapPossible(probe: ProbeResult): boolean {
  return probe.wsl.value === "none" && probe.user_notification.value === true &&
    (probe.filter_install.value === "allowed" ||
      probe.filter_install.value === "requires_no_new_privs");
}

/**
 * Chooses the capture layer from a probe.
 *
 * @example
 * ```ts
 * import { chooseCapture, probeEnvironment } from "./mod.ts";
 * const decision = chooseCapture(probeEnvironment());
 * console.log(decision.mode, decision.reason);
 * ```
 */
export function chooseCapture(probe: ProbeResult): CaptureDecision {
  return { mode: "shim", reason: `${explain(probe)}; ${SHIM}` };
}

function explain(probe: ProbeResult): string {
  const { wsl, user_notification: notif, filter_install: filter } = probe;
  if (wsl.value === "wsl2") return "WSL2 kernel, where seccomp user notification is unreliable";
  if (wsl.value === "wsl1") return "WSL1 has no seccomp";
  if (!isKnown(notif)) return `seccomp user notification unknown (${notif.reason})`;
  if (notif.value === false) {
    return `seccomp user notification unavailable (${notif.detail ?? "not offered"})`;
  }
  if (!isKnown(filter)) return `seccomp filter installation unknown (${filter.reason})`;
  if (filter.value === "blocked") {
    return `seccomp filters cannot be installed (${filter.detail ?? "blocked"})`;
  }
  if (!isKnown(wsl)) return `WSL detection failed (${wsl.reason})`;
  return "seccomp user notification is available but the seccomp exec trap is not built yet";
}
