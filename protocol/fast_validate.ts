/**
 * A hand-written check of protocol v1 for the collector's hot path: one pass over a value decoded
 * by `JSON.parse`, no allocation, about ten times cheaper than the zod schemas.
 *
 * It only ever answers "certainly valid" or "not sure". The zod schemas in schema.ts stay the
 * single source of truth: a caller runs {@linkcode validateEvent} whenever this check says false
 * (which also yields the issues for a reject record). A differential test
 * (tests/protocol/fast_validate_test.ts) holds it to never accepting what zod rejects. Any change
 * to schema.ts must be mirrored here; until it is, that test fails.
 *
 * @module
 */
// No runtime import: the collector runs this module in a Worker that may read only its own
// source files, so it must not pull in schema.ts and with it zod. The patterns below are copies
// of schema.ts's: a test holds the two exported ones equal to schema.ts's exports, the
// differential test the others.

const MAX_INT32 = 2 ** 31 - 1;
const MAX_UINT32 = 2 ** 32 - 1;
/** A copy of schema.ts's `SESSION_ID_PATTERN` (a test holds them equal). */
export const FAST_SESSION_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A copy of schema.ts's `TIMESTAMP_PATTERN` (a test holds them equal). */
export const FAST_TIMESTAMP_PATTERN: RegExp =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?Z$/;
const SESSION_ID_PATTERN = FAST_SESSION_ID_PATTERN;
const TIMESTAMP_PATTERN = FAST_TIMESTAMP_PATTERN;
// Copies of patterns schema.ts does not export.
const OPEN_FLAG_PATTERN = /^O_[A-Z0-9_]+$/;
const FAMILY_PATTERN = /^AF_([A-Z0-9]+|\d+)$/;

// Bits of the fields seen in one object: strict objects are checked key by key with `for...in`
// (the same enumeration zod uses to find unknown keys), so each key is looked at once.
const V = 1, TIMESTAMP = 2, SOURCE = 4, METADATA = 8, PROCESS = 16, SEQ = 32, TYPE = 64;
const PAYLOAD = 128;
const ENVELOPE_REQUIRED = V | TIMESTAMP | SOURCE | METADATA | PROCESS | SEQ | TYPE | PAYLOAD;

/**
 * True only when protocol v1 (`AuditEventSchema`) certainly accepts `value`; false when it does
 * not, or when this check cannot tell (then ask {@linkcode validateEvent}). Meant for values from
 * `JSON.parse`; for other values (getters, class instances) it may say false more often, never
 * true where zod says invalid.
 *
 * @example
 * ```ts
 * import { isCertainlyValidEvent, validateEvent } from "./mod.ts";
 * const value: unknown = JSON.parse('{"v":1}');
 * const valid = isCertainlyValidEvent(value) || validateEvent(value).ok;
 * console.log(valid); // false
 * ```
 */
export function isCertainlyValidEvent(value: unknown): boolean {
  if (!isObject(value)) return false;
  let seen = 0;
  let eventType: unknown;
  let payload: unknown;
  for (const key in value) {
    const field = value[key];
    switch (key) {
      case "v":
        if (field !== 1) return false;
        seen |= V;
        break;
      case "timestamp":
        if (typeof field !== "string" || !TIMESTAMP_PATTERN.test(field)) return false;
        seen |= TIMESTAMP;
        break;
      case "source":
        if (field !== "Shim" && field !== "Runner") return false;
        seen |= SOURCE;
        break;
      case "metadata":
        if (!isValidMetadata(field)) return false;
        seen |= METADATA;
        break;
      case "process":
        if (!isValidProcess(field)) return false;
        seen |= PROCESS;
        break;
      case "seq":
        if (!isIntIn(field, 0, Number.MAX_SAFE_INTEGER)) return false;
        seen |= SEQ;
        break;
      case "dropped":
        if (!isIntIn(field, 0, Number.MAX_SAFE_INTEGER)) return false;
        break;
      case "event_type":
        eventType = field;
        seen |= TYPE;
        break;
      case "payload":
        payload = field;
        seen |= PAYLOAD;
        break;
      default:
        return false;
    }
  }
  return seen === ENVELOPE_REQUIRED && isValidPayload(eventType, payload);
}

