/**
 * The process ids on events stay true when they change: uid/gid after set*id calls (the shim
 * caches them between changes), tid per thread and per forked process, and the pid, which the
 * shim caches too, of children made every way a process can be made.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { startTestCollector, type StoredLine } from "../support/collector.ts";
import { compileC, eventsOf, payloadOf, runUnderShim, waitForShimEvents } from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";
import { CHILD_PID_SOURCE, RAW_CLONE_VM_SOURCE } from "./programs.ts";

/** The process of each Open event of `path`, in log order. */
function openersOf(events: StoredLine[], path: string): { pid: number; ppid: number }[] {
  return eventsOf(events, "Open").filter((e) => payloadOf(e).path === path)
    .map((e) => e.process as { pid: number; ppid: number });
}

Deno.test("events after setresgid/setresuid carry the new gid and uid", {
  ignore: Deno.uid() !== 0,
}, async () => {
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-ids-");
  const dir = temp.path;
  await Deno.chmod(dir, 0o777);
  const script = [
    "import os",
    `open(${JSON.stringify(join(dir, "as-root"))}, "w").close()`,
    "os.setresgid(65534, 65534, 65534)",
    `open(${JSON.stringify(join(dir, "as-nogroup"))}, "w").close()`,
    "os.setresuid(65534, 65534, 65534)",
    `open(${JSON.stringify(join(dir, "as-nobody"))}, "w").close()`,
  ].join("\n");
  const result = await runUnderShim(["python3", "-c", script], {
    socket: collector.socket,
    session: "ids",
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "ids",
    (e) => eventsOf(e, "Open").some((x) => payloadOf(x).path === join(dir, "as-nobody")),
  );
  const processOf = (name: string) =>
    eventsOf(events, "Open").find((x) => payloadOf(x).path === join(dir, name))!.process as {
      uid: number;
      gid: number;
    };
  assertEquals([processOf("as-root").uid, processOf("as-root").gid], [0, 0]);
  assertEquals([processOf("as-nogroup").uid, processOf("as-nogroup").gid], [0, 65534]);
  assertEquals([processOf("as-nobody").uid, processOf("as-nobody").gid], [65534, 65534]);
});

Deno.test("a child whose parent exited reports its new parent, not the old one", async () => {
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-orphan-");
  const dir = temp.path;
  const early = join(dir, "early");
  const marker = join(dir, "orphan");
  const stuck = join(dir, "never-reparented");
  const parentFile = join(dir, "parent");
  // Real conditions, no timing guesses: the parent exits only after the child has reported
  // "early" (it waits for the child to close the pipe), and the child reports "orphan" only once
  // the kernel shows it a new parent, plus the shim's documented ppid cache age (at most 1 ms,
  // shim/src/ids.zig), so an event may no longer carry the exited parent.
  const script = [
    "import os, time",
    "parent = os.getpid()",
    "r, w = os.pipe()",
    "if os.fork() == 0:",
    "    os.close(r)",
    `    open(${JSON.stringify(early)}, "w").close()`,
    "    os.close(w)",
    "    deadline = time.monotonic() + 30",
    "    while os.getppid() == parent:",
    "        if time.monotonic() > deadline:",
    `            open(${JSON.stringify(stuck)}, "w").close()`,
    "            os._exit(1)",
    "        time.sleep(0.005)",
    "    time.sleep(0.005)",
    `    open(${JSON.stringify(marker)}, "w").close()`,
    "    os._exit(0)",
    "os.close(w)",
    `open(${JSON.stringify(parentFile)}, "w").close()`,
    "os.read(r, 1)",
  ].join("\n");
  const result = await runUnderShim(["python3", "-c", script], {
    socket: collector.socket,
    session: "orphan",
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "orphan",
    // The parent reported on its own connection, which the collector may store after the child's.
    (e) =>
      openersOf(e, parentFile).length > 0 &&
      (openersOf(e, marker).length > 0 || openersOf(e, stuck).length > 0),
    { timeoutMs: 40_000 },
  );
  assertEquals(openersOf(events, stuck), [], "the child still saw its parent after 30 s");
  const [parent] = openersOf(events, parentFile);
  const [orphan] = openersOf(events, marker);
  const [before] = openersOf(events, early);
  // While the parent lived the child reported it; after it exited, no longer.
  assertEquals(before.ppid, parent.pid);
  assertEquals(orphan.pid, before.pid);
  assertEquals(orphan.ppid !== parent.pid, true, `ppid ${orphan.ppid} is the exited parent`);
});

const childMakers = [
  { mode: "vfork", how: "vfork (runs on the parent's memory)" },
  { mode: "clone-vm", how: "clone with CLONE_VM (runs on the parent's memory)" },
  { mode: "_Fork", how: "_Fork (runs no fork handlers)" },
  { mode: "raw-fork", how: "the raw fork system call (runs no fork handlers)" },
];

for (const { mode, how } of childMakers) {
  Deno.test(`a child made by ${how} reports with its own pid, its parent with its own`, async () => {
    const program = await compileC(CHILD_PID_SOURCE);
    await using collector = await startTestCollector();
    await using temp = await tempDir("shim-child-pid-");
    const session = `child-pid-${mode.replace("_", "")}`;
    const result = await runUnderShim([program, mode, temp.path], {
      socket: collector.socket,
      session,
    });
    assertEquals(result.code, 0, result.stderr);
    const [parent, child] = result.stdout.trim().split(" ").map(Number);
    const names = ["parent-before", "child", "parent-after"];
    const pidOfOpen = (events: StoredLine[], name: string) =>
      openersOf(events, join(temp.path, name))[0]?.pid;
    const events = await waitForShimEvents(
      collector,
      session,
      (events) => names.every((name) => pidOfOpen(events, name) !== undefined),
    );
    assertEquals(names.map((name) => pidOfOpen(events, name)), [parent, child, parent]);
  });
}

Deno.test("a raw clone(CLONE_VM) child never makes its parent report itself as its own parent", async () => {
  const program = await compileC(RAW_CLONE_VM_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-raw-clone-");
  const result = await runUnderShim([program, temp.path], {
    socket: collector.socket,
    session: "raw-clone-vm",
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "raw-clone-vm",
    (events) => openersOf(events, join(temp.path, "P2")).length === 20,
  );
  const [first] = openersOf(events, join(temp.path, "P0"));
  const after = openersOf(events, join(temp.path, "P2")).map((p) => [p.pid, p.ppid]);
  assertEquals(after, Array(20).fill([first.pid, first.ppid]));
});
