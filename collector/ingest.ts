/**
 * The hot path for one line: UTF-8 decode, JSON parse, protocol validation, and the stored
 * form of an accepted event.
 *
 * @module
 */
import {
  type AuditEvent,
  type EventIssue,
  ExecPayloadSchema,
  isCertainlyValidEvent,
  OpenPayloadSchema,
  validateEvent,
  type ValidationResult,
} from "../protocol/mod.ts";
import type { z } from "zod";
import {
  DEPTH_SCAN_MIN_CHARS,
  MAX_JSON_DEPTH,
  nestingExceeds,
  storedRecord,
} from "./fast_ingest.ts";

/** Why a line was rejected; each reason has its own counter and appears in reject records. */
export type RejectReason =
  | "invalid_utf8"
  | "invalid_json"
  | "too_deep"
  | "not_object"
  | "bad_session_id"
  | "source_spoofing"
  | "payload_mismatch"
  | "schema_violation"
  | "overlong_line"
  | "partial_line_timeout"
  | "torn_tail";

/** Every reject reason, in the order stats list them. */
export const REJECT_REASONS: readonly RejectReason[] = [
  "invalid_utf8",
  "invalid_json",
  "too_deep",
  "not_object",
  "bad_session_id",
  "source_spoofing",
  "payload_mismatch",
  "schema_violation",
  "overlong_line",
  "partial_line_timeout",
  "torn_tail",
];

/** The outcome of {@linkcode ingestLine}. */
export type LineOutcome =
  | {
    ok: true;
    /** The validated session id; safe to use in a file name. */
    sessionId: string;
    /** The stored line up to, without, its `,"session_seq":N}` ending. */
    record: string;
  }
  | { ok: false; reason: RejectReason; path: string; message: string };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Turns one received line into the record to store, or the reason to reject it.
 *
 * The stored record is the producer's object re-serialized with `JSON.stringify` from the
 * parsed value, plus `received_at` (see {@linkcode storedRecord} for why it is re-serialized).
 *
 * @example
 * ```ts
 * import { ingestLine } from "./ingest.ts";
 * const outcome = ingestLine(new TextEncoder().encode("{}"), "2025-12-01T12:00:00.000Z");
 * console.log(outcome.ok); // false
 * ```
 */
export function ingestLine(bytes: Uint8Array, receivedAt: string): LineOutcome {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return reject("invalid_utf8", "", "the line is not valid UTF-8");
  }
  return ingestText(text, receivedAt);
}

/**
 * {@linkcode ingestLine} for a line already decoded from valid UTF-8 (the collector decodes
 * many lines in one call, which is much cheaper than one call per line).
 *
 * @example
 * ```ts
 * import { ingestText } from "./ingest.ts";
 * const outcome = ingestText("[1]", "2025-12-01T12:00:00.000Z");
 * if (!outcome.ok) console.log(outcome.reason); // not_object
 * ```
 */
export function ingestText(text: string, receivedAt: string): LineOutcome {
  if (text.length >= DEPTH_SCAN_MIN_CHARS && nestingExceeds(text, MAX_JSON_DEPTH)) {
    return reject("too_deep", "", `JSON nesting deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return reject("invalid_json", "", (error as Error).message);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
    return reject("not_object", "", `an event must be a JSON object, got ${kind}`);
  }
  // The hand-written check accepts most events at a fraction of zod's cost; whatever it does
  // not vouch for goes to zod, which decides and names the problem for the reject record.
  if (!isCertainlyValidEvent(value)) {
    const result = validateBounded(value as Record<string, unknown>);
    if (!result.ok) return rejectInvalid(value as Record<string, unknown>, result.issues);
  }
  return {
    ok: true,
    sessionId: (value as AuditEvent).metadata.session_id,
    record: storedRecord(value, receivedAt),
  };
}

/**
 * The payload arrays whose elements zod checks one by one, with each element's own schema: zod
 * reports every bad element, and a line of 570 KB with 95,000 of them took about 320 ms of the main
 * thread (every connection waits meanwhile).
 */
const CHECKED_ARRAYS: Record<string, Record<string, z.ZodType>> = {
  Exec: { argv: ExecPayloadSchema.shape.argv.element, env: ExecPayloadSchema.shape.env.element },
  Open: { flags: OpenPayloadSchema.shape.flags.element },
};
/** Arrays up to this long are left whole: zod's cost for them is small. */
const TRIM_MIN_ELEMENTS = 256;

/**
 * zod's verdict on `value`, with the work bounded: each long payload array that holds a bad
 * element is cut right after its first one (found with zod's own element schema) before zod
 * sees the event. The event stays invalid and its first issue is the same; only the issues after
 * it in that array, which no reject record shows, are not computed.
 */
function validateBounded(value: Record<string, unknown>): ValidationResult {
  const arrays = typeof value.event_type === "string"
    ? CHECKED_ARRAYS[value.event_type]
    : undefined;
  const payload = value.payload;
  if (arrays === undefined || payload === null || typeof payload !== "object") {
    return validateEvent(value);
  }
  let trimmed: Record<string, unknown> | undefined;
  for (const [field, element] of Object.entries(arrays)) {
    const items = (payload as Record<string, unknown>)[field];
    if (!Array.isArray(items) || items.length <= TRIM_MIN_ELEMENTS) continue;
    const bad = items.findIndex((item) => !element.safeParse(item).success);
    if (bad === -1 || bad === items.length - 1) continue;
    trimmed ??= { ...(payload as Record<string, unknown>) };
    trimmed[field] = items.slice(0, bad + 1);
  }
  if (trimmed === undefined) return validateEvent(value);
  const result = validateEvent({ ...value, payload: trimmed });
  // Cannot happen (a bad element stays in); if it did, the untrimmed event decides.
  return result.ok ? validateEvent(value) : result;
}

function rejectInvalid(value: Record<string, unknown>, issues: EventIssue[]): LineOutcome {
  const issue = issues.find((i) => i.path.startsWith("metadata.session_id")) ?? issues[0];
  return reject(classify(value, issue.path), issue.path, issue.message);
}

function reject(reason: RejectReason, path: string, message: string): LineOutcome {
  return { ok: false, reason, path, message };
}

function classify(value: Record<string, unknown>, path: string): RejectReason {
  if (path.startsWith("metadata.session_id")) return "bad_session_id";
  if (value.source === "Collector") return "source_spoofing";
  if (path === "payload" || path.startsWith("payload.")) return "payload_mismatch";
  return "schema_violation";
}
