import assert from "node:assert/strict";
import { type AuditEvent, validateEvent } from "../../protocol/mod.ts";
import { VALID_EVENTS } from "./fixtures.ts";

type Json = Record<string, unknown>;

/** A deep copy of a valid event of `type`, changed by `edit`. */
function mutate(type: AuditEvent["event_type"], edit: (event: Json) => void): Json {
  const event = structuredClone(VALID_EVENTS[type]) as unknown as Json;
  edit(event);
  return event;
}

const payloadOf = (event: Json): Json => event.payload as Json;
const metadataOf = (event: Json): Json => event.metadata as Json;
const processOf = (event: Json): Json => event.process as Json;

for (const [type, event] of Object.entries(VALID_EVENTS)) {
  Deno.test(`a valid ${type} event survives a JSON round trip unchanged`, () => {
    const line = JSON.stringify(event);
    assert(!line.includes("\n"), "an event must encode on one line");
    const result = validateEvent(JSON.parse(line));
    assert(result.ok, JSON.stringify(!result.ok && result.issues));
    assert.deepEqual(result.event, event);
  });
}

Deno.test("an Exit event may carry a signal instead of an exit code", () => {
  const event = mutate("Exit", (e) => {
    delete payloadOf(e).exit_code;
    payloadOf(e).signal = 9;
  });
  assert(validateEvent(event).ok);
});

Deno.test("a payload may be marked truncated", () => {
  const event = mutate("Exec", (e) => payloadOf(e).truncated = true);
  assert(validateEvent(event).ok);
});

Deno.test("a producer may report dropped events", () => {
  assert(validateEvent(mutate("Open", (e) => e.dropped = 12)).ok);
});

