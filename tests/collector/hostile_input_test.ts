import assert from "node:assert/strict";
import { join } from "node:path";
import { startTestCollector, type TestCollector } from "../support/collector.ts";
import { execEvent, listDir, send, toLines, waitForRejects, writeAll } from "./helpers.ts";

const encoder = new TextEncoder();

/** Milliseconds from sending one valid event of session `sessionId` until it is stored. */
async function msToLand(collector: TestCollector, sessionId: string): Promise<number> {
  const started = Date.now();
  await send(collector.socket, toLines([execEvent(sessionId, 0)]));
  await collector.waitForEvents(sessionId, (e) => e.length === 1);
  return Date.now() - started;
}

function withField(path: string[], value: unknown): string {
  const event = structuredClone(execEvent("hostile", 0)) as unknown as Record<string, unknown>;
  let target = event;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[path[path.length - 1]] = value;
  return JSON.stringify(event);
}

const BAD_LINES: Array<{ name: string; line: Uint8Array | string; reason: string; path: string }> =
  [
    { name: "invalid JSON", line: '{"v":1,', reason: "invalid_json", path: "" },
    {
      name: "invalid UTF-8",
      line: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      reason: "invalid_utf8",
      path: "",
    },
    { name: "a JSON array", line: "[1,2,3]", reason: "not_object", path: "" },
    { name: "a JSON string", line: '"hello"', reason: "not_object", path: "" },
    { name: "null", line: "null", reason: "not_object", path: "" },
    {
      name: "a missing field",
      line: JSON.stringify({ ...execEvent("hostile", 0), seq: undefined }),
      reason: "schema_violation",
      path: "seq",
    },
    {
      name: "an unknown top-level field",
      line: withField(["extra"], 1),
      reason: "schema_violation",
      path: "",
    },
    {
      name: "an Exec event carrying an Open payload",
      line: withField(["payload"], { call: "open", path: "/x", flags: ["O_RDONLY"], fd: 3 }),
      reason: "payload_mismatch",
      path: "payload.argv",
    },
    {
      // zod's record drops the key: storing the event would keep a key validation never saw.
      name: "an Exec probe with a __proto__ key",
      line: JSON.stringify(execEvent("hostile", 0)).replace(
        '"cwd"',
        '"probe":{"__proto__":{"x":1}},"cwd"',
      ),
      reason: "payload_mismatch",
      path: "payload.probe",
    },
    {
      name: "source Collector (spoofing the collector)",
      line: withField(["source"], "Collector"),
      reason: "source_spoofing",
      path: "source",
    },
  ];

for (const bad of BAD_LINES) {
  Deno.test(`${bad.name} is rejected as ${bad.reason} with a record in rejected.jsonl`, async () => {
    await using collector = await startTestCollector();
    const line = typeof bad.line === "string" ? encoder.encode(bad.line) : bad.line;
    await send(collector.socket, new Uint8Array([...line, 0x0a]));

    const [record] = await waitForRejects(collector, 1);
    assert.equal(record.reason, bad.reason);
    assert.equal(record.path, bad.path);
    assert.equal(record.source, "Collector");
    assert.equal(record.bytes, line.length);
    assert.equal(typeof record.sample, "string");
    assert.deepEqual(await listDir(collector.logDir), [".collector.lock", "rejected.jsonl"]);
  });
}

const BAD_SESSION_IDS = ["../x", "..", ".", "a/b", "", "a\u0000b", "x".repeat(300), "sé", "/abs"];

Deno.test("session ids that fail the protocol pattern never create or touch a file", async () => {
  await using collector = await startTestCollector();
  const lines = BAD_SESSION_IDS.map((id) => withField(["metadata", "session_id"], id));
  await send(collector.socket, lines.join("\n") + "\n");

  const records = await waitForRejects(collector, BAD_SESSION_IDS.length);
  assert.deepEqual(records.map((r) => r.reason), BAD_SESSION_IDS.map(() => "bad_session_id"));
  assert.deepEqual(records.map((r) => r.path), BAD_SESSION_IDS.map(() => "metadata.session_id"));
  assert.deepEqual(await listDir(collector.logDir), [".collector.lock", "rejected.jsonl"]);
  const parent = join(collector.logDir, "..");
  assert.deepEqual(await listDir(parent), ["audit.sock", "logs"]);
});

