import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { validateEvent } from "../../protocol/mod.ts";
import { startTestCollector, type StoredLine } from "../support/collector.ts";
import { baseEnv, collectorFlags, runRunner, testShim } from "./helpers.ts";
import { tempDir } from "../support/temp_dir.ts";

type Line = StoredLine & {
  source: string;
  event_type: string;
  seq: number;
  session_seq: number;
  payload: Record<string, unknown>;
};

function describe(event: Line): string {
  const argv0 = Array.isArray(event.payload.argv) ? String(event.payload.argv[0]) : "";
  const base = argv0.slice(argv0.lastIndexOf("/") + 1);
  return `${event.source} ${event.event_type}${event.event_type === "Exec" ? ` ${base}` : ""}`;
}

Deno.test("run -- sh -c 'ls /; cat /etc/hostname' logs Runner Exec, Shim Exec ls and cat, Runner Exit in order", async () => {
  await using collector = await startTestCollector();
  const result = await runRunner([
    ...(await collectorFlags(collector, "test3")),
    "--quiet",
    "--",
    "sh",
    "-c",
    "ls /; cat /etc/hostname",
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stderr, "");
  assert(result.stdout.includes(Deno.readTextFileSync("/etc/hostname").trim()));
  const events = (await collector.readSession("test3")) as Line[];
  const order = events.filter((event) =>
    event.source === "Runner" ||
    (event.event_type === "Exec" && /\/(ls|cat)$/.test(String(event.payload.path)))
  ).map(describe);
  assertEquals(order, ["Runner Exec sh", "Shim Exec ls", "Shim Exec cat", "Runner Exit"]);
  for (const event of events) assertEquals(event.metadata, { session_id: "test3", agent: "sh" });
  assertEquals(events.map((event) => event.session_seq), events.map((_, index) => index));
});

Deno.test("the Runner's events carry the probe, the capture decision, redacted env and the exit", async () => {
  await using collector = await startTestCollector();
  const result = await runRunner(
    [
      ...(await collectorFlags(collector, "fields")),
      ...["--agent", "tester", "--quiet", "--", "sh", "-c", "exit 0"],
    ],
    { env: baseEnv({ MY_API_KEY: "sk-123", PLAIN: "visible" }) },
  );
  assertEquals(result.code, 0, result.stderr);
  const runner = (await collector.readSession("fields") as Line[])
    .filter((event) => event.source === "Runner");
  assertEquals(runner.map((event) => [event.event_type, event.seq]), [["Exec", 0], ["Exit", 1]]);
  for (const { received_at: _r, session_seq: _s, ...sent } of runner) {
    assert(validateEvent(sent).ok, JSON.stringify(sent));
  }
  const [exec, exit] = runner;
  assertEquals(exec.metadata, { session_id: "fields", agent: "tester" });
  assertEquals(exec.payload.call, "run");
  assertEquals(exec.payload.argv, ["sh", "-c", "exit 0"]);
  assertEquals(exec.payload.cwd, Deno.cwd());
  const env = exec.payload.env as string[];
  assert(env.includes("MY_API_KEY=[REDACTED]"));
  assert(env.includes("PLAIN=visible"));
  assert(env.includes(`CONTAINAI_AUDIT_SOCKET=${collector.socket}`));
  const shim = await testShim();
  assert(env.some((entry) => entry.startsWith(`LD_PRELOAD=${shim}`)));
  assertEquals((exec.payload.capture as { mode: string }).mode, "shim");
  const probe = exec.payload.probe as Record<string, { value: unknown }>;
  assert(["disabled", "strict", "filter"].includes(String(probe.seccomp_mode.value)));
  assertEquals(exit.payload.exit_code, 0);
  assert(typeof exit.payload.duration_ms === "number");
});

Deno.test("--json prints the summary read back from the session log on stdout", async () => {
  await using collector = await startTestCollector();
  const result = await runRunner([
    ...(await collectorFlags(collector, "json1")),
    "--json",
    "--",
    "sh",
    "-c",
    "cat /etc/hostname >/dev/null; ls / >/dev/null",
  ]);
  assertEquals(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  const events = await collector.readSession("json1");
  const counts: Record<string, number> = {};
  for (const event of events) {
    counts[String(event.event_type)] = (counts[String(event.event_type)] ?? 0) + 1;
  }
  assertEquals(summary.session_id, "json1");
  assertEquals(summary.log_file, `${collector.logDir}/session-json1.jsonl`);
  assertEquals(summary.exit_code, 0);
  assertEquals(summary.log_complete, true);
  assertEquals(summary.counts, counts);
  assert(summary.programs.some((path: string) => path.endsWith("/cat")), summary.programs);
  assert(summary.programs.some((path: string) => path.endsWith("/ls")), summary.programs);
});

Deno.test("without --quiet or --json the summary goes to stderr and stdout is the command's", async () => {
  await using collector = await startTestCollector();
  const result = await runRunner([
    ...(await collectorFlags(collector, "text1")),
    "--",
    "sh",
    "-c",
    "echo out-only",
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout, "out-only\n");
  assert(result.stderr.includes("audit summary: session text1 (agent sh), exit 0"), result.stderr);
  assert(
    result.stderr.includes(`log:      ${collector.logDir}/session-text1.jsonl`),
    result.stderr,
  );
});

Deno.test("the Runner's Exit is stored after the events of a program that exits at once", async () => {
  await using collector = await startTestCollector();
  const result = await runRunner([
    ...(await collectorFlags(collector, "exit-last")),
    "--quiet",
    "--",
    "sh",
    "-c",
    "cat /etc/hostname >/dev/null",
  ]);
  assertEquals(result.code, 0, result.stderr);
  const events = (await collector.readSession("exit-last")) as Line[];
  assert(
    events.some((event) => event.event_type === "Open" && event.payload.path === "/etc/hostname"),
  );
  assertEquals(describe(events.at(-1) as Line), "Runner Exit");
});

Deno.test("a second run in the same session summarises only its own events", async () => {
  await using collector = await startTestCollector();
  const flags = await collectorFlags(collector, "shared");
  const first = await runRunner([...flags, "--json", "--", "sh", "-c", "ls / >/dev/null"]);
  const second = await runRunner([...flags, "--json", "--", "true"]);
  assertEquals([first.code, second.code], [0, 0], first.stderr + second.stderr);
  assert(JSON.parse(first.stdout).programs.some((path: string) => path.endsWith("/ls")));
  assertEquals(JSON.parse(second.stdout).counts, { Exec: 1, Exit: 1 });
  assertEquals(JSON.parse(second.stdout).programs, ["/usr/bin/true"]);
});

Deno.test("a log dir that does not match the reused collector's is reported, not fatal", async () => {
  await using collector = await startTestCollector();
  await using temp = await tempDir("runner-wrong-logs-");
  const wrong = temp.path;
  const flags = await collectorFlags({ socket: collector.socket, logDir: wrong }, "wrong-dir");
  const result = await runRunner([
    ...flags,
    "--json",
    "--",
    "sh",
    "-c",
    "exit 4",
  ]);
  assertEquals(result.code, 4, result.stderr);
  const summary = JSON.parse(result.stdout);
  assertEquals(summary.log_complete, false);
  assertEquals(
    summary.log_problem,
    `no session log at ${wrong}/session-wrong-dir.jsonl: pass --log-dir with the collector's log directory`,
  );
  // The run could not read the log back, so it did not wait for its Exit to be stored.
  const events = await collector.waitForEvents(
    "wrong-dir",
    (events) => events.some((event) => event.event_type === "Exit"),
  );
  assertEquals(events.at(-1)?.event_type, "Exit");
});

Deno.test("an environment larger than the collector's line limit still gives a stored, truncated Exec", async () => {
  await using collector = await startTestCollector();
  const big: Record<string, string> = {};
  for (let i = 0; i < 12; i++) big[`BIG_${i}`] = "x".repeat(100_000);
  const result = await runRunner(
    [...(await collectorFlags(collector, "big-env")), "--quiet", "--", "true"],
    { env: baseEnv(big) },
  );
  assertEquals(result.code, 0, result.stderr);
  const runner = (await collector.readSession("big-env") as Line[])
    .filter((event) => event.source === "Runner");
  assertEquals(runner.map((event) => event.event_type), ["Exec", "Exit"]);
  assertEquals(runner[0].payload.truncated, true);
});