/** Invalid events and the exact path of the problem each must be rejected at. */
const INVALID: Array<[string, Json | unknown, string]> = [
  ["not an object", [1, 2], ""],
  ["null", null, ""],
  ["missing v", mutate("Exec", (e) => delete e.v), "v"],
  ["v is 2", mutate("Exec", (e) => e.v = 2), "v"],
  ["v is a string", mutate("Exec", (e) => e.v = "1"), "v"],
  ["missing timestamp", mutate("Exec", (e) => delete e.timestamp), "timestamp"],
  ["timestamp without Z", mutate("Exec", (e) => e.timestamp = "2025-12-01T12:00:00"), "timestamp"],
  [
    "timestamp with offset",
    mutate("Exec", (e) => e.timestamp = "2025-12-01T12:00:00+02:00"),
    "timestamp",
  ],
  ["timestamp month 13", mutate("Exec", (e) => e.timestamp = "2025-13-01T12:00:00Z"), "timestamp"],
  [
    "timestamp with 10 fraction digits",
    mutate("Exec", (e) => e.timestamp = "2025-12-01T12:00:00.1234567890Z"),
    "timestamp",
  ],
  ["timestamp as a number", mutate("Exec", (e) => e.timestamp = 1733054400), "timestamp"],
  ["unknown source", mutate("Exec", (e) => e.source = "Kernel"), "source"],
  [
    "producer claiming to be the collector",
    mutate("Exec", (e) => e.source = "Collector"),
    "source",
  ],
  ["unknown event_type", mutate("Exec", (e) => e.event_type = "Read"), "event_type"],
  ["missing event_type", mutate("Exec", (e) => delete e.event_type), "event_type"],
  ["missing metadata", mutate("Exec", (e) => delete e.metadata), "metadata"],
  ['session id ""', mutate("Exec", (e) => metadataOf(e).session_id = ""), "metadata.session_id"],
  [
    'session id ".."',
    mutate("Exec", (e) => metadataOf(e).session_id = ".."),
    "metadata.session_id",
  ],
  [
    'session id "a/b"',
    mutate("Exec", (e) => metadataOf(e).session_id = "a/b"),
    "metadata.session_id",
  ],
  [
    'session id "../x"',
    mutate("Exec", (e) => metadataOf(e).session_id = "../x"),
    "metadata.session_id",
  ],
  [
    "session id with a NUL",
    mutate("Exec", (e) => metadataOf(e).session_id = "a\0b"),
    "metadata.session_id",
  ],
  [
    "session id of 129 characters",
    mutate("Exec", (e) => metadataOf(e).session_id = "a".repeat(129)),
    "metadata.session_id",
  ],
  [
    "session id with non-ASCII",
    mutate("Exec", (e) => metadataOf(e).session_id = "sessiön"),
    "metadata.session_id",
  ],
  [
    "session id as a number",
    mutate("Exec", (e) => metadataOf(e).session_id = 7),
    "metadata.session_id",
  ],
  ["empty agent", mutate("Exec", (e) => metadataOf(e).agent = ""), "metadata.agent"],
  ["agent with a newline", mutate("Exec", (e) => metadataOf(e).agent = "a\nb"), "metadata.agent"],
  [
    "agent of 129 characters",
    mutate("Exec", (e) => metadataOf(e).agent = "x".repeat(129)),
    "metadata.agent",
  ],
  ["negative pid", mutate("Exec", (e) => processOf(e).pid = -1), "process.pid"],
  ["fractional tid", mutate("Exec", (e) => processOf(e).tid = 1.5), "process.tid"],
  ["missing uid", mutate("Exec", (e) => delete processOf(e).uid), "process.uid"],
  ["negative seq", mutate("Exec", (e) => e.seq = -1), "seq"],
  ["negative dropped", mutate("Exec", (e) => e.dropped = -3), "dropped"],
  ["unknown top-level field", mutate("Exec", (e) => e.extra = true), ""],
  ["missing payload", mutate("Exec", (e) => delete e.payload), "payload"],
  ["Exec without argv", mutate("Exec", (e) => delete payloadOf(e).argv), "payload.argv"],
  [
    "Exec argv with a number",
    mutate("Exec", (e) => payloadOf(e).argv = ["ls", 3]),
    "payload.argv.1",
  ],
  ["Exec env not an array", mutate("Exec", (e) => payloadOf(e).env = "PATH=/bin"), "payload.env"],
  ["Exec errno zero", mutate("Exec", (e) => payloadOf(e).errno = 0), "payload.errno"],
  [
    "Exec with an unknown payload field",
    mutate("Exec", (e) => payloadOf(e).stdin = "x"),
    "payload",
  ],
  [
    "Open payload under Exec",
    mutate("Exec", (e) => e.payload = structuredClone(VALID_EVENTS.Open.payload)),
    "payload.argv",
  ],
  [
    "Exec payload under Open",
    mutate("Open", (e) => e.payload = structuredClone(VALID_EVENTS.Exec.payload)),
    "payload.flags",
  ],
  ["Open with both fd and errno", mutate("Open", (e) => payloadOf(e).errno = 2), "payload.fd"],
  ["Open with neither fd nor errno", mutate("Open", (e) => delete payloadOf(e).fd), "payload.fd"],
  [
    "Open flag that is not a flag name",
    mutate("Open", (e) => payloadOf(e).flags = ["rw"]),
    "payload.flags.0",
  ],
  ["Open mode out of range", mutate("Open", (e) => payloadOf(e).mode = 0o17777), "payload.mode"],
  ["Connect port over 65535", mutate("Connect", (e) => payloadOf(e).port = 70000), "payload.port"],
  [
    "Connect AF_INET6 without port",
    mutate("Connect", (e) => delete payloadOf(e).port),
    "payload.port",
  ],
  [
    "Connect family not AF_",
    mutate("Connect", (e) => payloadOf(e).family = "inet"),
    "payload.family",
  ],
  [
    "Deny with unknown action",
    mutate("Deny", (e) => payloadOf(e).action = "Read"),
    "payload.action",
  ],
  [
    "Deny enforced as a string",
    mutate("Deny", (e) => payloadOf(e).enforced = "yes"),
    "payload.enforced",
  ],
  [
    "Exit with both exit_code and signal",
    mutate("Exit", (e) => payloadOf(e).signal = 9),
    "payload.exit_code",
  ],
  ["Exit exit_code 256", mutate("Exit", (e) => payloadOf(e).exit_code = 256), "payload.exit_code"],
  [
    // JSON.parse makes `__proto__` an own key; zod's record would drop it from what it checked.
    "a __proto__ key in an Exec probe",
    mutate("Exec", (e) => payloadOf(e).probe = JSON.parse('{"__proto__":{"x":1},"kernel":"6.1"}')),
    "payload.probe",
  ],
  [
    "Exit negative duration",
    mutate("Exit", (e) => payloadOf(e).duration_ms = -1),
    "payload.duration_ms",
  ],
];

for (const [name, value, path] of INVALID) {
  Deno.test(`an event with ${name} is rejected at "${path}"`, () => {
    const result = validateEvent(value);
    assert(!result.ok, "expected the event to be rejected");
    const paths = result.issues.map((issue) => issue.path);
    assert(
      paths.includes(path),
      `expected an issue at "${path}", got ${JSON.stringify(result.issues)}`,
    );
  });
}

Deno.test("the table of invalid events covers at least 25 cases", () => {
  assert(INVALID.length >= 25);
});