Deno.test("the reject sample keeps at most 512 bytes, escaping control and non-ASCII bytes", async () => {
  await using collector = await startTestCollector();
  const line = new Uint8Array([0x01, 0x5c, 0xc3, 0xa9, ...encoder.encode("z".repeat(2000))]);
  await send(collector.socket, new Uint8Array([...line, 0x0a]));

  const [record] = await waitForRejects(collector, 1);
  assert.equal(record.reason, "invalid_json");
  assert.equal(record.bytes, line.length);
  assert.equal(record.sample, "\\x01\\\\\\xc3\\xa9" + "z".repeat(508));
});

Deno.test("an overlong line is discarded up to its newline and the same connection stays usable", async () => {
  await using collector = await startTestCollector({ settings: { maxLineBytes: 4096 } });
  const conn = await Deno.connect({ transport: "unix", path: collector.socket });
  await writeAll(conn, toLines([execEvent("after-long", 0)]));
  await writeAll(conn, "x".repeat(10_000));
  await writeAll(conn, "y".repeat(10_000) + "\n");
  await writeAll(conn, toLines([execEvent("after-long", 1)]));

  const events = await collector.waitForEvents("after-long", (e) => e.length === 2);
  conn.close();
  assert.deepEqual(events.map((e) => e.seq), [0, 1]);
  const [record] = await waitForRejects(collector, 1);
  assert.equal(record.reason, "overlong_line");
});

Deno.test("1e6 nested brackets are rejected as too_deep while another connection keeps flowing", async () => {
  await using collector = await startTestCollector();
  const hostile = await Deno.connect({ transport: "unix", path: collector.socket });
  const flood = (async () => {
    for (let i = 0; i < 8; i++) await writeAll(hostile, "[".repeat(1_000_000) + "\n");
    hostile.close();
  })();
  await waitForRejects(collector, 1);

  const latency = await msToLand(collector, "meanwhile");
  await flood;

  const records = await waitForRejects(collector, 8);
  assert.deepEqual(records.map((r) => r.reason), Array(8).fill("too_deep"));
  assert.ok(latency < 1000, `a valid event took ${latency} ms to land`);
});

Deno.test("huge valid events near the line limit are stored while another connection keeps flowing", async () => {
  await using collector = await startTestCollector();
  const huge = execEvent("huge", 0);
  huge.payload = { ...huge.payload, argv: Array.from({ length: 100_000 }, (_, i) => `ar${i}`) };
  const line = JSON.stringify(huge);
  assert.ok(line.length > 900_000 && line.length < 1024 * 1024);
  const big = await Deno.connect({ transport: "unix", path: collector.socket });
  const flood = (async () => {
    for (let i = 0; i < 10; i++) await writeAll(big, toLines([{ ...huge, seq: i }]));
    big.close();
  })();
  await collector.waitForEvents("huge", (e) => e.length >= 1, 20_000);

  const latency = await msToLand(collector, "beside-huge");
  await flood;

  const stored = await collector.waitForEvents("huge", (e) => e.length === 10, 20_000);
  assert.equal((stored[9].payload as { argv: string[] }).argv.length, 100_000);
  assert.ok(latency < 1000, `a small event took ${latency} ms to land beside huge ones`);
});

Deno.test("a partial line without progress is closed after the timeout; idle connections stay", async () => {
  await using collector = await startTestCollector({ settings: { partialLineTimeoutMs: 300 } });
  const stalled = await Deno.connect({ transport: "unix", path: collector.socket });
  const idle = await Deno.connect({ transport: "unix", path: collector.socket });
  await writeAll(stalled, '{"v":1,"timest');

  const closedAfter = Date.now();
  assert.equal(await stalled.read(new Uint8Array(16)), null, "the collector closed it");
  assert.ok(Date.now() - closedAfter >= 250);
  stalled.close();

  await writeAll(idle, toLines([execEvent("idle-ok", 0)]));
  await collector.waitForEvents("idle-ok", (e) => e.length === 1);
  idle.close();
  const [record] = await waitForRejects(collector, 1);
  assert.equal(record.reason, "partial_line_timeout");
  assert.equal(record.sample, '{"v":1,"timest');
});

