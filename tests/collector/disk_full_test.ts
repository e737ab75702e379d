import assert from "node:assert/strict";
import { join } from "node:path";
import { startTestCollector } from "../support/collector.ts";
import { execEvent, send, toLines, writeAll } from "./helpers.ts";

/** Mounts a 256 KiB tmpfs at `dir`; false when this machine does not allow it (not root). */
async function mountTinyTmpfs(dir: string): Promise<boolean> {
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir],
    stderr: "piped",
  }).output().catch(() => undefined);
  return out?.success === true;
}

/**
 * Runs `body` with `logDir` on a 256 KiB tmpfs filled to the last block (`filler` is the file
 * that fills it); skips with a warning where no tmpfs can be mounted. Unmounts and cleans up.
 */
async function withFullDisk(body: (dir: string, logDir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "collector-enospc-" });
  const logDir = join(dir, "logs");
  await Deno.mkdir(logDir);
  if (!(await mountTinyTmpfs(logDir))) {
    console.warn("SKIPPED: cannot mount a tmpfs here (needs root); ENOSPC not tested");
    await Deno.remove(dir, { recursive: true });
    return;
  }
  try {
    await fillUp(join(logDir, "filler"));
    await body(dir, logDir);
  } finally {
    await new Deno.Command("umount", { args: [logDir] }).output();
    await Deno.remove(dir, { recursive: true });
  }
}

async function fillUp(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true });
  const block = new Uint8Array(4096);
  try {
    while (true) await file.write(block);
  } catch (error) {
    assert.match(String((error as Error).message), /space/i);
  } finally {
    file.close();
  }
}

Deno.test("on a full disk events wait (readers pause) and all land in order once space frees", async (t) => {
  await withFullDisk(async (dir, logDir) => {
    await using collector = await startTestCollector({
      socket: join(dir, "audit.sock"),
      logDir,
      settings: { maxBufferBytes: 32 * 1024, statsIntervalMs: 100 },
    });
    const events = Array.from({ length: 300 }, (_, i) => execEvent("full-disk", i));
    const sending = send(collector.socket, toLines(events));

    await t.step("the write error is logged and retried", async () => {
      await collector.waitForLog(/"code":"ENOSPC"/);
    });
    await Deno.remove(join(logDir, "filler"));
    await sending;

    const stored = await collector.waitForEvents("full-disk", (e) => e.length === 300, 15_000);
    assert.deepEqual(stored.map((e) => e.session_seq), events.map((_, i) => i));
    assert.deepEqual(stored.map((e) => e.seq), events.map((_, i) => i));
    assert.equal(await collector.stop(), 0);
    const summary = JSON.parse(
      collector.stderrText().split("\n").find((l) => l.includes('"summary"')) ?? "{}",
    );
    assert.ok(summary.writeErrors > 0);
    assert.ok(summary.backpressurePauses > 0, "readers paused while the buffer was full");
  });
});

Deno.test("SIGTERM while the disk stays full exits within 5 s with code 1 and says what is lost", async () => {
  await withFullDisk(async (dir, logDir) => {
    const collector = await startTestCollector({
      socket: join(dir, "audit.sock"),
      logDir,
      settings: { maxBufferBytes: 32 * 1024 },
    });
    const conn = await Deno.connect({ transport: "unix", path: collector.socket });
    // More than buffer and socket can hold: the writer blocks, reading pauses, this write hangs.
    const stuck = writeAll(
      conn,
      toLines(Array.from({ length: 3000 }, (_, i) => execEvent("stuck", i))),
    )
      .catch(() => {});
    await collector.waitForLog(/"code":"ENOSPC"/);

    const started = Date.now();
    const hung = new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 10_000));
    const code = await Promise.race([collector.stop(), hung]);
    const took = Date.now() - started;
    if (code === "hung") Deno.kill(collector.pid, "SIGKILL");
    conn.close();
    await stuck;

    assert.equal(code, 1);
    assert.ok(took < 5500, `took ${took} ms`);
    assert.match(collector.stderrText(), /exiting with events not written/);
    await collector[Symbol.asyncDispose]();
  });
});

Deno.test("a reader paused by a full disk keeps its half line past the partial line timeout", async () => {
  await withFullDisk(async (dir, logDir) => {
    await using collector = await startTestCollector({
      socket: join(dir, "audit.sock"),
      logDir,
      settings: { maxBufferBytes: 32 * 1024, partialLineTimeoutMs: 500 },
    });
    const halfSender = await Deno.connect({ transport: "unix", path: collector.socket });
    const filler = Array.from({ length: 300 }, (_, i) => execEvent("fills-buffer", i));
    const sending = send(collector.socket, toLines(filler));
    await collector.waitForLog(/"code":"ENOSPC"/);
    const line = toLines([execEvent("half-while-paused", 0)]);
    // Read by the collector, which then pauses this reader: the buffer is over its limit.
    await writeAll(halfSender, line.slice(0, 100));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await writeAll(halfSender, line.slice(100));
    // Several partial line timeouts pass while the reader is paused, not reading.
    await new Promise((resolve) => setTimeout(resolve, 2000));

    await Deno.remove(join(logDir, "filler"));
    await sending;
    halfSender.close();

    await collector.waitForEvents("fills-buffer", (e) => e.length === 300, 15_000);
    const stored = await collector.waitForEvents("half-while-paused", (e) => e.length === 1);
    assert.equal(stored[0].seq, 0);
    assert.doesNotMatch(collector.stderrText(), /partial line made no progress/);
  });
});
