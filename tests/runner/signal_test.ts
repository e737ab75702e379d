import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startTestCollector } from "../support/collector.ts";
import { collectorFlags, readUntil, spawnRunner } from "./helpers.ts";

/** A child that reports which signal it got and exits with a code naming it. */
const TRAPPING_CHILD = [
  "sh",
  "-c",
  'trap "echo got-HUP; exit 11" HUP; trap "echo got-INT; exit 12" INT; ' +
  'trap "echo got-TERM; exit 13" TERM; echo ready; while :; do sleep 0.05; done',
];

for (const [signal, code] of [["SIGTERM", 13], ["SIGINT", 12], ["SIGHUP", 11]] as const) {
  Deno.test(`${signal} sent to run is forwarded to the command, whose exit status run returns`, async () => {
    await using collector = await startTestCollector();
    const runner = spawnRunner([
      ...(await collectorFlags(collector, `sig-${signal}`)),
      "--quiet",
      "--",
      ...TRAPPING_CHILD,
    ]);
    const reader = runner.stdout.pipeThrough(new TextDecoderStream()).getReader();
    await readUntil(reader, "ready");
    runner.kill(signal);
    const rest = await readUntil(reader, `got-${signal.slice(3)}`);
    reader.releaseLock();
    const status = await runner.status;
    await runner.stderr.cancel();
    assertEquals(status.code, code, rest);
    const events = await collector.readSession(`sig-${signal}`);
    const exit = events.findLast((event) => event.source === "Runner");
    assert(exit !== undefined);
    assertEquals(exit.event_type, "Exit");
    assertEquals((exit.payload as { exit_code: number }).exit_code, code);
  });
}
