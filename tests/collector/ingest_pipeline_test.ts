/**
 * The ingest worker and the pipeline that feeds it: what the worker accepts and what it hands
 * back, order across jobs and connections, and that a failing or silent worker loses nothing.
 */
import assert from "node:assert/strict";
import { storedRecord } from "../../collector/fast_ingest.ts";
import { IngestPipeline, type IngestSink } from "../../collector/ingest_pipeline.ts";
import {
  ITEM_FIELDS,
  KIND_UNDECIDED_RAW,
  KIND_UNDECIDED_TEXT,
  processJob,
} from "../../collector/ingest_worker.ts";
import { execEvent } from "./helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const RECEIVED_MS = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const RECEIVED_AT = "2026-01-02T03:04:05.678Z";
const CRASHING_WORKER = new URL("./fixtures/crashing_ingest_worker.ts", import.meta.url);

/** A sink that records every call, as text, in order. */
function recordingSink(): { sink: IngestSink; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    sink: {
      accepted: (session, record) => calls.push(`accepted ${session} ${decoder.decode(record)}`),
      undecided: (line, connection, ms) =>
        calls.push(`undecided c${connection} ${ms} ${decoder.decode(line)}`),
      inProcess: (run, connection, ms) =>
        calls.push(`inProcess c${connection} ${ms} ${decoder.decode(run)}`),
    },
  };
}

/** A pipeline whose worker crashes on a `CRASH` line and never answers a `HANG` line. */
function faultyPipeline(
  options: { stallMs?: number; inlineJobBytes?: number } = {},
): { pipeline: IngestPipeline; calls: string[]; logged: string[] } & Disposable {
  const { sink, calls } = recordingSink();
  const logged: string[] = [];
  const pipeline = new IngestPipeline({
    sink,
    log: (message) => logged.push(message),
    worker: { url: CRASHING_WORKER },
    maxInFlightBytes: 1 << 20,
    inlineJobBytes: options.inlineJobBytes ?? 0,
    stallMs: options.stallMs,
  });
  return { pipeline, calls, logged, [Symbol.dispose]: () => pipeline.close() };
}

function line(value: unknown): string {
  return JSON.stringify(value);
}

function stored(value: unknown): string {
  return storedRecord(value, RECEIVED_AT);
}

Deno.test("the worker stores valid events and hands back every other line as received, in order", () => {
  const valid = execEvent("s1", 0);
  const other = execEvent("s2", 1);
  const job = encoder.encode(`${line(valid)}\n{"v":\n[1]\n${line(other)}\n`);
  const result = processJob({
    id: 7,
    bytes: job,
    runs: new Float64Array([job.length, RECEIVED_MS]),
  });

  assert.equal(result.id, 7);
  assert.deepEqual(result.sessions, ["s1", "s2"]);
  const items = [...result.items];
  assert.deepEqual(items.filter((_, i) => i % ITEM_FIELDS === 0), [
    0,
    KIND_UNDECIDED_TEXT,
    KIND_UNDECIDED_TEXT,
    1,
  ]);
  const text = (i: number) =>
    decoder.decode(result.out.subarray(items[i * ITEM_FIELDS + 1], items[i * ITEM_FIELDS + 2]));
  assert.deepEqual([0, 1, 2, 3].map(text), [stored(valid), '{"v":', "[1]", stored(other)]);
});

Deno.test("the worker gives byte offsets when records hold non-ASCII text", () => {
  const event = execEvent("s1", 0);
  event.payload = { ...event.payload, cwd: "/home/zoë/données" } as typeof event.payload;
  const after = execEvent("s1", 1);
  const job = encoder.encode(`${line(event)}\n${line(after)}\n`);
  const result = processJob({
    id: 1,
    bytes: job,
    runs: new Float64Array([job.length, RECEIVED_MS]),
  });

  const records = [0, 1].map((i) =>
    decoder.decode(result.out.subarray(result.items[i * 4 + 1], result.items[i * 4 + 2]))
  );
  assert.deepEqual(records, [stored(event), stored(after)]);
});

