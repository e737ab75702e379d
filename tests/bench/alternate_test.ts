import assert from "node:assert/strict";
import { runAlternating } from "../../bench/alternate.ts";

function recorder(order: string[], name: string) {
  return { name, run: (round: number) => Promise.resolve(order.push(`${name}${round}`)) };
}

Deno.test("contenders run alternately, one run each per round", async () => {
  const order: string[] = [];
  await runAlternating([recorder(order, "a"), recorder(order, "b"), recorder(order, "c")], {
    rounds: 2,
  });
  assert.deepEqual(order, ["a0", "b0", "c0", "a1", "b1", "c1"]);
});

Deno.test("samples are returned per contender in round order", async () => {
  const samples = await runAlternating([
    { name: "x", run: (round) => Promise.resolve(round * 10) },
  ], { rounds: 3 });
  assert.deepEqual(samples.get("x"), [0, 10, 20]);
});

Deno.test("a failing contender stops the comparison and is named in the error", async () => {
  await assert.rejects(
    runAlternating([
      { name: "good", run: () => Promise.resolve(1) },
      { name: "broken", run: () => Promise.reject(new Error("socket vanished")) },
    ], { rounds: 2 }),
    /broken failed in round 1: socket vanished/,
  );
});
