/**
 * Policies: rules that deny exec, open and connect, in observe or enforce mode.
 * `loadPolicy` reads and validates a JSONC policy file (errors name line and
 * field), `compilePolicy`/`writeCompactPolicy` produce the compact form the shim
 * reads from `CONTAINAI_POLICY`, `storeCompactPolicy` keeps it for `run` (one
 * file per distinct policy, outliving the run), and `matchExec` decides the
 * runner's own exec.
 * See docs/policy.md.
 *
 * @example
 * ```ts
 * import { loadPolicy, matchExec, POLICY_ENV, writeCompactPolicy } from "./mod.ts";
 * const policy = await loadPolicy("examples/policy.jsonc");
 * const env = { [POLICY_ENV]: await writeCompactPolicy(policy) };
 * const denied = matchExec(policy, "/usr/bin/sudo", { argv: ["sudo"], cwd: "/" });
 * ```
 *
 * @module
 */
export {
  type Access,
  type ConnectRule,
  type ExecRule,
  MAX_RULES,
  type OpenRule,
  type Policy,
  PolicySchema,
  type Rule,
} from "./schema.ts";
export type { DenyPayload } from "../protocol/mod.ts";
export {
  formatPolicyIssue,
  loadPolicy,
  parsePolicy,
  type ParsePolicyOptions,
  PolicyError,
  type PolicyIssue,
} from "./load.ts";
export {
  COMPACT_MAGIC,
  COMPACT_VERSION,
  compilePolicy,
  MAX_COMPACT_BYTES,
  type WriteCompactOptions,
  writeCompactPolicy,
} from "./compile.ts";
export { type StoreCompactOptions, storeCompactPolicy } from "./compact_store.ts";
export { globMatch, type GlobOptions } from "./glob.ts";
export { matchExec, normalizePath } from "./match.ts";
export { prepareRunPolicy, type RunPolicy, type TaskDenial } from "./run_policy.ts";

/** The environment variable that gives the shim the path of the compact policy. */
export const POLICY_ENV = "CONTAINAI_POLICY";
/** Exit status of `run` when enforce mode refuses to start the task ("cannot execute"). */
export const DENIED_EXIT_CODE = 126;
/** The errno reported in a Deny event for an enforced denial (EACCES). */
export const DENY_ERRNO = 13;
