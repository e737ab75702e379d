import assert from "node:assert/strict";
import { join } from "node:path";
import { collectorAnswers, startCollectorProcess } from "../../collector/mod.ts";
import { readJsonLines, startTestCollector, type StoredLine } from "../support/collector.ts";
import { execEvent, send, toLines, waitForRejects, writeAll } from "./helpers.ts";
import { withTempDir } from "../support/temp_dir.ts";

const seqs = (events: StoredLine[]) => events.map((event) => event.session_seq);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

Deno.test("session_seq continues across a restart of the collector", async () => {
  await withTempDir("collector-lifecycle-", async (dir) => {
    const paths = { socket: join(dir, "audit.sock"), logDir: join(dir, "logs") };
    const first = await startTestCollector(paths);
    await send(first.socket, toLines(range(5).map((i) => execEvent("resume", i))));
    await first.waitForEvents("resume", (e) => e.length === 5);
    assert.equal(await first.stop(), 0);

    await using second = await startTestCollector(paths);
    await send(second.socket, toLines(range(5, 5).map((i) => execEvent("resume", i))));
    const events = await second.waitForEvents("resume", (e) => e.length === 10);
    assert.deepEqual(seqs(events), range(10));
  });
});

Deno.test("an unterminated last line left by a crash is moved to rejected.jsonl and numbering continues", async () => {
  await withTempDir("collector-lifecycle-", async (dir) => {
    const logDir = join(dir, "logs");
    await Deno.mkdir(logDir);
    const complete = `${JSON.stringify({ ...execEvent("torn", 0), session_seq: 0 })}\n`;
    await Deno.writeTextFile(join(logDir, "session-torn.jsonl"), `${complete}{"v":1,"times`);

    await using collector = await startTestCollector({ socket: join(dir, "audit.sock"), logDir });
    await send(collector.socket, toLines([execEvent("torn", 1)]));
    const events = await collector.waitForEvents("torn", (e) => e.length === 2);

    assert.deepEqual(seqs(events), [0, 1]);
    const text = await Deno.readTextFile(join(logDir, "session-torn.jsonl"));
    assert.ok(text.endsWith("\n") && !text.includes('"times\n'));
    const rejected = await waitForRejects(collector, 1);
    assert.equal(rejected[0].reason, "torn_tail");
    assert.equal(rejected[0].sample, '{"v":1,"times');
  });
});

Deno.test("SIGTERM with 100k events in flight: all of them are on disk when the collector exits 0", async () => {
  await using collector = await startTestCollector({ settings: { fsyncIntervalMs: 60_000 } });
  const clients = 4;
  const perClient = 25_000;
  const conns = await Promise.all(
    range(clients).map(() => Deno.connect({ transport: "unix", path: collector.socket })),
  );
  // Each client's data is fully handed to the kernel before SIGTERM; the last of it is still in
  // socket buffers or the collector's queue when the signal arrives, and the connections stay
  // open, so the collector has to read until they go quiet.
  await Promise.all(
    conns.map((conn, c) =>
      writeAll(conn, toLines(range(perClient).map((i) => execEvent(`flight-${c}`, i, 100 + c))))
    ),
  );
  const signalled = Date.now();
  const exitCode = await collector.stop();
  const stopTook = Date.now() - signalled;
  for (const conn of conns) conn.close();

  assert.equal(exitCode, 0);
  for (let c = 0; c < clients; c++) {
    assert.deepEqual(seqs(await collector.readSession(`flight-${c}`)), range(perClient));
  }
  assert.ok(stopTook < 5000, `exit took ${stopTook} ms after SIGTERM`);
});

Deno.test("events of producers still in the listen backlog at SIGTERM are read and stored", async () => {
  await using collector = await startTestCollector();
  // Each producer connects, sends and closes; most are not accepted yet when SIGTERM arrives.
  await Promise.all(
    range(50).map((i) => send(collector.socket, toLines([execEvent("backlog", i)]))),
  );
  assert.equal(await collector.stop(), 0);

  const events = await collector.readSession("backlog");
  assert.deepEqual(events.map((e) => e.seq).sort((a, b) => Number(a) - Number(b)), range(50));
});

Deno.test("the collector exits within 5 s of SIGTERM even with idle producers connected", async () => {
  await using collector = await startTestCollector();
  const idle = await Promise.all(
    range(20).map(() => Deno.connect({ transport: "unix", path: collector.socket })),
  );
  const started = Date.now();
  assert.equal(await collector.stop(), 0);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  for (const conn of idle) conn.close();
});

Deno.test("a stale socket left by a killed collector is replaced on the next start", async () => {
  await withTempDir("collector-lifecycle-", async (dir) => {
    const paths = { socket: join(dir, "audit.sock"), logDir: join(dir, "logs") };
    const crashed = await startCollectorProcess({ ...paths, onStderr: () => {} });
    Deno.kill(crashed.pid, "SIGKILL");
    await crashed.exited;
    assert.ok((await Deno.lstat(paths.socket)).isSocket, "SIGKILL leaves the socket behind");
    assert.equal(await collectorAnswers(paths.socket), false);

    await using restarted = await startTestCollector(paths);
    await send(restarted.socket, toLines([execEvent("after-crash", 0)]));
    await restarted.waitForEvents("after-crash", (e) => e.length === 1);
    await restarted.waitForLog(/removed a stale socket/);
  });
});

