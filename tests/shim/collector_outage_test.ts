/**
 * Collector absent or stalled: the program runs on without waiting, reconnects are rate-limited,
 * at most one send waits the timeout, and every event that could not be delivered is counted in
 * `dropped` on the next delivered one.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { startTestCollector, type StoredLine } from "../support/collector.ts";
import {
  compileC,
  payloadOf,
  requireProgram,
  shimEnv,
  waitForShimEvents,
} from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";
import { OPENS_SOURCE, RESTART_SOURCE } from "./programs.ts";

/** Starts `strace -f -o TRACE ... command` with the shim injected. */
function spawnTraced(
  trace: string,
  straceArgs: string[],
  command: string[],
  env: Record<string, string>,
): Deno.ChildProcess {
  requireProgram("strace", "apt-get install strace");
  return new Deno.Command("strace", {
    args: ["-f", "-o", trace, ...straceArgs, "--", ...command],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Each delivered event stands for itself plus the `dropped` ones before it. */
function accountedFor(events: StoredLine[]): number {
  return events.reduce((sum, e) => sum + 1 + ((e.dropped as number | undefined) ?? 0), 0);
}

function pidOf(event: StoredLine): number {
  return (event.process as { pid: number }).pid;
}

async function waitForPath(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      await Deno.stat(path);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${path} did not appear in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function touchAfter(file: string, ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  await Deno.writeTextFile(file, "");
}

Deno.test("with no collector, reconnects are rate-limited and drops are counted once it appears", async () => {
  const program = await compileC(OPENS_SOURCE);
  await using temp = await tempDir("shim-absent-");
  const dir = temp.path;
  const socket = join(dir, "audit.sock");
  const trace = join(dir, "trace");
  const go = join(dir, "go");
  const done = join(dir, "loop-done");
  const env = await shimEnv({
    socket,
    session: "absent",
    env: { CONTAINAI_AUDIT_RECONNECT_MS: "200" },
  });
  const started = Date.now();
  const child = spawnTraced(trace, ["-e", "trace=connect"], [
    program,
    "/etc/hostname",
    "5000",
    go,
    "/etc/passwd",
    done,
  ], env);
  // The whole loop runs against the missing socket (however slow the machine), then the
  // collector comes up; the final open comes more than one reconnect interval later.
  await waitForPath(done, 60_000);
  await using collector = await startTestCollector({ socket, logDir: join(dir, "logs") });
  await touchAfter(go, 400);
  const out = await child.output();
  const elapsed = Date.now() - started;
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const attempts = (await Deno.readTextFile(trace)).split("\n")
    .filter((line) => line.includes("connect(") && line.includes(socket)).length;
  assert(attempts >= 1);
  assert(attempts <= 1 + Math.ceil(elapsed / 200), `${attempts} attempts in ${elapsed} ms`);
  const events = await waitForShimEvents(
    collector,
    "absent",
    (events) => events.some((e) => payloadOf(e).path === "/etc/passwd"),
  );
  const final = events.find((e) => payloadOf(e).path === "/etc/passwd")!;
  const own = events.filter((e) => pidOf(e) === pidOf(final) && e.event_type === "Open");
  // The first event delivered after the collector came up reports what was lost before.
  assert(own.some((e) => (e.dropped as number | undefined ?? 0) > 0));
  assertEquals(accountedFor(own), (final.seq as number) + 1);
});

Deno.test("with a stalled collector at most one send waits the timeout, the rest drop and are counted", async () => {
  const program = await compileC(OPENS_SOURCE);
  const dir = await Deno.makeTempDir({ prefix: "shim-stalled-" });
  await using collector = await startTestCollector();
  try {
    const trace = join(dir, "trace");
    const go = join(dir, "go");
    const env = await shimEnv({ socket: collector.socket, session: "stalled" });
    Deno.kill(collector.pid, "SIGSTOP");
    let out: Deno.CommandOutput;
    try {
      const done = join(dir, "loop-done");
      const child = spawnTraced(trace, ["-e", "trace=sendto,poll"], [
        program,
        "/etc/hostname",
        "3000",
        go,
        "/etc/passwd",
        done,
      ], env);
      // The whole loop runs while the collector is stopped; the final open comes after it resumes.
      await waitForPath(done, 60_000);
      Deno.kill(collector.pid, "SIGCONT");
      await touchAfter(go, 500);
      out = await child.output();
    } finally {
      Deno.kill(collector.pid, "SIGCONT");
    }
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const lines = (await Deno.readTextFile(trace)).split("\n");
    const sends = lines.filter((l) => l.includes("sendto("));
    // Sends never block (MSG_DONTWAIT); a send that finds the socket full waits for room with
    // poll, and a wait that timed out is a poll that returned 0. After it, the shim does not even
    // try until the collector has read what is queued, so far fewer sends than events are made.
    // Durations are not compared: strace on a busy machine stretches them.
    const waited = lines.filter((l) => l.includes("poll(") && l.includes("= 0 (Timeout)"));
    assertEquals(waited.length, 1, waited.join("\n"));
    assert(sends.every((l) => l.includes("MSG_DONTWAIT")), "no send may block in the kernel");
    assert(sends.length < 3001 - 1000, `${sends.length} sends for 3001 events`);
    const events = await waitForShimEvents(
      collector,
      "stalled",
      (events) => events.some((e) => payloadOf(e).path === "/etc/passwd"),
    );
    const final = events.find((e) => payloadOf(e).path === "/etc/passwd")!;
    assert((final.dropped as number) > 0, "drops are reported on the next delivered event");
    // strace runs under the shim too, and its child's execve of the program has the program's
    // pid (in strace's image, numbered on its own): count the program's own opens.
    const own = events.filter((e) => pidOf(e) === pidOf(final) && e.event_type === "Open");
    assertEquals(accountedFor(own), 3001);
    assertEquals(final.seq, 3000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("after a collector restart, a forked child's exec and the parent's next open still arrive", async () => {
  const program = await compileC(RESTART_SOURCE);
  await using temp = await tempDir("shim-restart-");
  const dir = temp.path;
  const socket = join(dir, "audit.sock");
  const logDir = join(dir, "logs");
  const mark = join(dir, "mark");
  const go = join(dir, "go");
  await Deno.writeTextFile(mark, "");
  await using first = await startTestCollector({ socket, logDir });
  const env = await shimEnv({ socket, session: "restart" });
  const child = new Deno.Command(program, {
    args: [mark, go],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // The parent's connection is open once its first open is stored; then the collector restarts.
  await waitForShimEvents(
    first,
    "restart",
    (events) => events.some((e) => payloadOf(e).path === mark),
  );
  assertEquals(await first.stop(), 0);
  await using second = await startTestCollector({ socket, logDir });
  await Deno.writeTextFile(go, "");
  const out = await child.output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const events = await waitForShimEvents(
    second,
    "restart",
    (events) => events.filter((e) => payloadOf(e).path === mark).length >= 2,
  );
  const exec = events.find((e) =>
    e.event_type === "Exec" && (payloadOf(e).argv as string[]).includes("restart-marker")
  );
  assert(exec, "the child's exec, sent first on the dead inherited connection, is stored");
  assert(events.every((e) => e.dropped === undefined), "nothing was dropped");
});
