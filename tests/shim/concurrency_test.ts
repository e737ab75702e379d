/**
 * Whole lines under concurrency: many threads share one connection without interleaving or
 * losing lines; forked children report on connections of their own, never on their parent's
 * (issue 4, rule 5), vforked ones on one-shot connections, each with its own seq.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { readJsonLines, startTestCollector, type StoredLine } from "../support/collector.ts";
import {
  compileC,
  eventsOf,
  payloadOf,
  requireProgram,
  runUnderShim,
  shimEnv,
  waitForShimEvents,
} from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";
import {
  FORK_STORM_SOURCE,
  LOW_FD_SOURCE,
  SHARED_CONNECTION_SOURCE,
  THREADS_SOURCE,
  VFORK_SOURCE,
} from "./programs.ts";

function pidOf(event: StoredLine): number {
  return (event.process as { pid: number }).pid;
}

Deno.test("32 threads x 2000 opens arrive as exactly 64,000 whole, valid events", async () => {
  const program = await compileC(THREADS_SOURCE, { args: ["-pthread"] });
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-threads-");
  const dir = temp.path;
  const file = join(dir, "target");
  await Deno.writeTextFile(file, "");
  const result = await runUnderShim([program, file, "32", "2000"], {
    socket: collector.socket,
    session: "threads",
    // A busy CI machine may keep the collector off the CPU for a while: this test is about
    // whole lines and exact counts, not about the stall timeout.
    env: { CONTAINAI_AUDIT_SEND_TIMEOUT_MS: "10000" },
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "threads",
    (events) => eventsOf(events, "Open").length >= 64_000,
    { timeoutMs: 60_000 },
  );
  const opens = eventsOf(events, "Open").filter((e) => payloadOf(e).path === file);
  assertEquals(opens.length, 64_000);
  const tids = new Set(opens.map((e) => (e.process as { tid: number }).tid));
  assertEquals(tids.size, 32);
  const seqs = new Set(opens.map((e) => e.seq as number));
  assertEquals(seqs.size, 64_000);
  assert(opens.every((e) => e.dropped === undefined));
});

Deno.test("200 forked children report with their own pid and seq from 0, each on its own socket", async () => {
  const program = await compileC(FORK_STORM_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-fork-");
  const dir = temp.path;
  const result = await runUnderShim([program, dir, "200"], {
    socket: collector.socket,
    session: "forks",
    env: { CONTAINAI_AUDIT_SEND_TIMEOUT_MS: "10000" },
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "forks",
    (events) => eventsOf(events, "Open").length >= 201,
    { timeoutMs: 30_000 },
  );
  const children = eventsOf(events, "Open").filter((e) =>
    String(payloadOf(e).path).includes("/child-")
  );
  assertEquals(children.length, 200);
  assertEquals(new Set(children.map(pidOf)).size, 200);
  assert(children.every((e) => e.seq === 0), "each child counts its own events from 0");
  const ids = children.map((e) => e.process as { pid: number; tid: number });
  assert(ids.every((p) => p.tid === p.pid), "a forked child reports its own tid");
  // Each process lists the sockets at fd 900 and above after its open: a child holds one, its
  // own (its copy of the parent's was closed when it connected).
  const lines = result.stdout.trim().split("\n").map((line) => line.split(" "));
  const parentSockets = lines.filter(([who]) => who === "parent").map(([, , inode]) => inode);
  assertEquals(parentSockets.length, 1);
  const childSockets = lines.filter(([who]) => who === "child");
  assertEquals(childSockets.length, 200);
  assertEquals(new Set(childSockets.map(([, pid]) => pid)).size, 200);
  assertEquals(new Set(childSockets.map(([, , inode]) => inode)).size, 200);
  assert(childSockets.every(([, , inode]) => inode !== parentSockets[0]));
});

Deno.test("a forked child never writes on its parent's connection", async () => {
  requireProgram("strace", "apt-get install strace");
  const program = await compileC(SHARED_CONNECTION_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-rule5-");
  const trace = join(temp.path, "trace");
  const env = await shimEnv({ socket: collector.socket, session: "rule5" });
  const injected = Object.entries(env).flatMap(([name, value]) => ["-E", `${name}=${value}`]);
  // Small and 40 KiB exec lines: children send on their own connections and one-shot ones.
  const out = await new Deno.Command("strace", {
    args: [
      "-f",
      "-y",
      "-e",
      "trace=sendto",
      "-o",
      trace,
      ...injected,
      "--",
      program,
      temp.path,
      "8",
      String(40 * 1024),
    ],
    env: { PATH: env.PATH },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  // "PID sendto(FD<socket:[INODE]>, ...": the sockets each process sent on.
  const sentOn = new Map<string, Set<string>>();
  for (const line of (await Deno.readTextFile(trace)).split("\n")) {
    const match = /^(\d+) +sendto\(\d+<socket:\[(\d+)\]>/.exec(line);
    if (!match) continue;
    const sockets = sentOn.get(match[1]) ?? new Set<string>();
    sockets.add(match[2]);
    sentOn.set(match[1], sockets);
  }
  const [parent, ...children] = [...sentOn.keys()].sort((a, b) => Number(a) - Number(b));
  assertEquals(children.length, 8, "every child sent");
  const parentSockets = sentOn.get(parent)!;
  for (const child of children) {
    const shared = [...sentOn.get(child)!].filter((inode) => parentSockets.has(inode));
    assertEquals(shared, [], `child ${child} wrote on the parent's connection`);
  }
});

Deno.test("lines of a parent and its forked children never interleave, even 40 KiB ones", async () => {
  const program = await compileC(SHARED_CONNECTION_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-shared-");
  const dir = temp.path;
  const result = await runUnderShim([program, dir, "40", String(40 * 1024)], {
    socket: collector.socket,
    session: "shared",
    env: { CONTAINAI_AUDIT_SEND_TIMEOUT_MS: "10000" },
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "shared",
    (events) => eventsOf(events, "Exec").length >= 40 && eventsOf(events, "Open").length >= 1200,
    { timeoutMs: 30_000 },
  );
  const opens = eventsOf(events, "Open");
  assertEquals(opens.filter((e) => String(payloadOf(e).path).endsWith("/parent")).length, 400);
  assertEquals(opens.filter((e) => String(payloadOf(e).path).includes("/child-")).length, 800);
  const execs = eventsOf(events, "Exec").filter((e) =>
    (payloadOf(e).argv as string[])[1]?.length === 40 * 1024
  );
  assertEquals(execs.length, 40);
  const rejected = await readJsonLines(join(collector.logDir, "rejected.jsonl"));
  assertEquals(rejected, []);
});

Deno.test("a vfork child reports its exec without disturbing the parent's state", async () => {
  const program = await compileC(VFORK_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-vfork-");
  const dir = temp.path;
  const result = await runUnderShim([program, dir], {
    socket: collector.socket,
    session: "vfork",
  });
  assertEquals(result.code, 0, result.stderr);
  const markerExec = (events: StoredLine[]) =>
    eventsOf(events, "Exec", "execve").find((e) =>
      (payloadOf(e).argv as string[]).includes("vfork-marker")
    );
  // The child reports on its own connection, which the collector may store after the parent's
  // later events: wait for both.
  const events = await waitForShimEvents(
    collector,
    "vfork",
    (events) =>
      markerExec(events) !== undefined &&
      events.some((e) => String(payloadOf(e).path).endsWith("/after")),
  );
  const before = events.find((e) => String(payloadOf(e).path).endsWith("/before"))!;
  const after = events.find((e) => String(payloadOf(e).path).endsWith("/after"))!;
  const exec = markerExec(events);
  assert(exec, "the vfork child's execve is reported");
  assert(pidOf(exec) !== pidOf(before));
  assertEquals(exec.seq, 0);
  assertEquals((exec.process as { ppid: number }).ppid, pidOf(before));
  // The parent's numbering continues without a gap: the child did not touch it.
  assertEquals(pidOf(after), pidOf(before));
  assertEquals(after.seq, (before.seq as number) + 1);
});

Deno.test("one-shot connections leave the low descriptors to the program, even for fork children", async () => {
  const program = await compileC(LOW_FD_SOURCE, { args: ["-pthread"] });
  await using collector = await startTestCollector();
  const result = await runUnderShim([program, "300"], {
    socket: collector.socket,
    session: "lowfd",
  });
  assertEquals(result.code, 0, result.stderr);
  const counts = Object.fromEntries(
    result.stdout.trim().split(" ").map((field) => field.split("=")).map((
      [k, v],
    ) => [k, Number(v)]),
  );
  assertEquals(counts.children, 300);
  // A new socket is moved above fd 900 right after socket(), and a fork waits for that instant
  // (before, the move came after the send, or never for one-shots: 92 % of the children). The
  // waits on both sides are bounded (about a millisecond), so a thread kept off the CPU in that
  // instant could still let one through: 3 % is allowed for a loaded machine (5 of 300 were seen
  // with three test suites running beside it; without the move it was 276), 0 is the rule.
  assert(counts.low_socket <= 9, `${counts.low_socket} of 300 children saw a low socket`);
  assert(counts.first_open_not_3 <= 9, `${counts.first_open_not_3} first opens were not fd 3`);
});
