import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { limitLists, MAX_STRING_CHARS, MAX_TOTAL_CHARS } from "../../runner/payload_limit.ts";

Deno.test("argv and env within the limits are kept whole and not marked truncated", () => {
  assertEquals(limitLists(["sh", "-c", "ls"], ["A=1"]), {
    argv: ["sh", "-c", "ls"],
    env: ["A=1"],
    truncated: false,
  });
});

Deno.test("a string longer than the per-string limit is cut and marks the event truncated", () => {
  const long = `X=${"y".repeat(MAX_STRING_CHARS)}`;
  const limited = limitLists(["sh"], [long, "B=2"]);
  assertEquals(limited.env.map((entry) => entry.length), [MAX_STRING_CHARS, 3]);
  assertEquals(limited.truncated, true);
});

Deno.test("env beyond the total budget is dropped after argv is kept", () => {
  const entry = "E=" + "v".repeat(MAX_STRING_CHARS - 2);
  const env = Array.from({ length: 40 }, () => entry);
  const limited = limitLists(["agent", "--task", "x"], env);
  assertEquals(limited.argv, ["agent", "--task", "x"]);
  const total = [...limited.argv, ...limited.env].reduce((sum, item) => sum + item.length, 0);
  assertEquals(total, MAX_TOTAL_CHARS);
  assertEquals(limited.truncated, true);
});