function isValidPayload(eventType: unknown, payload: unknown): boolean {
  if (!isObject(payload)) return false;
  switch (eventType) {
    case "Open":
      return isValidOpen(payload);
    case "Exec":
      return isValidExec(payload);
    case "Connect":
      return isValidConnect(payload);
    case "Deny":
      return isValidDeny(payload);
    case "Exit":
      return isValidExit(payload);
    default:
      return false;
  }
}

function isValidMetadata(value: unknown): boolean {
  if (!isObject(value)) return false;
  let seen = 0;
  for (const key in value) {
    const field = value[key];
    if (key === "session_id") {
      if (typeof field !== "string" || !SESSION_ID_PATTERN.test(field)) return false;
      seen |= 1;
    } else if (key === "agent") {
      if (!isAgentName(field)) return false;
      seen |= 2;
    } else {
      return false;
    }
  }
  return seen === 3;
}

/** 1 to 128 UTF-16 units, none a control character (C0 or DEL). */
function isAgentName(value: unknown): boolean {
  if (typeof value !== "string" || value.length < 1 || value.length > 128) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

function isValidProcess(value: unknown): boolean {
  if (!isObject(value)) return false;
  let seen = 0;
  for (const key in value) {
    const field = value[key];
    switch (key) {
      case "pid":
        if (!isIntIn(field, 1, MAX_INT32)) return false;
        seen |= 1;
        break;
      case "ppid":
        if (!isIntIn(field, 0, MAX_INT32)) return false;
        seen |= 2;
        break;
      case "tid":
        if (!isIntIn(field, 1, MAX_INT32)) return false;
        seen |= 4;
        break;
      case "uid":
        if (!isIntIn(field, 0, MAX_UINT32)) return false;
        seen |= 8;
        break;
      case "gid":
        if (!isIntIn(field, 0, MAX_UINT32)) return false;
        seen |= 16;
        break;
      default:
        return false;
    }
  }
  return seen === 31;
}

function isValidOpen(payload: Record<string, unknown>): boolean {
  let seen = 0;
  let outcomes = 0;
  for (const key in payload) {
    const field = payload[key];
    switch (key) {
      case "call":
        if (!isCallName(field)) return false;
        seen |= 1;
        break;
      case "path":
        if (typeof field !== "string") return false;
        seen |= 2;
        break;
      case "flags":
        if (!isOpenFlags(field)) return false;
        seen |= 4;
        break;
      case "mode":
        if (!isIntIn(field, 0, 0o7777)) return false;
        break;
      case "dirfd":
        if (!isSafeInt(field)) return false;
        break;
      case "fd":
        if (!isIntIn(field, 0, MAX_INT32)) return false;
        outcomes++;
        break;
      case "errno":
        if (!isIntIn(field, 1, 4095)) return false;
        outcomes++;
        break;
      case "truncated":
        if (field !== true) return false;
        break;
      default:
        return false;
    }
  }
  return seen === 7 && outcomes === 1;
}

function isOpenFlags(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const flag = value[i];
    if (typeof flag !== "string" || !OPEN_FLAG_PATTERN.test(flag)) return false;
  }
  return true;
}

function isValidExec(payload: Record<string, unknown>): boolean {
  let seen = 0;
  for (const key in payload) {
    const field = payload[key];
    switch (key) {
      case "call":
        if (!isCallName(field)) return false;
        seen |= 1;
        break;
      case "path":
        if (typeof field !== "string") return false;
        seen |= 2;
        break;
      case "argv":
        if (!isStringArray(field)) return false;
        seen |= 4;
        break;
      case "env":
        if (!isStringArray(field)) return false;
        seen |= 8;
        break;
      case "cwd":
        if (typeof field !== "string") return false;
        seen |= 16;
        break;
      case "dirfd":
        if (!isSafeInt(field)) return false;
        break;
      case "errno":
        if (!isIntIn(field, 1, 4095)) return false;
        break;
      case "probe":
        // z.record(z.string(), z.unknown()): any plain object; its values are not checked. An own
        // `__proto__` key is refused by the schema (zod's record would drop it silently).
        if (!isObject(field) || !isPlainObject(field) || Object.hasOwn(field, "__proto__")) {
          return false;
        }
        break;
      case "capture":
        if (!isValidCapture(field)) return false;
        break;
      case "truncated":
        if (field !== true) return false;
        break;
      default:
        return false;
    }
  }
  return seen === 31;
}

