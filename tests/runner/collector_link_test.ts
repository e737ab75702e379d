import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { collectorAnswers } from "../../collector/mod.ts";
import { defaultRunLogDir } from "../../runner/mod.ts";
import { readJsonLines, startTestCollector } from "../support/collector.ts";
import { baseEnv, collectorFlags, runRunner, spawnRunner, testShim } from "./helpers.ts";
import { tempDir } from "../support/temp_dir.ts";

function envOf(event: Record<string, unknown>): Map<string, string> {
  const entries = (event.payload as { env: string[] }).env.map((entry) => {
    const equals = entry.indexOf("=");
    return [entry.slice(0, equals), entry.slice(equals + 1)] as [string, string];
  });
  return new Map(entries);
}

/** Command lines of all processes that mention `text` (to find a leftover collector). */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).replaceAll(
        "\0",
        " ",
      );
      if (cmdline.includes(text)) found.push(`${entry.name}: ${cmdline}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

Deno.test("a collector answering on --socket is reused and left running", async () => {
  await using collector = await startTestCollector();
  const result = await runRunner([
    ...(await collectorFlags(collector, "reuse-flag")),
    "--quiet",
    "--",
    "true",
  ]);
  assertEquals(result.code, 0, result.stderr);
  assert(await collectorAnswers(collector.socket), "the reused collector must keep serving");
  const [exec] = await collector.readSession("reuse-flag");
  assertEquals(envOf(exec).get("CONTAINAI_AUDIT_SOCKET"), collector.socket);
});

Deno.test("a collector named by CONTAINAI_AUDIT_SOCKET/CONTAINAI_AUDIT_LOG_DIR is reused", async () => {
  await using collector = await startTestCollector();
  const env = baseEnv({
    CONTAINAI_AUDIT_SOCKET: collector.socket,
    CONTAINAI_AUDIT_LOG_DIR: collector.logDir,
  });
  const result = await runRunner(
    ["--session", "reuse-env", "--shim", await testShim(), "--json", "--", "true"],
    { env },
  );
  assertEquals(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  assertEquals(summary.log_file, `${collector.logDir}/session-reuse-env.jsonl`);
  assertEquals(summary.log_complete, true);
  assertEquals(summary.counts.Exit, 1);
});

Deno.test("with no collector answering, run starts one on a private socket and stops it", async () => {
  await using temp = await tempDir("runner-home-");
  const home = temp.path;
  await Deno.mkdir(`${home}/runtime`, { mode: 0o700 });
  const env = baseEnv({
    HOME: home,
    XDG_STATE_HOME: `${home}/state`,
    XDG_RUNTIME_DIR: `${home}/runtime`,
    // Points the lookup away from /run/containai so a collector there cannot interfere.
    CONTAINAI_AUDIT_SOCKET: `${home}/nobody-listens.sock`,
  });
  const result = await runRunner(
    ["--session", "started", "--shim", await testShim(), "--json", "--", "true"],
    { env },
  );
  assertEquals(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  const logFile = `${home}/state/containai/logs/session-started.jsonl`;
  assertEquals(summary.log_file, logFile);
  const events = await readJsonLines(logFile);
  assertEquals(events.map((event) => event.event_type), ["Exec", "Exit"]);
  const socket = envOf(events[0]).get("CONTAINAI_AUDIT_SOCKET") ?? "";
  assert(socket.startsWith(`${home}/runtime/containai-run-`), socket);
  assertEquals([...Deno.readDirSync(`${home}/runtime`)], [], "the private socket dir is removed");
  assertEquals(await collectorAnswers(socket), false);
  assertEquals(await processesMentioning(socket), []);
});

Deno.test("the default log dir of a started collector is the XDG state dir, else under HOME", () => {
  assertEquals(defaultRunLogDir({ XDG_STATE_HOME: "/s", HOME: "/h" }), "/s/containai/logs");
  assertEquals(defaultRunLogDir({ HOME: "/h" }), "/h/.local/state/containai/logs");
  assertEquals(
    defaultRunLogDir({ XDG_STATE_HOME: "relative", HOME: "/h" }),
    "/h/.local/state/containai/logs",
  );
});

Deno.test("a collector that goes away mid-run does not change the command's exit status", async () => {
  const collector = await startTestCollector();
  try {
    const runner = spawnRunner([
      ...(await collectorFlags(collector, "gone")),
      "--json",
      "--",
      "sh",
      "-c",
      "read line; exit 5",
    ], { stdin: "piped" });
    await collector.waitForEvents("gone", (events) => events.length >= 1);
    assertEquals(await collector.stop(), 0);
    const writer = runner.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
    const output = await runner.output();
    assertEquals(output.code, 5);
    const summary = JSON.parse(new TextDecoder().decode(output.stdout));
    assertEquals(summary.exit_code, 5);
    assertEquals(summary.runner_events_dropped, 1);
    assertEquals(summary.log_complete, false);
  } finally {
    await collector[Symbol.asyncDispose]();
  }
});
