import assert from "node:assert/strict";
import { startTestCollector, type TestCollector } from "../support/collector.ts";
import { execEvent, send, toLines } from "./helpers.ts";

/** Sends `count` events one at a time, each after the previous one is on disk. */
async function trickle(collector: TestCollector, session: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await send(collector.socket, toLines([execEvent(session, i)]));
    await collector.waitForEvents(session, (e) => e.length === i + 1);
  }
}

async function summaryOf(collector: TestCollector): Promise<Record<string, number>> {
  assert.equal(await collector.stop(), 0);
  return JSON.parse(await collector.waitForLog(/"kind":"summary"/));
}

Deno.test("with fsyncIntervalMs 0 every written batch is fsynced", async () => {
  await using collector = await startTestCollector({ settings: { fsyncIntervalMs: 0 } });
  await trickle(collector, "sync-each", 8);

  const summary = await summaryOf(collector);
  assert.equal(summary.batches, 8);
  assert.ok(summary.fsyncs >= 8, `fsyncs ${summary.fsyncs} < batches 8`);
});

Deno.test("with the default interval, batches are fsynced about once a second, not each", async () => {
  await using collector = await startTestCollector();
  const started = Date.now();
  await trickle(collector, "sync-periodic", 30);
  const seconds = (Date.now() - started) / 1000;

  const summary = await summaryOf(collector);
  assert.equal(summary.batches, 30);
  // One fsync per elapsed second, one right away (the first write after a quiet time), one at
  // exit; far fewer than one per batch.
  assert.ok(summary.fsyncs <= Math.ceil(seconds) + 2, `${summary.fsyncs} fsyncs in ${seconds} s`);
});

Deno.test("data written after an fsync is fsynced within the interval without further traffic", async () => {
  await using collector = await startTestCollector({
    settings: { fsyncIntervalMs: 500, statsIntervalMs: 50 },
  });
  await trickle(collector, "sync-later", 2); // the first is synced at once, the second waits
  const written = Date.now();

  const deadline = written + 3000;
  let fsyncs = 0;
  while (fsyncs < 2) {
    assert.ok(Date.now() < deadline, `not fsynced in time:\n${collector.stderrText()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    const stats = collector.stderrText().split("\n").filter((l) => l.includes('"kind":"stats"'));
    fsyncs = Math.max(0, ...stats.map((line) => JSON.parse(line).fsyncs));
  }
  assert.ok(Date.now() - written < 1500);
});
