/**
 * The child's environment: the shim injected, the audit variables set, and
 * the redacted copy that goes into the runner's Exec event.
 *
 * @module
 */

/** Variables whose names contain one of these (any case) are redacted in events. */
export const SECRET_NAME_PARTS: readonly string[] = [
  "TOKEN",
  "SECRET",
  "PASSWORD",
  "PASSWD",
  "CREDENTIAL",
  "API_KEY",
  "ACCESS_KEY",
  "PRIVATE_KEY",
  "AUTH",
  "COOKIE",
];

/** What replaces a secret value. */
export const REDACTED = "[REDACTED]";

/**
 * Whether a variable name looks like it holds a secret.
 *
 * @example
 * ```ts
 * import { isSecretName } from "./environment.ts";
 * console.log(isSecretName("github_token"), isSecretName("HOME")); // true false
 * ```
 */
export function isSecretName(name: string): boolean {
  const upper = name.toUpperCase();
  return SECRET_NAME_PARTS.some((part) => upper.includes(part));
}

/**
 * "NAME=value" strings, sorted by name, with secret-looking values replaced.
 *
 * @example
 * ```ts
 * import { redactEnvironment } from "./environment.ts";
 * redactEnvironment({ GITHUB_TOKEN: "ghp_x", HOME: "/root" });
 * // ["GITHUB_TOKEN=[REDACTED]", "HOME=/root"]
 * ```
 */
export function redactEnvironment(env: Readonly<Record<string, string>>): string[] {
  return Object.keys(env).sort().map((name) =>
    `${name}=${isSecretName(name) ? REDACTED : env[name]}`
  );
}

/** What the shim needs to find the collector and label its events. */
export interface AuditVariables {
  /** Absolute path of libauditshim.so. */
  shim: string;
  /** The collector's socket. */
  socket: string;
  /** The session id. */
  sessionId: string;
  /** The agent name. */
  agent: string;
}

/**
 * The environment the audited command starts with: `base` plus the audit
 * variables, with the shim first in LD_PRELOAD and earlier entries kept
 * (a repeated shim entry is dropped so nested runs load it once).
 *
 * @example
 * ```ts
 * import { childEnvironment } from "./environment.ts";
 * const env = childEnvironment({ LD_PRELOAD: "libfoo.so" }, {
 *   shim: "/usr/lib/libauditshim.so",
 *   socket: "/run/containai/audit.sock",
 *   sessionId: "s1",
 *   agent: "sh",
 * });
 * console.log(env.LD_PRELOAD); // "/usr/lib/libauditshim.so:libfoo.so"
 * ```
 */
export function childEnvironment(
  base: Readonly<Record<string, string>>,
  audit: AuditVariables,
): Record<string, string> {
  const existing = (base.LD_PRELOAD ?? "").split(/[:\s]+/).filter((entry) =>
    entry.length > 0 && entry !== audit.shim
  );
  return {
    ...base,
    LD_PRELOAD: [audit.shim, ...existing].join(":"),
    CONTAINAI_AUDIT_SOCKET: audit.socket,
    CONTAINAI_SESSION_ID: audit.sessionId,
    CONTAINAI_AGENT: audit.agent,
  };
}
