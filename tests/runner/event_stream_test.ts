import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { RunnerEventStream } from "../../runner/mod.ts";
import { startTestCollector } from "../support/collector.ts";

const METADATA = { session_id: "stream", agent: "tester" };

function bigExec(): {
  event_type: "Exec";
  payload: { call: string; path: string; argv: string[]; env: string[]; cwd: string };
} {
  const env = Array.from({ length: 64 }, (_, index) => `V${index}=${"x".repeat(16_000)}`);
  return {
    event_type: "Exec",
    payload: { call: "run", path: "/bin/true", argv: ["true"], env, cwd: "/" },
  };
}

Deno.test("events get seq 0, 1, 2 and reach the collector as valid Runner events", async () => {
  await using collector = await startTestCollector();
  const stream = await RunnerEventStream.open(collector.socket, METADATA);
  try {
    for (let i = 0; i < 3; i++) {
      const sent = await stream.send({
        event_type: "Exit",
        payload: { pid: 100 + i, exit_code: i, duration_ms: 1 },
      });
      assertEquals(sent?.seq, i);
    }
  } finally {
    stream.close();
  }
  const events = await collector.waitForEvents("stream", (events) => events.length === 3);
  assertEquals(events.map((event) => [event.source, event.seq]), [["Runner", 0], ["Runner", 1], [
    "Runner",
    2,
  ]]);
  assertEquals(collector.stderrText().includes("reject"), false);
});

Deno.test("a collector that stops reading cannot hang the run: the event is dropped after the timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "runner-stalled-" });
  const listener = Deno.listen({ transport: "unix", path: `${dir}/stalled.sock` });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const connection of listener) held.push(connection);
  })();
  try {
    const stream = await RunnerEventStream.open(`${dir}/stalled.sock`, METADATA, {
      sendTimeoutMs: 200,
    });
    const started = performance.now();
    const results = [await stream.send(bigExec()), await stream.send(bigExec())];
    const elapsed = performance.now() - started;
    stream.close();
    assert(results.includes(null), "a send into a full, unread socket must give up");
    assert(stream.droppedTotal >= 1);
    assert(elapsed < 5000, `sends took ${elapsed} ms`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const connection of held) connection.close();
    await Deno.remove(dir, { recursive: true });
  }
});
