/**
 * Real programs under the shim: a shell running ls (Test 2 of the plan), CPython's subprocess,
 * os.system and os.posix_spawn, Node's child_process, and bash pipelines.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { startTestCollector, type StoredLine } from "../support/collector.ts";
import { eventsOf, payloadOf, runUnderShim, waitForShimEvents } from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";

function execArgvs(events: StoredLine[]): string[][] {
  return eventsOf(events, "Exec").map((e) => payloadOf(e).argv as string[]);
}

function hasExec(events: StoredLine[], argv: string[]): boolean {
  return execArgvs(events).some((a) => JSON.stringify(a) === JSON.stringify(argv));
}

Deno.test("ls started by a shell under the shim is in the session log as an Exec event", async () => {
  await using collector = await startTestCollector();
  const result = await runUnderShim(["/bin/sh", "-c", "ls /"], {
    socket: collector.socket,
    session: "test2",
    agent: "claude-code",
  });
  assertEquals(result.code, 0, result.stderr);
  assert(result.stdout.includes("usr"), "ls printed the root directory");
  const events = await waitForShimEvents(collector, "test2", (e) => hasExec(e, ["ls", "/"]));
  const ls = eventsOf(events, "Exec").find((e) =>
    payloadOf(e).path === "/usr/bin/ls" ||
    (payloadOf(e).argv as string[])[0] === "ls"
  )!;
  assertEquals(ls.source, "Shim");
  assertEquals(ls.metadata, { session_id: "test2", agent: "claude-code" });
  assert(typeof ls.seq === "number");
  assert(String(payloadOf(ls).path).endsWith("ls"));
});

Deno.test("CPython subprocess, os.system and os.posix_spawn are reported", async () => {
  await using collector = await startTestCollector();
  const script = [
    "import os, subprocess",
    "subprocess.run(['true', 'py-subprocess'], check=True)",
    "os.system('true py-system')",
    "pid = os.posix_spawn('/bin/true', ['true', 'py-posix-spawn'], dict(os.environ))",
    "os.waitpid(pid, 0)",
  ].join("\n");
  const result = await runUnderShim(["python3", "-c", script], {
    socket: collector.socket,
    session: "python",
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "python",
    (e) =>
      hasExec(e, ["true", "py-subprocess"]) && hasExec(e, ["sh", "-c", "true py-system"]) &&
      hasExec(e, ["true", "py-posix-spawn"]),
  );
  const system = eventsOf(events, "Exec", "system");
  assertEquals(system.length, 1);
  const spawn = eventsOf(events, "Exec", "posix_spawn").filter((e) =>
    (payloadOf(e).argv as string[])[1] === "py-posix-spawn"
  );
  assertEquals(spawn.length, 1);
});

Deno.test("Node child_process exec and spawn are reported", async () => {
  await using collector = await startTestCollector();
  const script = [
    "const cp = require('node:child_process');",
    "cp.execFileSync('true', ['node-execfile']);",
    "cp.execSync('true node-exec');",
  ].join("\n");
  const result = await runUnderShim(["node", "-e", script], {
    socket: collector.socket,
    session: "node",
  });
  assertEquals(result.code, 0, result.stderr);
  await waitForShimEvents(
    collector,
    "node",
    (e) => hasExec(e, ["true", "node-execfile"]) && hasExec(e, ["/bin/sh", "-c", "true node-exec"]),
  );
});

Deno.test("every stage of a bash pipeline and its redirections are reported", async () => {
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-bash-");
  const dir = temp.path;
  const out = join(dir, "out.txt");
  const result = await runUnderShim(
    ["bash", "-c", `printf 'a\\nb\\n' | tr a-z A-Z | sort -r > ${out}; wc -l < ${out}`],
    { socket: collector.socket, session: "bash" },
  );
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout.trim(), "2");
  const events = await waitForShimEvents(
    collector,
    "bash",
    (e) =>
      hasExec(e, ["tr", "a-z", "A-Z"]) && hasExec(e, ["sort", "-r"]) && hasExec(e, ["wc", "-l"]),
  );
  const writes = eventsOf(events, "Open").map(payloadOf).filter((p) => p.path === out);
  assertEquals(writes.length, 2);
  assertEquals(writes[0].flags, ["O_WRONLY", "O_CREAT", "O_TRUNC"]);
  assertEquals(writes[1].flags, ["O_RDONLY"]);
});
