/**
 * Event timestamps are the wall-clock time of the call: the shim formats the date and time of a
 * second once and reuses it for the next events of that second (shim/src/event.zig), so events
 * on both sides of second boundaries must still carry their own time.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startTestCollector } from "../support/collector.ts";
import { eventsOf, payloadOf, runUnderShim, waitForShimEvents } from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";

/** Nanoseconds since the epoch of an RFC 3339 UTC timestamp with nine fraction digits. */
function nanosOf(timestamp: string): bigint {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{9})Z$/.exec(timestamp);
  if (!match) throw new Error(`not an RFC 3339 timestamp with nanoseconds: ${timestamp}`);
  return BigInt(Date.parse(`${match[1]}Z`)) * 1_000_000n + BigInt(match[2]);
}

Deno.test("each Open event carries the wall-clock time of its open, across second boundaries", async () => {
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-timestamps-");
  const dir = temp.path;
  // About 1.6 s of opens, 20 ms apart: at least one second boundary falls between them. Each
  // open is bracketed by the clock read before and after it.
  const script = [
    "import json, os, sys, time",
    "d = sys.argv[1]",
    "spans = []",
    "end = time.time() + 1.6",
    "i = 0",
    "while time.time() < end:",
    "    path = os.path.join(d, 'f%d' % i)",
    "    before = time.time_ns()",
    "    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)",
    "    after = time.time_ns()",
    "    os.close(fd)",
    "    spans.append([path, before, after])",
    "    i += 1",
    "    time.sleep(0.02)",
    "print(json.dumps(spans))",
  ].join("\n");
  const result = await runUnderShim(["python3", "-c", script, dir], {
    socket: collector.socket,
    session: "timestamps",
  });
  assertEquals(result.code, 0, result.stderr);
  const spans = JSON.parse(result.stdout) as [string, number, number][];
  const last = spans[spans.length - 1][0];
  const events = await waitForShimEvents(
    collector,
    "timestamps",
    (e) => eventsOf(e, "Open").some((x) => payloadOf(x).path === last),
  );
  const seconds = new Set<bigint>();
  for (const [path, before, after] of spans) {
    const event = eventsOf(events, "Open").find((x) => payloadOf(x).path === path);
    assert(event, `no Open event for ${path}`);
    const at = nanosOf(event.timestamp as string);
    // time.time_ns() reads the same CLOCK_REALTIME as the shim: no slack is needed.
    assert(
      BigInt(before) <= at && at <= BigInt(after),
      `${path}: ${event.timestamp} outside [${before}, ${after}]`,
    );
    seconds.add(at / 1_000_000_000n);
  }
  assert(seconds.size >= 2, "the opens did not span a second boundary");
});
