/**
 * The policy of one `run`: the validated policy, its compact file for the shim
 * (kept after the run, see compact_store.ts), the environment that points the
 * shim at it, and the decision on the task the runner itself starts.
 *
 * @module
 */
import type { DenyPayload } from "../protocol/mod.ts";
import { compilePolicy } from "./compile.ts";
import { storeCompactPolicy } from "./compact_store.ts";
import { loadPolicy } from "./load.ts";
import { matchExec } from "./match.ts";
import type { Policy } from "./schema.ts";

/** The errno an enforced denial reports (EACCES, as the shim's exec and open hooks return). */
const EACCES = 13;

/** A policy decision against the task itself. */
export interface TaskDenial {
  /** The Deny event's payload (call "run"). */
  payload: DenyPayload;
  /** A line for the user, e.g. `policy rule "no-sudo" denies executing /usr/bin/sudo`. */
  message: string;
}

/** A loaded policy, ready for one run. */
export interface RunPolicy {
  /** The validated policy. */
  policy: Policy;
  /**
   * The compact file the shim reads. It outlives the run, so processes the
   * task leaves behind keep their policy.
   */
  compactPath: string;
  /** Variables to add to the task's environment (`CONTAINAI_POLICY`). */
  env: Record<string, string>;
  /**
   * The first Exec rule matching the task (`path` resolved through PATH), or
   * undefined when it may start or does not exist. In enforce mode the runner
   * must not start a denied task.
   */
  checkTask(
    path: string,
    options: { argv: readonly string[]; cwd: string },
  ): TaskDenial | undefined;
}

/**
 * Loads and validates the policy file, and stores its compact form (one
 * read-only file per distinct policy, see {@linkcode storeCompactPolicy}). Throws {@linkcode PolicyError} (naming line and field)
 * when the file is invalid, before anything has started.
 *
 * @example
 * ```ts
 * import { prepareRunPolicy } from "./run_policy.ts";
 * const runPolicy = await prepareRunPolicy("examples/policy.jsonc");
 * const env = { ...Deno.env.toObject(), ...runPolicy.env };
 * const denial = runPolicy.checkTask("/usr/bin/sudo", { argv: ["sudo", "id"], cwd: "/" });
 * ```
 */
export async function prepareRunPolicy(file: string): Promise<RunPolicy> {
  const policy = await loadPolicy(file);
  const compactPath = await storeCompactPolicy(compilePolicy(policy));
  return {
    policy,
    compactPath,
    env: { CONTAINAI_POLICY: compactPath },
    checkTask(path, options) {
      // Like the shim: a program that does not exist is left to fail on its own (127).
      if (!exists(path)) return undefined;
      const rule = matchExec(policy, path, options);
      if (rule === undefined) return undefined;
      const enforced = policy.mode === "enforce";
      return {
        payload: {
          call: "run",
          action: "Exec",
          target: path,
          rule: rule.name,
          errno: enforced ? EACCES : 0,
          enforced,
        },
        message: enforced
          ? `policy rule "${rule.name}" denies executing ${path}; the task was not started`
          : `policy rule "${rule.name}" would deny executing ${path} (observe mode)`,
      };
    },
  };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