Deno.test("the worker stores every record of a job larger than its decoding pieces, in order", () => {
  const events = Array.from({ length: 600 }, (_, i) => {
    const event = execEvent(`s${i % 3}`, i);
    if (i % 7 === 0) {
      event.payload = { ...event.payload, cwd: `/home/zoë/${i}` } as typeof event.payload;
    }
    return event;
  });
  const job = encoder.encode(events.map((event) => `${line(event)}\n`).join("") + "{bad\n");
  assert.ok(job.length > 3 * 64 * 1024);
  const result = processJob({
    id: 1,
    bytes: job,
    runs: new Float64Array([job.length, RECEIVED_MS]),
  });

  const texts = [];
  for (let i = 0; i < result.items.length; i += ITEM_FIELDS) {
    const record = decoder.decode(result.out.subarray(result.items[i + 1], result.items[i + 2]));
    texts.push(result.items[i] >= 0 ? `${result.sessions[result.items[i]]} ${record}` : record);
  }
  assert.deepEqual(texts, [
    ...events.map((event) => `${event.metadata.session_id} ${stored(event)}`),
    "{bad",
  ]);
});

Deno.test("the worker sets aside a line that is not UTF-8 and still stores the lines around it", () => {
  const before = execEvent("s1", 0);
  const after = execEvent("s1", 1);
  const bad = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
  const job = new Uint8Array([
    ...encoder.encode(`${line(before)}\n`),
    ...bad,
    0x0a,
    ...encoder.encode(`${line(after)}\n`),
  ]);
  const result = processJob({
    id: 1,
    bytes: job,
    runs: new Float64Array([job.length, RECEIVED_MS]),
  });

  assert.deepEqual([...result.items].filter((_, i) => i % 4 === 0), [0, KIND_UNDECIDED_RAW, 0]);
  assert.deepEqual(result.raws, [bad]);
  const last = decoder.decode(result.out.subarray(result.items[9], result.items[10]));
  assert.equal(last, stored(after));
});

Deno.test("the worker stores a valid event that holds U+FFFD itself (not a decoding error)", () => {
  const event = execEvent("s1", 0);
  event.payload = { ...event.payload, cwd: "/tmp/\uFFFD" } as typeof event.payload;
  const job = encoder.encode(`${line(event)}\n`);
  const result = processJob({
    id: 1,
    bytes: job,
    runs: new Float64Array([job.length, RECEIVED_MS]),
  });

  assert.equal(result.items[0], 0);
  const record = decoder.decode(result.out.subarray(result.items[1], result.items[2]));
  assert.equal(record, stored(event));
});

Deno.test("the worker stamps each run with its own receive time", () => {
  const first = execEvent("s1", 0);
  const second = execEvent("s1", 1);
  const bytes = encoder.encode(`${line(first)}\n${line(second)}\n`);
  const firstEnd = line(first).length + 1;
  const result = processJob({
    id: 1,
    bytes,
    runs: new Float64Array([firstEnd, RECEIVED_MS, bytes.length, RECEIVED_MS + 1]),
  });

  assert.deepEqual([result.items[3], result.items[7]], [0, 1]);
  const record = decoder.decode(result.out.subarray(result.items[5], result.items[6]));
  assert.equal(record, storedRecord(second, "2026-01-02T03:04:05.679Z"));
});

