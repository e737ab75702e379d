import assert from "node:assert/strict";
import { startTestCollector } from "../support/collector.ts";
import { execEvent, send, toLines } from "./helpers.ts";

Deno.test("an event written to the socket is stored in session-<id>.jsonl with the collector's fields", async () => {
  await using collector = await startTestCollector();
  const event = execEvent("plan-test-1", 0);
  await send(collector.socket, toLines([event]));

  const [stored] = await collector.waitForEvents("plan-test-1", (events) => events.length === 1);

  const { received_at: receivedAt, session_seq: sessionSeq, ...producerFields } = stored;
  assert.deepEqual(producerFields, event);
  assert.equal(sessionSeq, 0);
  assert.match(String(receivedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(String(receivedAt)) - Date.now()) < 60_000);
});

Deno.test("stop() after SIGTERM returns exit code 0 and removes the socket", async () => {
  await using collector = await startTestCollector();
  assert.equal(await collector.stop(), 0);
  await assert.rejects(Deno.lstat(collector.socket), Deno.errors.NotFound);
});
