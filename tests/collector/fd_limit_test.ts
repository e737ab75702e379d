import assert from "node:assert/strict";
import { join } from "node:path";
import { collectorAnswers, resolveConfig } from "../../collector/mod.ts";
import { prepareDirectories, serveCommandArgs } from "../../collector/serve_command.ts";
import { readJsonLines } from "../support/collector.ts";
import { execEvent, toLines, writeAll } from "./helpers.ts";

Deno.test("running out of file descriptors delays new connections instead of ending the collector", async () => {
  const dir = await Deno.makeTempDir({ prefix: "collector-fds-" });
  try {
    const config = resolveConfig({
      flags: { socket: join(dir, "audit.sock"), logDir: join(dir, "logs") },
    });
    await prepareDirectories(config);
    const child = new Deno.Command("prlimit", {
      args: ["--nofile=64:64", Deno.execPath(), ...serveCommandArgs(config)],
      stderr: "piped",
    }).spawn();
    while (!(await collectorAnswers(config.socket))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // More connections than descriptors: the kernel queues them; the collector cannot accept all.
    const conns = await Promise.all(
      Array.from({ length: 90 }, () => Deno.connect({ transport: "unix", path: config.socket })),
    );
    await Promise.all(
      conns.slice(0, 30).map((conn, i) => writeAll(conn, toLines([execEvent("fds", i)]))),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const conn of conns) conn.close();

    const late = await Deno.connect({ transport: "unix", path: config.socket });
    await writeAll(late, toLines([execEvent("fds", 30)]));
    late.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill("SIGTERM");
    const { code, stderr } = await child.output();
    const log = new TextDecoder().decode(stderr);

    assert.equal(code, 0, log);
    assert.match(log, /accept failed; retrying/);
    const events = await readJsonLines(join(config.logDir, "session-fds.jsonl"));
    assert.deepEqual(
      events.map((e) => e.seq).sort((a, b) => Number(a) - Number(b)),
      Array.from({ length: 31 }, (_, i) => i),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
