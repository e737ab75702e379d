/**
 * Protocol v1: the zod schemas every component validates against. They are the
 * single source of truth for the wire format; `audit-event.schema.json` and the
 * TypeScript types are derived from them.
 *
 * @module
 */
import { z } from "zod";

/** The protocol version every event carries in `v`. */
export const PROTOCOL_VERSION = 1 as const;

/**
 * A session id names a log file (`session-<id>.jsonl`), so it is restricted to
 * characters that can never form a path separator or a dot-only name.
 */
export const SESSION_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** RFC 3339 in UTC with `Z`, fractional seconds of up to 9 digits. */
export const TIMESTAMP_PATTERN: RegExp =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?Z$/;

const MAX_INT32 = 2 ** 31 - 1;
const MAX_UINT32 = 2 ** 32 - 1;

const nonNegativeInt = (max: number) => z.int().min(0).max(max);
const errnoValue = z.int().min(1).max(4095);
const callName = z.string().min(1).max(64);

/** Who produced an event. Producers send Shim or Runner; Collector is the collector's own. */
export const SourceSchema = z.enum(["Shim", "Runner", "Collector"]);
/** The kinds of events. */
export const EventTypeSchema = z.enum(["Exec", "Connect", "Open", "Deny", "Exit"]);

/** `metadata`: which agent session the event belongs to. */
export const MetadataSchema = z.strictObject({
  session_id: z.string().regex(SESSION_ID_PATTERN, {
    message: "session_id must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
  }),
  // The agent name is shown in summaries and terminals: control characters could forge output.
  // deno-lint-ignore no-control-regex
  agent: z.string().min(1).max(128).regex(/^[^\x00-\x1f\x7f]*$/, {
    message: "agent must not contain control characters",
  }),
});

/** `process`: the ids of the process that produced the event. */
export const ProcessSchema = z.strictObject({
  pid: z.int().min(1).max(MAX_INT32),
  ppid: nonNegativeInt(MAX_INT32),
  tid: z.int().min(1).max(MAX_INT32),
  uid: nonNegativeInt(MAX_UINT32),
  gid: nonNegativeInt(MAX_UINT32),
});

/** What the runner found when it probed the kernel; free-form, documented in docs/protocol.md. */
export const CaptureSchema = z.strictObject({
  mode: z.string().min(1).max(64),
  reason: z.string().max(1024),
});

/**
 * `probe`: free-form JSON object, except for a `__proto__` key: JSON.parse makes it an ordinary
 * key, but zod's record drops it without a word, so an event would be stored with a key that
 * validation never saw. Refused instead, before the record check.
 */
const probeRecord = z
  .unknown()
  .refine(
    (value) => !(typeof value === "object" && value !== null && Object.hasOwn(value, "__proto__")),
    { message: "probe must not have a __proto__ key" },
  )
  .pipe(z.record(z.string(), z.unknown()));

/** Exec: a program start, sent before the real call; a failed call sends a second one with errno. */
export const ExecPayloadSchema = z.strictObject({
  call: callName,
  path: z.string(),
  argv: z.array(z.string()),
  env: z.array(z.string()),
  cwd: z.string(),
  dirfd: z.int().optional(),
  errno: errnoValue.optional(),
  probe: probeRecord.optional(),
  capture: CaptureSchema.optional(),
  truncated: z.literal(true).optional(),
});

/** Open: a file open, sent after the call with the fd it returned or the errno it failed with. */
export const OpenPayloadSchema = z.strictObject({
  call: callName,
  path: z.string(),
  flags: z.array(z.string().regex(/^O_[A-Z0-9_]+$/)),
  mode: nonNegativeInt(0o7777).optional(),
  dirfd: z.int().optional(),
  fd: nonNegativeInt(MAX_INT32).optional(),
  errno: errnoValue.optional(),
  truncated: z.literal(true).optional(),
}).superRefine(exactlyOneOutcome);