Deno.test("the pipeline delivers lines of several connections in the order they were added", async () => {
  const { sink, calls } = recordingSink();
  const pipeline = new IngestPipeline({
    sink,
    log: () => {},
    worker: {},
    maxInFlightBytes: 1 << 20,
    inlineJobBytes: 0,
  });
  try {
    const events = Array.from({ length: 6 }, (_, i) => execEvent(`s${i % 2}`, i));
    pipeline.add(encoder.encode(`${line(events[0])}\n${line(events[1])}`), 1, RECEIVED_MS);
    pipeline.add(encoder.encode("not json"), 2, RECEIVED_MS + 5);
    pipeline.add(encoder.encode(line(events[2])), 2, RECEIVED_MS);
    await pipeline.drain(10_000);
    pipeline.add(encoder.encode(`${line(events[3])}\n${line(events[4])}`), 1, RECEIVED_MS);
    await pipeline.drain(10_000);

    assert.ok(pipeline.usesWorker);
    assert.deepEqual(calls, [
      `accepted s0 ${stored(events[0])}`,
      `accepted s1 ${stored(events[1])}`,
      `undecided c2 ${RECEIVED_MS + 5} not json`,
      `accepted s0 ${stored(events[2])}`,
      `accepted s1 ${stored(events[3])}`,
      `accepted s0 ${stored(events[4])}`,
    ]);
  } finally {
    pipeline.close();
  }
});

Deno.test("with two workers, results come out in the order the jobs went in", async () => {
  const { sink, calls } = recordingSink();
  const pipeline = new IngestPipeline({
    sink,
    log: () => {},
    worker: { count: 2 },
    maxInFlightBytes: 1 << 20,
    inlineJobBytes: 0,
  });
  try {
    // A job per turn of the event loop; jobs alternate between the workers, and the first ones
    // are large, so the second worker tends to finish its smaller jobs first.
    const expected: string[] = [];
    for (let job = 0; job < 12; job++) {
      const events = Array.from(
        { length: job < 4 ? 200 : 1 },
        (_, i) => execEvent("s1", job * 1000 + i),
      );
      pipeline.add(encoder.encode(events.map(line).join("\n")), job % 3, RECEIVED_MS);
      expected.push(...events.map((event) => `accepted s1 ${stored(event)}`));
      await Promise.resolve();
    }
    await pipeline.drain(10_000);

    assert.equal(calls.length, expected.length);
    assert.deepEqual(calls, expected);
  } finally {
    pipeline.close();
  }
});

Deno.test("a worker that crashes loses no line: the main thread takes its unanswered job, in order", async () => {
  using fixture = faultyPipeline();
  const { pipeline, calls, logged } = fixture;
  const [a, b] = [execEvent("s1", 0), execEvent("s1", 1)];
  pipeline.add(encoder.encode(line(a)), 1, RECEIVED_MS);
  await pipeline.drain(10_000);
  pipeline.add(encoder.encode("CRASH"), 2, RECEIVED_MS);
  pipeline.add(encoder.encode(line(b)), 1, RECEIVED_MS);
  await pipeline.drain(10_000);

  assert.deepEqual(calls, [
    `accepted s1 ${stored(a)}`,
    `inProcess c2 ${RECEIVED_MS} CRASH`,
    `inProcess c1 ${RECEIVED_MS} ${line(b)}`,
  ]);
  assert.ok(logged.some((message) => /ingest worker failed.*injected crash/.test(message)));
});

Deno.test("a small job with nothing in flight is processed on the main thread, not by a worker", async () => {
  // The worker would crash on CRASH: a job that never reaches it leaves no failure behind.
  using fixture = faultyPipeline({ inlineJobBytes: 1024 });
  const { pipeline, calls, logged } = fixture;
  const event = execEvent("s1", 0);
  pipeline.add(encoder.encode(`CRASH\n${line(event)}`), 1, RECEIVED_MS);
  await pipeline.drain(10_000);

  assert.deepEqual(calls, [
    `undecided c1 ${RECEIVED_MS} CRASH`,
    `accepted s1 ${stored(event)}`,
  ]);
  assert.deepEqual(logged.filter((message) => /failed/.test(message)), []);
  assert.ok(pipeline.usesWorker);
});

Deno.test("a job larger than the inline limit goes to a worker", async () => {
  using fixture = faultyPipeline({ inlineJobBytes: 4 });
  const { pipeline, calls, logged } = fixture;
  pipeline.add(encoder.encode("CRASH"), 1, RECEIVED_MS);
  await pipeline.drain(10_000);

  assert.deepEqual(calls, [`inProcess c1 ${RECEIVED_MS} CRASH`]);
  assert.ok(logged.some((message) => /ingest worker failed.*injected crash/.test(message)));
});