Deno.test("a second collector on the same socket refuses with exit code 3 and leaves the first working", async () => {
  await using first = await startTestCollector();
  const inode = (await Deno.lstat(first.socket)).ino;
  let stderr = "";
  await assert.rejects(
    startCollectorProcess({
      socket: first.socket,
      logDir: first.logDir,
      onStderr: (text) => (stderr += text),
    }),
    /exited with code 3/,
  );
  assert.match(stderr, /a collector already answers/);
  assert.equal((await Deno.lstat(first.socket)).ino, inode);
  await send(first.socket, toLines([execEvent("still-first", 0)]));
  await first.waitForEvents("still-first", (e) => e.length === 1);
});

Deno.test("a second collector on another socket but the same log dir refuses with exit code 5", async () => {
  await using first = await startTestCollector();
  let stderr = "";
  await assert.rejects(
    startCollectorProcess({
      socket: join(first.logDir, "..", "other.sock"),
      logDir: first.logDir,
      onStderr: (text) => (stderr += text),
    }),
    /exited with code 5/,
  );
  assert.match(stderr, /another collector writes to/);
  await send(first.socket, toLines([execEvent("one-writer", 0)]));
  await first.waitForEvents("one-writer", (e) => e.length === 1);
});

Deno.test("a socket path that is not a socket is refused with exit code 4 and left untouched", async () => {
  await withTempDir("collector-lifecycle-", async (dir) => {
    const socket = join(dir, "audit.sock");
    await Deno.writeTextFile(socket, "precious");
    await assert.rejects(
      startCollectorProcess({ socket, logDir: join(dir, "logs"), onStderr: () => {} }),
      /exited with code 4/,
    );
    assert.equal(await Deno.readTextFile(socket), "precious");
  });
});

Deno.test("the socket gets mode 0660 by default and the socket directory 0750", async () => {
  await withTempDir("collector-lifecycle-", async (dir) => {
    const socket = join(dir, "run", "containai", "audit.sock");
    await using collector = await startTestCollector({ socket, logDir: join(dir, "logs") });
    assert.equal((await Deno.lstat(collector.socket)).mode! & 0o777, 0o660);
    assert.equal((await Deno.stat(join(dir, "run", "containai"))).mode! & 0o777, 0o750);
  });
});

Deno.test("the socket mode is configurable", async () => {
  await using collector = await startTestCollector({ settings: { socketMode: "0600" } });
  assert.equal((await Deno.lstat(collector.socket)).mode! & 0o777, 0o600);
});

Deno.test("SIGINT shuts the collector down cleanly like SIGTERM", async () => {
  await withTempDir("collector-lifecycle-", async (dir) => {
    const collector = await startCollectorProcess({
      socket: join(dir, "audit.sock"),
      logDir: join(dir, "logs"),
      onStderr: () => {},
    });
    await send(collector.socket, toLines([execEvent("interrupted", 0)]));
    Deno.kill(collector.pid, "SIGINT");

    assert.equal(await collector.exited, 0);
    const events = await readJsonLines(join(dir, "logs", "session-interrupted.jsonl"));
    assert.equal(events.length, 1);
    await assert.rejects(Deno.lstat(collector.socket), Deno.errors.NotFound);
  });
});

Deno.test("a log directory removed while the collector runs is recreated and logging goes on", async () => {
  await using collector = await startTestCollector();
  await Deno.remove(collector.logDir, { recursive: true });
  await send(collector.socket, toLines([execEvent("after-rm", 0)]));

  await collector.waitForEvents("after-rm", (e) => e.length === 1);
  await collector.waitForLog(/log directory missing; recreating it/);
});

Deno.test("a collector stopped (SIGSTOP) longer than the partial line timeout keeps the half line", async () => {
  await using collector = await startTestCollector({ settings: { partialLineTimeoutMs: 300 } });
  const conn = await Deno.connect({ transport: "unix", path: collector.socket });
  const lines = toLines([execEvent("stopped", 0), execEvent("stopped", 1)]);
  await writeAll(conn, lines.slice(0, 100));
  await new Promise((resolve) => setTimeout(resolve, 100));
  Deno.kill(collector.pid, "SIGSTOP");
  // Sent while the collector cannot run; it waits in the socket for the next read.
  await writeAll(conn, lines.slice(100));
  await new Promise((resolve) => setTimeout(resolve, 1500));

  Deno.kill(collector.pid, "SIGCONT");

  const stored = await collector.waitForEvents("stopped", (e) => e.length === 2);
  assert.deepEqual(seqs(stored), [0, 1]);
  assert.doesNotMatch(collector.stderrText(), /partial line made no progress/);
  conn.close();
});
