import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { startTestCollector, type TestCollector } from "../support/collector.ts";
import { collectorFlags, runRunner } from "./helpers.ts";
import { tempDir } from "../support/temp_dir.ts";

async function withPolicy(text: string, body: (file: string, dir: string) => Promise<void>) {
  await using temp = await tempDir("runner-policy-");
  const dir = temp.path;
  await Deno.writeTextFile(`${dir}/policy.jsonc`, text);
  await body(`${dir}/policy.jsonc`, dir);
}

function policy(mode: "observe" | "enforce"): string {
  return `// the task itself is a shell
{ "version": 1, "mode": "${mode}", "rules": [
  { "name": "no-shells", "action": "Exec", "paths": ["**/sh", "**/dash"] }
] }`;
}

async function run(collector: TestCollector, session: string, args: string[]) {
  return await runRunner([
    ...(await collectorFlags(collector, session)),
    ...args,
  ]);
}

async function runnerEvents(collector: TestCollector, session: string) {
  return (await collector.readSession(session)).filter((event) => event.source === "Runner");
}

Deno.test("an enforced Exec rule matching the task stops it before it starts: Deny, exit 126", async () => {
  await using collector = await startTestCollector();
  await withPolicy(policy("enforce"), async (file, dir) => {
    const result = await run(collector, "enforced", [
      "--policy",
      file,
      "--json",
      "--",
      "sh",
      "-c",
      `touch ${dir}/started`,
    ]);
    assertEquals(result.code, 126);
    assertMatch(
      result.stderr,
      /policy rule "no-shells" denies executing \/\S+\/sh; the task was not started/,
    );
    assertEquals(await Deno.stat(`${dir}/started`).then(() => true, () => false), false);
    const events = await runnerEvents(collector, "enforced");
    assertEquals(events.map((event) => event.event_type), ["Exec", "Deny"]);
    const deny = events[1].payload as Record<string, unknown>;
    assertEquals([deny.call, deny.action, deny.rule, deny.errno, deny.enforced], [
      "run",
      "Exec",
      "no-shells",
      13,
      true,
    ]);
    const summary = JSON.parse(result.stdout);
    assertEquals(summary.exit_code, 126);
    assertMatch(summary.denied[0], /^Exec \/\S+\/sh denied by no-shells$/);
  });
});

Deno.test("an observed Exec rule matching the task is reported and the task still runs", async () => {
  await using collector = await startTestCollector();
  await withPolicy(policy("observe"), async (file) => {
    const result = await run(collector, "observed", [
      "--policy",
      file,
      "--quiet",
      "--",
      "sh",
      "-c",
      "exit 7",
    ]);
    assertEquals(result.code, 7);
    const events = await runnerEvents(collector, "observed");
    assertEquals(events.map((event) => event.event_type), ["Exec", "Deny", "Exit"]);
    assertEquals((events[1].payload as { enforced: boolean; errno: number }).enforced, false);
    assertEquals((events[1].payload as { errno: number }).errno, 0);
  });
});

Deno.test("the shim is handed the compiled policy through CONTAINAI_POLICY", async () => {
  await using collector = await startTestCollector();
  await withPolicy(policy("observe"), async (file) => {
    const result = await run(collector, "handed", ["--policy", file, "--quiet", "--", "true"]);
    assertEquals(result.code, 0, result.stderr);
    const [exec] = await runnerEvents(collector, "handed");
    const env = (exec.payload as { env: string[] }).env;
    assertEquals(env.filter((entry) => entry.startsWith("CONTAINAI_POLICY=/")).length, 1);
  });
});

Deno.test("an invalid policy is refused with its line and field before anything starts", async () => {
  await using collector = await startTestCollector();
  await withPolicy('{ "version": 1, "mode": "block", "rules": [] }', async (file) => {
    const result = await run(collector, "invalid", ["--policy", file, "--", "true"]);
    assertEquals(result.code, 125);
    assertMatch(
      result.stderr,
      /invalid policy \S+policy\.jsonc:\n\s+\S+policy\.jsonc:1:\d+: mode: /,
    );
    assertEquals(await collector.readSession("invalid"), []);
  });
});
