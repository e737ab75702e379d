/**
 * Validation of untrusted events, with problems reported by their exact path.
 *
 * @module
 */
import type { z } from "zod";
import { type AuditEvent, AuditEventSchema } from "./schema.ts";

/** One problem found in an event: where (`path`, e.g. "payload.argv.2") and what. */
export interface EventIssue {
  /** Dotted path of the offending field; "" for the event itself. */
  path: string;
  /** What is wrong, in words. */
  message: string;
}

/** The outcome of {@linkcode validateEvent}. */
export type ValidationResult =
  | { ok: true; event: AuditEvent }
  | { ok: false; issues: EventIssue[] };

/**
 * Checks a decoded JSON value against protocol v1.
 *
 * @example
 * ```ts
 * import { validateEvent } from "./validate.ts";
 * const result = validateEvent(JSON.parse(line));
 * if (!result.ok) console.error(result.issues[0].path, result.issues[0].message);
 * ```
 */
export function validateEvent(value: unknown): ValidationResult {
  const parsed = AuditEventSchema.safeParse(value);
  if (parsed.success) return { ok: true, event: parsed.data };
  return { ok: false, issues: parsed.error.issues.map(toEventIssue) };
}

/** Joins a zod issue path into the dotted form used in reject records and docs. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map((key) => String(key)).join(".");
}

function toEventIssue(issue: z.core.$ZodIssue): EventIssue {
  return { path: formatIssuePath(issue.path), message: issue.message };
}