Deno.test("half lines of all connections together cannot hold more memory than the buffer limit", async () => {
  await using collector = await startTestCollector({
    settings: { maxBufferBytes: 64 * 1024, maxLineBytes: 48 * 1024 },
  });
  const first = await Deno.connect({ transport: "unix", path: collector.socket });
  const second = await Deno.connect({ transport: "unix", path: collector.socket });
  await writeAll(first, "a".repeat(40 * 1024));
  await new Promise((resolve) => setTimeout(resolve, 100));
  await writeAll(second, "b".repeat(40 * 1024));

  const [record] = await waitForRejects(collector, 1);
  assert.equal(record.reason, "overlong_line");
  assert.match(String(record.message), /unfinished lines of all connections/);
  assert.ok(String(record.sample).startsWith("bbb"));
  await writeAll(second, "\n" + toLines([execEvent("budget", 0)]));
  await collector.waitForEvents("budget", (e) => e.length === 1);
  first.close();
  second.close();
});

/**
 * Opens and keeps the collector's 3 allowed connections (each has stored one "held" event), then
 * sends one "waiting" event on a fourth connection: the kernel completes that connect into the
 * listen backlog, where the collector does not take it yet. Returns the held connections.
 */
async function holdAllAndQueueOne(collector: TestCollector): Promise<Deno.UnixConn[]> {
  // The readiness probe of startTestCollector may still be open for a moment, longer while the
  // ingest workers start (they share the cores): let them start first.
  await collector.waitForLog(/ingest worker running/);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const held = await Promise.all(
    [0, 1, 2].map(() => Deno.connect({ transport: "unix", path: collector.socket })),
  );
  await Promise.all(held.map((conn, i) => writeAll(conn, toLines([execEvent("held", i)]))));
  await collector.waitForEvents("held", (e) => e.length === 3);
  const extra = await Deno.connect({ transport: "unix", path: collector.socket });
  await writeAll(extra, toLines([execEvent("waiting", 0)]));
  extra.close();
  return held;
}

Deno.test("a connection over the maximum waits until another closes, then its event is stored", async () => {
  await using collector = await startTestCollector({ settings: { maxConnections: 3 } });
  const held = await holdAllAndQueueOne(collector);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(await collector.readSession("waiting"), []);
  held[0].close();

  await collector.waitForEvents("waiting", (e) => e.length === 1);
  for (const conn of held.slice(1)) conn.close();
  assert.equal(await collector.stop(), 0);
  const summary = collector.stderrText().split("\n").find((l) => l.includes('"summary"'));
  assert.ok(JSON.parse(summary ?? "{}").connectionLimitWaits >= 1, summary);
});

Deno.test("on SIGTERM at the maximum, a connection waiting in the backlog is still stored", async () => {
  await using collector = await startTestCollector({ settings: { maxConnections: 3 } });
  const held = await holdAllAndQueueOne(collector);

  // The held connections stay open and idle: the drain closes them after its quiet period, and
  // only then can the accept loop take the one in the backlog.
  assert.equal(await collector.stop(), 0);
  for (const conn of held) conn.close();
  assert.equal((await collector.readSession("waiting")).length, 1);
});

Deno.test("a burst of one-shot connections far over the maximum loses no event", async () => {
  await using collector = await startTestCollector({ settings: { maxConnections: 4 } });
  await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const conn = await Deno.connect({ transport: "unix", path: collector.socket });
      await writeAll(conn, toLines([execEvent("burst", i)]));
      conn.close();
    }),
  );

  const stored = await collector.waitForEvents("burst", (e) => e.length >= 200);
  assert.equal(stored.length, 200);
});

Deno.test("reject records are rate-limited, with a suppressed count, while every reject is counted", async () => {
  await using collector = await startTestCollector({ settings: { rejectRecordsPerSecond: 10 } });
  await send(collector.socket, "not json\n".repeat(500));
  await send(collector.socket, toLines([execEvent("after-flood", 0)]));
  await collector.waitForEvents("after-flood", (e) => e.length === 1);
  await new Promise((resolve) => setTimeout(resolve, 1200));

  const records = await waitForRejects(collector, 11);
  assert.equal(records.filter((r) => r.reason === "invalid_json").length, 10);
  assert.deepEqual(records.filter((r) => r.reason === "suppressed").map((r) => r.count), [490]);
  assert.equal(await collector.stop(), 0);
  const summary = collector.stderrText().split("\n").find((l) => l.includes('"summary"'));
  assert.equal(JSON.parse(summary ?? "{}").rejects.invalid_json, 500);
});
