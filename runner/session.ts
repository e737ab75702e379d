/**
 * Session ids and agent names for a run.
 *
 * @module
 */
import { SESSION_ID_PATTERN } from "../protocol/mod.ts";

/**
 * A new session id that sorts by creation time: UTC time to the millisecond,
 * then random hex so two runs in the same millisecond differ, e.g.
 * "20261127T001502.123Z-9f3c2a1b".
 *
 * @example
 * ```ts
 * import { newSessionId } from "./session.ts";
 * console.log(newSessionId()); // "20261127T001502.123Z-9f3c2a1b"
 * ```
 */
export function newSessionId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "");
  const random = crypto.getRandomValues(new Uint8Array(4));
  const hex = [...random].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${stamp}-${hex}`;
}

/** Throws with a fix when `id` cannot name a session file. */
export function checkSessionId(id: string): string {
  if (!SESSION_ID_PATTERN.test(id)) {
    throw new Error(
      `session id "${id}" is not allowed: use 1-128 characters of A-Z a-z 0-9 . _ - ` +
        "starting with a letter or digit",
    );
  }
  return id;
}

/**
 * The agent name for a command: the base name of its program ("claude" for
 * "/usr/local/bin/claude"), without control characters, at most 128 characters.
 *
 * @example
 * ```ts
 * import { agentFromCommand } from "./session.ts";
 * console.log(agentFromCommand(["/usr/bin/python3", "-c", "1"])); // "python3"
 * ```
 */
export function agentFromCommand(command: readonly string[]): string {
  const program = command[0] ?? "";
  const base = program.slice(program.lastIndexOf("/") + 1);
  // deno-lint-ignore no-control-regex
  const clean = base.replace(/[\x00-\x1f\x7f]/g, "").slice(0, 128);
  return clean.length > 0 ? clean : "agent";
}

/** Throws with a fix when `agent` would be rejected by the protocol. */
export function checkAgent(agent: string): string {
  // deno-lint-ignore no-control-regex
  if (agent.length === 0 || agent.length > 128 || /[\x00-\x1f\x7f]/.test(agent)) {
    throw new Error(`agent "${agent}" is not allowed: use 1-128 printable characters`);
  }
  return agent;
}
