import assert from "node:assert/strict";
import { join } from "node:path";
import { startCollectorProcess } from "../../collector/mod.ts";
import { startTestCollector } from "../support/collector.ts";
import { tempDir } from "../support/temp_dir.ts";
import { execEvent, send, toLines } from "./helpers.ts";

// Deno checks --allow-write=<log dir> against the path, not where a symlink in it points: the
// collector itself must refuse what is planted in its log directory.

/** A log dir in `dir` holding `name`, a symlink to `outside.txt` (with "precious") beside it. */
async function plantLink(dir: string, name: string): Promise<{ logDir: string; outside: string }> {
  const logDir = join(dir, "logs");
  await Deno.mkdir(logDir);
  const outside = join(dir, "outside.txt");
  await Deno.writeTextFile(outside, "precious\n");
  await Deno.symlink(outside, join(logDir, name));
  return { logDir, outside };
}

Deno.test("a session file that is a symlink is not written through; its target stays untouched", async () => {
  await using dir = await tempDir("collector-planted-");
  const { logDir, outside } = await plantLink(dir.path, "session-linked.jsonl");
  await using collector = await startTestCollector({ logDir, socket: join(dir.path, "a.sock") });

  await send(collector.socket, toLines([execEvent("linked", 0)]));

  await collector.waitForLog(/session-linked\.jsonl: it is a symlink, not a regular file/);
  assert.equal(await Deno.readTextFile(outside), "precious\n");
});

Deno.test("a lock file that is a symlink makes the collector refuse to start, target untouched", async () => {
  await using dir = await tempDir("collector-planted-");
  const { logDir, outside } = await plantLink(dir.path, ".collector.lock");
  let stderr = "";

  await assert.rejects(
    startCollectorProcess({
      socket: join(dir.path, "a.sock"),
      logDir,
      onStderr: (text) => (stderr += text),
    }),
    /exited with code 1/,
  );

  assert.match(stderr, /refusing to start: .*\.collector\.lock: it is a symlink/);
  assert.equal(await Deno.readTextFile(outside), "precious\n");
});

Deno.test("a FIFO named like a session file does not stop other sessions being stored", async () => {
  await using dir = await tempDir("collector-planted-");
  const logDir = join(dir.path, "logs");
  await Deno.mkdir(logDir);
  const fifo = await new Deno.Command("mkfifo", { args: [join(logDir, "session-piped.jsonl")] })
    .output();
  assert.ok(fifo.success);
  await using collector = await startTestCollector({ logDir, socket: join(dir.path, "a.sock") });
  // More than a pipe holds (64 KiB), so a write into the FIFO would block for good.
  const piped = Array.from({ length: 3000 }, (_, seq) => execEvent("piped", seq));
  await send(collector.socket, toLines(piped));
  await collector.waitForLog(/session-piped\.jsonl: it is a FIFO, not a regular file/);

  await send(collector.socket, toLines([execEvent("beside-the-fifo", 0)]));

  const stored = await collector.waitForEvents("beside-the-fifo", (e) => e.length === 1);
  assert.equal(stored[0].session_seq, 0);
});

Deno.test("a session file that cannot be opened does not slow the other sessions' writes", async () => {
  await using dir = await tempDir("collector-planted-");
  const logDir = join(dir.path, "logs");
  await Deno.mkdir(join(logDir, "session-blocked.jsonl"), { recursive: true });
  await using collector = await startTestCollector({ logDir, socket: join(dir.path, "a.sock") });
  await send(collector.socket, toLines([execEvent("blocked", 0)]));
  await collector.waitForLog(/session-blocked\.jsonl: it is a directory/);
  // 30,000 events are about 30 writer rounds of 1 MiB per file. A writer that waited out the
  // failing file's retry backoff (up to 2 s) in every round needed about 20 s for them; each
  // round takes milliseconds otherwise.
  const events = Array.from({ length: 30_000 }, (_, seq) => execEvent("unblocked", seq));

  await send(collector.socket, toLines(events));

  const stored = await collector.waitForEvents("unblocked", (e) => e.length === 30_000, 10_000);
  assert.deepEqual(stored.map((e) => e.session_seq), events.map((_, i) => i));
});
