/**
 * The collector's validation fast path, end to end on a real socket: whatever the hand-written
 * check decides, what is stored and what is rejected is exactly what zod (validateEvent) decides,
 * and accepted events are stored in their re-serialized form.
 */
import assert from "node:assert/strict";
import { validateEvent } from "../../protocol/mod.ts";
import { startTestCollector } from "../support/collector.ts";
import { VALID_EVENTS } from "../protocol/fixtures.ts";
import { send, toLines } from "./helpers.ts";

type Json = Record<string, unknown>;

/** An event of `type` from the protocol fixtures, in session `sessionId`, with producer `seq`. */
function fixture(type: keyof typeof VALID_EVENTS, sessionId: string, seq: number): Json {
  const event = structuredClone(VALID_EVENTS[type]) as unknown as Json;
  (event.metadata as Json).session_id = sessionId;
  event.seq = seq;
  return event;
}

/** Changes to a payload or envelope field; some keep the event valid, most do not. */
const EDITS: Array<[type: keyof typeof VALID_EVENTS, path: string[], value: unknown]> = [
  ["Connect", ["payload", "port"], 65535],
  ["Connect", ["payload", "port"], 65536],
  ["Connect", ["payload", "port"], -0],
  ["Connect", ["payload", "port"], 1.5],
  ["Connect", ["payload", "family"], "AF_UNIX"],
  ["Connect", ["payload", "family"], "AF_unix"],
  ["Open", ["payload", "errno"], 2],
  ["Open", ["payload", "mode"], 0o7777],
  ["Open", ["payload", "mode"], 0o10000],
  ["Open", ["payload", "flags"], ["O_RDONLY", "o_bad"]],
  ["Exit", ["payload", "signal"], 9],
  ["Exit", ["payload", "duration_ms"], 0],
  ["Exit", ["payload", "duration_ms"], -1],
  ["Deny", ["payload", "errno"], 0],
  ["Deny", ["payload", "enforced"], "yes"],
  ["Exec", ["payload", "truncated"], true],
  ["Exec", ["payload", "truncated"], false],
  ["Exec", ["payload", "probe"], { kernel: "6.1", nested: [1, { a: null }] }],
  ["Exec", ["payload", "probe"], []],
  ["Exec", ["metadata", "agent"], "a\u001b[2Jb"],
  ["Exec", ["metadata", "agent"], "x".repeat(128)],
  ["Exec", ["process", "uid"], 2 ** 32 - 1],
  ["Exec", ["process", "uid"], 2 ** 32],
  ["Exec", ["timestamp"], "2025-12-01T23:59:60Z"],
  ["Exec", ["timestamp"], "2025-12-01T23:59:61Z"],
  ["Exec", ["dropped"], 0],
  ["Exec", ["extra"], 1],
];

Deno.test("lines are stored or rejected exactly as zod decides, in their order", async () => {
  await using collector = await startTestCollector();
  const events = EDITS.map(([type, path, value], i) => {
    const event = fixture(type, "fastpath", i);
    let target = event;
    for (const key of path.slice(0, -1)) target = target[key] as Json;
    target[path[path.length - 1]] = value;
    return event;
  });
  const expected = events.filter((event) => validateEvent(event).ok).map((event) => event.seq);
  assert(expected.length > 5 && expected.length < events.length, "both verdicts must occur");
  await send(collector.socket, toLines(events));
  assert.equal(await collector.stop(), 0);

  const stored = await collector.readSession("fastpath");
  assert.deepEqual(stored.map((event) => event.seq), expected);
  const summary = JSON.parse(
    collector.stderrText().split("\n").find((line) => line.includes('"summary"')) ?? "{}",
  );
  const rejects = Object.values(summary.rejects as Record<string, number>);
  assert.equal(rejects.reduce((sum, count) => sum + count, 0), events.length - expected.length);
});

Deno.test("an accepted event is stored as its re-serialized JSON plus received_at and session_seq", async () => {
  await using collector = await startTestCollector();
  const types = Object.keys(VALID_EVENTS) as Array<keyof typeof VALID_EVENTS>;
  const events = types.map((type, i) => fixture(type, "stored-form", i));
  // Whitespace and an escaped character: the stored line is the canonical form, not the raw text.
  const raw = JSON.stringify(events[0], null, 1).replaceAll("\n", " ").replace(
    "Shim",
    "\\u0053him",
  );
  await send(collector.socket, `${raw}\n${toLines(events.slice(1))}`);
  assert.equal(await collector.stop(), 0);

  const text = await Deno.readTextFile(`${collector.logDir}/session-stored-form.jsonl`);
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, events.length);
  for (const [i, line] of lines.entries()) {
    const receivedAt = (JSON.parse(line) as Json).received_at;
    const json = JSON.stringify(events[i]);
    assert.equal(line, `${json.slice(0, -1)},"received_at":"${receivedAt}","session_seq":${i}}`);
  }
});
