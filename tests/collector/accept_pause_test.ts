import assert from "node:assert/strict";
import { AcceptPause } from "../../collector/accept_pause.ts";

/** Resolves after the event loop has run the pending timers (and any pause they hold). */
function afterTimers(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

Deno.test("a lone accepted connection is handled without a pause", async () => {
  const pause = new AcceptPause(5);
  pause.afterAccept();
  await afterTimers();
  assert.equal(pause.pauses, 0);
});

Deno.test("a second accept less than a pause after the first pauses the event loop", async () => {
  const pause = new AcceptPause(5);
  pause.afterAccept();
  pause.afterAccept();
  await afterTimers();
  assert.equal(pause.pauses, 1);
});

Deno.test("accepts during a pause schedule no second one", async () => {
  const pause = new AcceptPause(5);
  for (let i = 0; i < 10; i++) pause.afterAccept();
  await afterTimers();
  assert.equal(pause.pauses, 1);
});

Deno.test("accepts while a connection is read again soon after its last read do not pause", async () => {
  const pause = new AcceptPause(5);
  const firstRead = pause.afterRead(Number.NEGATIVE_INFINITY);
  pause.afterRead(firstRead);
  pause.afterAccept();
  pause.afterAccept();
  await afterTimers();
  assert.equal(pause.pauses, 0);
});

Deno.test("a connection's first read does not stop the pauses", async () => {
  const pause = new AcceptPause(5);
  pause.afterRead(Number.NEGATIVE_INFINITY);
  pause.afterAccept();
  pause.afterAccept();
  await afterTimers();
  assert.equal(pause.pauses, 1);
});

Deno.test("a pause of 0 ms turns pausing off", async () => {
  const pause = new AcceptPause(0);
  for (let i = 0; i < 10; i++) pause.afterAccept();
  await afterTimers();
  assert.equal(pause.pauses, 0);
});