/** Connect: an outgoing connection (or a datagram with a destination), sent after the call. */
export const ConnectPayloadSchema = z.strictObject({
  call: callName,
  fd: nonNegativeInt(MAX_INT32),
  family: z.string().regex(/^AF_([A-Z0-9]+|\d+)$/),
  address: z.string(),
  port: nonNegativeInt(65535).optional(),
  errno: errnoValue.optional(),
  truncated: z.literal(true).optional(),
}).superRefine((payload, ctx) => {
  const inet = payload.family === "AF_INET" || payload.family === "AF_INET6";
  if (inet && payload.port === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["port"],
      message: "port is required for AF_INET/AF_INET6",
    });
  }
});

/** Deny: a call the policy matched; `enforced` says whether it was blocked. */
export const DenyPayloadSchema = z.strictObject({
  call: callName,
  action: z.enum(["Exec", "Open", "Connect"]),
  target: z.string(),
  rule: z.string(),
  errno: nonNegativeInt(4095),
  enforced: z.boolean(),
  truncated: z.literal(true).optional(),
});

/** Exit: the end of a process the runner started. */
export const ExitPayloadSchema = z.strictObject({
  pid: z.int().min(1).max(MAX_INT32),
  exit_code: nonNegativeInt(255).optional(),
  signal: z.int().min(1).max(64).optional(),
  duration_ms: z.number().min(0),
  truncated: z.literal(true).optional(),
}).superRefine((payload, ctx) => {
  if ((payload.exit_code === undefined) === (payload.signal === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["exit_code"],
      message: "exactly one of exit_code or signal is required",
    });
  }
});

function exactlyOneOutcome(
  payload: { fd?: number; errno?: number },
  ctx: z.RefinementCtx,
): void {
  if ((payload.fd === undefined) === (payload.errno === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["fd"],
      message: "exactly one of fd (success) or errno (failure) is required",
    });
  }
}

const envelope = {
  v: z.literal(PROTOCOL_VERSION),
  timestamp: z.string().regex(TIMESTAMP_PATTERN, {
    message: "timestamp must be RFC 3339 UTC ending in Z, e.g. 2025-12-01T12:00:00.123Z",
  }),
  source: z.enum(["Shim", "Runner"]),
  metadata: MetadataSchema,
  process: ProcessSchema,
  seq: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  dropped: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
};

/**
 * One event as a producer (shim or runner) sends it: one JSON object per line.
 *
 * @example
 * ```ts
 * import { AuditEventSchema } from "./schema.ts";
 * const result = AuditEventSchema.safeParse(JSON.parse(line));
 * ```
 */
export const AuditEventSchema = z.discriminatedUnion("event_type", [
  z.strictObject({ ...envelope, event_type: z.literal("Exec"), payload: ExecPayloadSchema }),
  z.strictObject({ ...envelope, event_type: z.literal("Open"), payload: OpenPayloadSchema }),
  z.strictObject({ ...envelope, event_type: z.literal("Connect"), payload: ConnectPayloadSchema }),
  z.strictObject({ ...envelope, event_type: z.literal("Deny"), payload: DenyPayloadSchema }),
  z.strictObject({ ...envelope, event_type: z.literal("Exit"), payload: ExitPayloadSchema }),
]);

/** An event as a producer sends it. */
export type AuditEvent = z.infer<typeof AuditEventSchema>;
/** The `event_type` values. */
export type EventType = z.infer<typeof EventTypeSchema>;
/** Payload of an Exec event. */
export type ExecPayload = z.infer<typeof ExecPayloadSchema>;
/** Payload of an Open event. */
export type OpenPayload = z.infer<typeof OpenPayloadSchema>;
/** Payload of a Connect event. */
export type ConnectPayload = z.infer<typeof ConnectPayloadSchema>;
/** Payload of a Deny event. */
export type DenyPayload = z.infer<typeof DenyPayloadSchema>;
/** Payload of an Exit event. */
export type ExitPayload = z.infer<typeof ExitPayloadSchema>;

/**
 * The fields the collector adds when it stores an event: `received_at` (its own
 * clock, same format as `timestamp`) and `session_seq` (0, 1, 2, ... gapless per
 * session file, continuing across restarts).
 */
export type StoredEvent = AuditEvent & { received_at: string; session_seq: number };
