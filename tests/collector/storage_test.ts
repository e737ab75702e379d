import assert from "node:assert/strict";
import { startTestCollector, type StoredLine } from "../support/collector.ts";
import { execEvent, listDir, send, toLines, writeAll } from "./helpers.ts";

const seqs = (events: StoredLine[]) => events.map((event) => event.session_seq);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

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

Deno.test("events of many concurrent producers all land, each session numbered 0..n-1 without gaps", async () => {
  await using collector = await startTestCollector();
  const producers = 24;
  const perProducer = 250;
  const sessions = ["alpha", "beta", "gamma"];
  await Promise.all(
    range(producers).map((p) => {
      const events = range(perProducer).map((i) => execEvent(sessions[p % 3], i, 1000 + p));
      return send(collector.socket, toLines(events));
    }),
  );

  for (const session of sessions) {
    const expected = (producers / 3) * perProducer;
    const events = await collector.waitForEvents(session, (e) => e.length >= expected);
    assert.equal(events.length, expected);
    assert.deepEqual(seqs(events), range(expected));
  }
});

Deno.test("events from one connection keep their order in the session file", async () => {
  await using collector = await startTestCollector();
  const connections = 6;
  const perConnection = 2000;
  await Promise.all(
    range(connections).map((c) => {
      const events = range(perConnection).map((i) => execEvent("ordered", i, 2000 + c));
      return send(collector.socket, toLines(events));
    }),
  );

  const events = await collector.waitForEvents(
    "ordered",
    (e) => e.length >= connections * perConnection,
  );
  for (let c = 0; c < connections; c++) {
    const pid = 2000 + c;
    const fromConnection = events.filter((event) => (event.process as { pid: number }).pid === pid);
    assert.deepEqual(fromConnection.map((event) => event.seq), range(perConnection));
  }
});

Deno.test("1000 concurrent connections are served and every event is stored", async () => {
  await using collector = await startTestCollector();
  const conns = await Promise.all(
    range(1000).map(() => Deno.connect({ transport: "unix", path: collector.socket })),
  );
  await Promise.all(conns.map((conn, i) => writeAll(conn, toLines([execEvent("crowd", i)]))));

  const events = await collector.waitForEvents("crowd", (e) => e.length >= 1000);
  for (const conn of conns) conn.close();
  assert.deepEqual(
    events.map((event) => event.seq).sort((a, b) => Number(a) - Number(b)),
    range(1000),
  );
});

Deno.test("10,000 distinct sessions in one run each get their file while at most 256 stay open", async () => {
  await using collector = await startTestCollector({ settings: { statsIntervalMs: 100 } });
  const sessions = range(10_000).map((i) => `many-${i}`);
  const conn = await Deno.connect({ transport: "unix", path: collector.socket });
  await writeAll(conn, toLines(sessions.map((session) => execEvent(session, 0))));
  conn.close();
  await collector.waitForEvents("many-9999", (e) => e.length === 1, 60_000);
  assert.equal(await collector.stop(), 0);

  const names = await listDir(collector.logDir);
  assert.equal(names.filter((name) => name.startsWith("session-")).length, 10_000);
  for (const session of ["many-0", "many-4999", "many-9999"]) {
    assert.deepEqual(seqs(await collector.readSession(session)), [0]);
  }
  const summary = JSON.parse(
    collector.stderrText().split("\n").find((line) => line.includes('"summary"')) ?? "{}",
  );
  assert.equal(summary.events, 10_000);
  const stats = collector.stderrText().split("\n").filter((line) => line.includes('"stats"'));
  assert.ok(stats.length > 0, "expected stats lines while busy");
  for (const line of stats) assert.ok(JSON.parse(line).openFiles <= 256);
});

Deno.test("duplicate keys cannot smuggle a second value past validation into the stored line", async () => {
  await using collector = await startTestCollector();
  const valid = JSON.stringify(execEvent("dupes", 0));
  const smuggled = valid.replace('"source":"Shim"', '"source":"Collector","source":"Shim"');
  await send(collector.socket, `${smuggled}\n`);

  await collector.waitForEvents("dupes", (e) => e.length === 1);
  const text = await Deno.readTextFile(`${collector.logDir}/session-dupes.jsonl`);
  assert.equal(text.match(/"source"/g)?.length, 1);
  assert.ok(!text.includes("Collector"));
});

Deno.test("records spanning many write batches per session (reused buffers) are stored intact, in order", async () => {
  await using collector = await startTestCollector();
  const sessions = ["batch-a", "batch-b", "batch-c"];
  const perSession = 9000;
  // Distinct, varied lengths (the path grows and shrinks), so a stale byte of an earlier batch
  // left in a reused buffer would show as a changed or unparsable line.
  const sent = sessions.map((session) =>
    range(perSession).map((i) => {
      const event = execEvent(session, i);
      (event.payload as { path: string }).path = `/bin/${"x".repeat(i % 97)}-${i}`;
      return event;
    })
  );
  for (let i = 0; i < perSession; i += 1000) {
    await Promise.all(
      sent.map((events) => send(collector.socket, toLines(events.slice(i, i + 1000)))),
    );
  }

  for (const [index, session] of sessions.entries()) {
    const stored = await collector.waitForEvents(session, (e) => e.length >= perSession);
    assert.deepEqual(seqs(stored), range(perSession));
    const producerFields = stored.map(({ received_at: _r, session_seq: _s, ...rest }) => rest);
    assert.deepEqual(producerFields, sent[index]);
  }
  // More than 1 MiB per session: several batches each, so batch buffers were reused.
  assert.ok(toLines(sent[0]).length > 3 * 1024 * 1024);
});
