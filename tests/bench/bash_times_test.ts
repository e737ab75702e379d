import assert from "node:assert/strict";
import { sumBashTimes, withBashTimes } from "../../bench/bash_times.ts";

Deno.test("bash's four times are summed in seconds", () => {
  assert.ok(Math.abs(sumBashTimes("0m0.010s 0m0.000s\n1m0.200s 0m0.100s") - 60.31) < 1e-9);
});

Deno.test("text without four times is an error", () => {
  assert.throws(() => sumBashTimes("0m0.010s"), /expected the 4 times/);
});

Deno.test("a wrapped command keeps its output and exit status and is followed by times", async () => {
  const [program, ...args] = withBashTimes(["sh", "-c", "echo hello; exit 3"]);
  const out = await new Deno.Command(program, { args, stdout: "piped", env: { LC_ALL: "C" } })
    .output();
  assert.equal(out.code, 3);
  const [first, ...rest] = new TextDecoder().decode(out.stdout).trim().split("\n");
  assert.equal(first, "hello");
  assert.ok(sumBashTimes(rest.join("\n")) >= 0);
});
