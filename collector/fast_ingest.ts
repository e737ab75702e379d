/**
 * The part of the line function that needs no zod: the nesting guard, `JSON.parse`, the
 * hand-written protocol check and the stored form of an accepted event. The ingest worker runs
 * only this (it may read nothing but its own source files, so it cannot load zod); lines it does
 * not accept go back to the main thread, which runs the full {@linkcode ingestText}.
 *
 * @module
 */
import { isCertainlyValidEvent } from "../protocol/fast_validate.ts";
import type { AuditEvent } from "../protocol/schema.ts";

/** Events are at most a few levels deep; deeper input is hostile and slow for JSON.parse. */
export const MAX_JSON_DEPTH = 64;
/** Lines shorter than this cannot nest deeply enough to cost noticeable parse time. */
export const DEPTH_SCAN_MIN_CHARS = 4096;

/** An event the fast path accepted: its session and its stored record. */
export interface FastAccepted {
  /** The validated session id; safe to use in a file name. */
  sessionId: string;
  /** The stored line up to, without, its `,"session_seq":N}` ending. */
  record: string;
}

/**
 * The stored record of `text` when the hand-written check vouches for it; undefined for
 * everything else (invalid JSON, too deep, not an object, or not certainly valid), which the
 * caller must decide with the full line function.
 *
 * The record is the parsed value re-serialized, plus `received_at` ({@linkcode storedRecord}).
 *
 * @example
 * ```ts
 * import { fastAccept } from "./fast_ingest.ts";
 * console.log(fastAccept("[1]", "2025-12-01T12:00:00.000Z")); // undefined
 * ```
 */
export function fastAccept(text: string, receivedAt: string): FastAccepted | undefined {
  if (text.length >= DEPTH_SCAN_MIN_CHARS && nestingExceeds(text, MAX_JSON_DEPTH)) {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isCertainlyValidEvent(value)) return undefined;
  return {
    sessionId: (value as AuditEvent).metadata.session_id,
    record: storedRecord(value, receivedAt),
  };
}

/**
 * The stored record of a validated event: `JSON.stringify` of the parsed value with
 * `received_at` appended, without the closing brace. Re-serializing (rather than appending to
 * the raw text) drops duplicate keys: `JSON.parse` keeps the last of
 * `"source":"Collector","source":"Shim"`, but a reader of the raw line could keep the first, so
 * raw text would let a producer spoof fields that validation never saw.
 *
 * @example
 * ```ts
 * import { storedRecord } from "./fast_ingest.ts";
 * console.log(storedRecord({ v: 1 }, "2025-12-01T12:00:00.000Z"));
 * // {"v":1,"received_at":"2025-12-01T12:00:00.000Z"
 * ```
 */
export function storedRecord(value: unknown, receivedAt: string): string {
  const json = JSON.stringify(value);
  return `${json.slice(0, -1)},"received_at":"${receivedAt}"`;
}

/**
 * True when `text` nests brackets deeper than `limit` outside strings; stops as soon as the
 * limit is passed.
 *
 * @example
 * ```ts
 * import { nestingExceeds } from "./fast_ingest.ts";
 * console.log(nestingExceeds("[[[]]]", 2)); // true
 * ```
 */
export function nestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b || code === 0x7b) {
      if (++depth > limit) return true;
    } else if (code === 0x5d || code === 0x7d) {
      depth--;
    }
  }
  return false;
}
