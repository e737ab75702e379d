import assert from "node:assert/strict";
import { compileHelper } from "../../bench/native.ts";
import { startTestCollector, type TestCollector } from "../support/collector.ts";

// The minimal reporter is the exec benchmark's floor: if it silently sent nothing, the floor
// would look cheaper than the design it stands for.

/** Runs `script` in bash with the minimal reporter preloaded, reporting to `collector`. */
async function bashUnderReporter(
  collector: TestCollector,
  script: string,
  session: string,
): Promise<Deno.CommandOutput> {
  const library = await compileHelper("minimal_reporter", {
    outDir: collector.logDir,
    shared: true,
  });
  return await new Deno.Command("bash", {
    args: ["-c", script],
    env: {
      LD_PRELOAD: library,
      CONTAINAI_AUDIT_SOCKET: collector.socket,
      CONTAINAI_SESSION_ID: session,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("the minimal reporter stores one valid Exec event per exec in a real collector", async () => {
  await using collector = await startTestCollector({ settings: { fsyncIntervalMs: 0 } });
  const out = await bashUnderReporter(collector, "for i in 1 2 3; do /bin/true; done", "floor");
  assert.equal(out.code, 0);
  const events = await collector.waitForEvents("floor", (stored) => stored.length >= 3);
  assert.equal(events.length, 3);
  assert.ok(events.every((event) => event.event_type === "Exec"));
});

Deno.test("under the minimal reporter a failed exec still returns its errno", async () => {
  await using collector = await startTestCollector();
  const out = await bashUnderReporter(collector, "/nonexistent/program; echo status=$?", "errno");
  assert.match(new TextDecoder().decode(out.stdout), /status=127/);
  assert.match(new TextDecoder().decode(out.stderr), /No such file or directory/);
});