function isValidCapture(value: unknown): boolean {
  if (!isObject(value)) return false;
  let seen = 0;
  for (const key in value) {
    const field = value[key];
    if (key === "mode") {
      if (typeof field !== "string" || field.length < 1 || field.length > 64) return false;
      seen |= 1;
    } else if (key === "reason") {
      if (typeof field !== "string" || field.length > 1024) return false;
      seen |= 2;
    } else {
      return false;
    }
  }
  return seen === 3;
}

function isValidConnect(payload: Record<string, unknown>): boolean {
  let seen = 0;
  let hasPort = false;
  let family: unknown;
  for (const key in payload) {
    const field = payload[key];
    switch (key) {
      case "call":
        if (!isCallName(field)) return false;
        seen |= 1;
        break;
      case "fd":
        if (!isIntIn(field, 0, MAX_INT32)) return false;
        seen |= 2;
        break;
      case "family":
        if (typeof field !== "string" || !FAMILY_PATTERN.test(field)) return false;
        family = field;
        seen |= 4;
        break;
      case "address":
        if (typeof field !== "string") return false;
        seen |= 8;
        break;
      case "port":
        if (!isIntIn(field, 0, 65535)) return false;
        hasPort = true;
        break;
      case "errno":
        if (!isIntIn(field, 1, 4095)) return false;
        break;
      case "truncated":
        if (field !== true) return false;
        break;
      default:
        return false;
    }
  }
  if (seen !== 15) return false;
  return hasPort || (family !== "AF_INET" && family !== "AF_INET6");
}

function isValidDeny(payload: Record<string, unknown>): boolean {
  let seen = 0;
  for (const key in payload) {
    const field = payload[key];
    switch (key) {
      case "call":
        if (!isCallName(field)) return false;
        seen |= 1;
        break;
      case "action":
        if (field !== "Exec" && field !== "Open" && field !== "Connect") return false;
        seen |= 2;
        break;
      case "target":
        if (typeof field !== "string") return false;
        seen |= 4;
        break;
      case "rule":
        if (typeof field !== "string") return false;
        seen |= 8;
        break;
      case "errno":
        if (!isIntIn(field, 0, 4095)) return false;
        seen |= 16;
        break;
      case "enforced":
        if (typeof field !== "boolean") return false;
        seen |= 32;
        break;
      case "truncated":
        if (field !== true) return false;
        break;
      default:
        return false;
    }
  }
  return seen === 63;
}

function isValidExit(payload: Record<string, unknown>): boolean {
  let seen = 0;
  let outcomes = 0;
  for (const key in payload) {
    const field = payload[key];
    switch (key) {
      case "pid":
        if (!isIntIn(field, 1, MAX_INT32)) return false;
        seen |= 1;
        break;
      case "exit_code":
        if (!isIntIn(field, 0, 255)) return false;
        outcomes++;
        break;
      case "signal":
        if (!isIntIn(field, 1, 64)) return false;
        outcomes++;
        break;
      case "duration_ms":
        if (typeof field !== "number" || !Number.isFinite(field) || field < 0) return false;
        seen |= 2;
        break;
      case "truncated":
        if (field !== true) return false;
        break;
      default:
        return false;
    }
  }
  return seen === 3 && outcomes === 1;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What JSON.parse builds; zod's record check refuses objects of other classes. */
function isPlainObject(value: Record<string, unknown>): boolean {
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  const constructor = value.constructor;
  return typeof constructor !== "function" || constructor === Object;
}

/** z.int() accepts safe integers only; -0 is one (and JSON.stringify writes it as 0). */
function isSafeInt(value: unknown): boolean {
  return typeof value === "number" && Number.isSafeInteger(value);
}

function isIntIn(value: unknown, min: number, max: number): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min &&
    value <= max;
}

function isCallName(value: unknown): boolean {
  return typeof value === "string" && value.length >= 1 && value.length <= 64;
}

function isStringArray(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== "string") return false;
  return true;
}
