import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { startTestCollector, type TestCollector } from "../support/collector.ts";
import { collectorFlags, runRunner } from "./helpers.ts";

async function run(collector: TestCollector, session: string, script: string[]) {
  return await runRunner([
    ...(await collectorFlags(collector, session)),
    "--quiet",
    "--",
    ...script,
  ]);
}

async function runnerEvents(collector: TestCollector, session: string) {
  const events = await collector.readSession(session);
  return events.filter((event) => event.source === "Runner") as Array<
    { event_type: string; payload: Record<string, unknown> }
  >;
}

Deno.test("a command that exits 0 makes run exit 0 and log exit_code 0", async () => {
  await using collector = await startTestCollector();
  assertEquals((await run(collector, "exit0", ["true"])).code, 0);
  const exit = (await runnerEvents(collector, "exit0")).at(-1);
  assertEquals(exit?.event_type, "Exit");
  assertEquals(exit?.payload.exit_code, 0);
});

Deno.test("a command that exits 3 makes run exit 3 and log exit_code 3", async () => {
  await using collector = await startTestCollector();
  assertEquals((await run(collector, "exit3", ["sh", "-c", "exit 3"])).code, 3);
  const exit = (await runnerEvents(collector, "exit3")).at(-1);
  assertEquals([exit?.payload.exit_code, exit?.payload.signal], [3, undefined]);
});

Deno.test("a command killed by SIGKILL makes run exit 137 and log signal 9", async () => {
  await using collector = await startTestCollector();
  assertEquals((await run(collector, "killed", ["sh", "-c", "kill -KILL $$"])).code, 137);
  const exit = (await runnerEvents(collector, "killed")).at(-1);
  assertEquals([exit?.payload.signal, exit?.payload.exit_code], [9, undefined]);
});

Deno.test("a missing program exits 127 and logs a second Runner Exec with errno ENOENT", async () => {
  await using collector = await startTestCollector();
  const result = await run(collector, "missing", ["containai-no-such-program", "--flag"]);
  assertEquals(result.code, 127);
  assertMatch(
    result.stderr,
    /run: cannot start containai-no-such-program: .*check the name or PATH/,
  );
  const events = await runnerEvents(collector, "missing");
  assertEquals(events.map((event) => [event.event_type, event.payload.errno]), [
    ["Exec", undefined],
    ["Exec", 2],
  ]);
});

Deno.test("a file that is not executable exits 126 and logs errno EACCES", async () => {
  await using collector = await startTestCollector();
  const file = await Deno.makeTempFile({ prefix: "runner-noexec-" });
  try {
    const result = await run(collector, "noexec", [file]);
    assertEquals(result.code, 126);
    const events = await runnerEvents(collector, "noexec");
    assertEquals(events.at(-1)?.payload.errno, 13);
  } finally {
    await Deno.remove(file);
  }
});
