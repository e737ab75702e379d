import assert from "node:assert/strict";
import { startTestCollector } from "../support/collector.ts";
import { execEvent, send, toLines } from "./helpers.ts";

/** The session files the process with `pid` holds open now. */
async function openSessionFiles(pid: number): Promise<string[]> {
  const open: string[] = [];
  for await (const entry of Deno.readDir(`/proc/${pid}/fd`)) {
    const target = await Deno.readLink(`/proc/${pid}/fd/${entry.name}`).catch(() => "");
    if (/\/session-[^/]+\.jsonl$/.test(target)) open.push(target);
  }
  return open;
}

async function waitUntil(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("a session file nothing was written to for idleFileMs is closed", async () => {
  await using collector = await startTestCollector({ settings: { idleFileMs: 300 } });
  await send(collector.socket, toLines([execEvent("idle-a", 0)]));
  await collector.waitForEvents("idle-a", (events) => events.length === 1);

  await waitUntil(
    "the idle session file is closed",
    async () => (await openSessionFiles(collector.pid)).length === 0,
  );
});

Deno.test("a session file in use stays open while it is written to within idleFileMs", async () => {
  await using collector = await startTestCollector({ settings: { idleFileMs: 60_000 } });
  await send(collector.socket, toLines([execEvent("busy-a", 0)]));
  await collector.waitForEvents("busy-a", (events) => events.length === 1);

  await new Promise((resolve) => setTimeout(resolve, 500));
  const open = await openSessionFiles(collector.pid);
  assert.deepEqual(open.map((path) => path.split("/").pop()), ["session-busy-a.jsonl"]);
});

Deno.test("a session whose idle file was closed continues its session_seq on the next event", async () => {
  await using collector = await startTestCollector({ settings: { idleFileMs: 200 } });
  await send(collector.socket, toLines([execEvent("idle-b", 0), execEvent("idle-b", 1)]));
  await collector.waitForEvents("idle-b", (events) => events.length === 2);
  await waitUntil(
    "the idle session file is closed",
    async () => (await openSessionFiles(collector.pid)).length === 0,
  );

  await send(collector.socket, toLines([execEvent("idle-b", 2)]));
  const events = await collector.waitForEvents("idle-b", (events) => events.length === 3);
  assert.deepEqual(events.map((event) => event.session_seq), [0, 1, 2]);
});