Deno.test("after a crash the pipeline starts a new worker for the next lines", async () => {
  using fixture = faultyPipeline();
  const { pipeline, calls } = fixture;
  pipeline.add(encoder.encode("CRASH"), 1, RECEIVED_MS);
  await pipeline.drain(10_000);
  const event = execEvent("s1", 0);
  pipeline.add(encoder.encode(line(event)), 1, RECEIVED_MS);
  await pipeline.drain(10_000);

  assert.ok(pipeline.usesWorker);
  assert.deepEqual(calls, [`inProcess c1 ${RECEIVED_MS} CRASH`, `accepted s1 ${stored(event)}`]);
});

Deno.test("a worker that does not answer is bypassed when the drain times out", async () => {
  using fixture = faultyPipeline();
  const { pipeline, calls, logged } = fixture;
  pipeline.add(encoder.encode("HANG"), 3, RECEIVED_MS);
  await pipeline.drain(300);

  assert.deepEqual(calls, [`inProcess c3 ${RECEIVED_MS} HANG`]);
  assert.ok(logged.some((message) => /did not answer in time/.test(message)));
});

Deno.test("a worker that stops answering while serving is bypassed after the stall time", async () => {
  using fixture = faultyPipeline({ stallMs: 200 });
  const { pipeline, calls, logged } = fixture;
  pipeline.add(encoder.encode("HANG"), 3, RECEIVED_MS);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const giveUp = new Promise((resolve) => (timer = setTimeout(resolve, 3000)));
  await Promise.race([pipeline.whenProgress(), giveUp]);
  clearTimeout(timer);
  assert.deepEqual(calls, [`inProcess c3 ${RECEIVED_MS} HANG`]);
  assert.ok(logged.some((message) => /did not answer job \d+ for \d+ ms/.test(message)));
});

Deno.test("a wait for progress while nothing is in flight leaves no waiter behind", async () => {
  // The collector's paused readers race this wait against the writer's rounds, once per round:
  // with nothing in flight (the writer is the bottleneck) every kept waiter would be a leak.
  // Measured in a child with an exposed garbage collector: how many of 100 such waits survive.
  const pipelineUrl = new URL("../../collector/ingest_pipeline.ts", import.meta.url).href;
  const code = `import { IngestPipeline } from ${JSON.stringify(pipelineUrl)};
const pipeline = new IngestPipeline({
  sink: { accepted() {}, undecided() {}, inProcess() {} },
  log: () => {},
  worker: undefined,
  maxInFlightBytes: 1 << 20,
    inlineJobBytes: 0,
});
const refs = [];
async function waitOnce() {
  const progress = pipeline.whenProgress();
  refs.push(new WeakRef(progress));
  await Promise.race([progress, Promise.resolve()]);
}
for (let i = 0; i < 100; i++) await waitOnce();
for (let k = 0; k < 3; k++) {
  await new Promise((resolve) => setTimeout(resolve, 0));
  globalThis.gc();
}
console.log(refs.filter((ref) => ref.deref() !== undefined).length);
pipeline.close();`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  assert.equal(decoder.decode(out.stdout).trim(), "0");
});

Deno.test("the pipeline is full while the worker holds the in-flight limit, and not after", async () => {
  const { sink } = recordingSink();
  const pipeline = new IngestPipeline({
    sink,
    log: () => {},
    worker: {},
    maxInFlightBytes: 1000,
    inlineJobBytes: 0,
  });
  try {
    pipeline.add(encoder.encode(line(execEvent("s1", 0)).padEnd(1200, " ")), 1, 0);
    await Promise.resolve(); // the job goes out at the end of the turn
    assert.ok(pipeline.full);
    while (pipeline.full) await pipeline.whenProgress();
    assert.equal(pipeline.inFlightBytes, 0);
  } finally {
    pipeline.close();
  }
});
