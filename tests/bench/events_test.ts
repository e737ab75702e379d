import assert from "node:assert/strict";
import { encodeForClients, generateEvents } from "../../bench/events.ts";
import { validateEvent } from "../../protocol/mod.ts";

Deno.test("every generated ingest event is valid protocol v1", () => {
  for (const event of generateEvents(5000)) {
    const result = validateEvent(JSON.parse(JSON.stringify(event)));
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
  }
});

Deno.test("generated events average about 470 bytes per line", () => {
  const buffers = encodeForClients(generateEvents(20_000), 1);
  const average = buffers[0].length / 20_000;
  assert.ok(average > 450 && average < 490, `average ${average} bytes`);
});

Deno.test("generated events spread over 8 sessions and mix every event type", () => {
  const events = generateEvents(2000);
  assert.equal(new Set(events.map((e) => e.metadata.session_id)).size, 8);
  assert.deepEqual(
    new Set(events.map((e) => e.event_type)),
    new Set(["Open", "Exec", "Connect", "Deny", "Exit"]),
  );
});

Deno.test("client buffers hold every event exactly once as whole lines", () => {
  const events = generateEvents(1001);
  const buffers = encodeForClients(events, 4);
  const lines = buffers.flatMap((buffer) =>
    new TextDecoder().decode(buffer).split("\n").filter(Boolean)
  );
  assert.equal(lines.length, 1001);
  assert.deepEqual(
    lines.map((line) => JSON.parse(line)).sort((a, b) =>
      a.seq - b.seq || a.metadata.session_id.localeCompare(b.metadata.session_id)
    ),
    [...events].sort((a, b) =>
      a.seq - b.seq || a.metadata.session_id.localeCompare(b.metadata.session_id)
    ),
  );
});
