import assert from "node:assert/strict";
import { loopScript, parseLoopOutput } from "../../bench/exec_loop.ts";

Deno.test("the loop output gives wall time from the timestamps and CPU time from times", () => {
  const sample = parseLoopOutput("100.25 101.75\n0m0.010s 0m0.005s\n1m0.200s 0m0.100s\n");
  assert.equal(sample.wallSeconds, 1.5);
  assert.ok(Math.abs(sample.cpuSeconds - 60.315) < 1e-9);
});

Deno.test("loop output without bash's times is an error", () => {
  assert.throws(() => parseLoopOutput("1 2\n"), /expected the 4 times of bash's times/);
});

Deno.test("loop output without its timestamps is an error that shows the output", () => {
  assert.throws(
    () => parseLoopOutput("oops\n0m0.1s 0m0.1s\n0m0.1s 0m0.1s"),
    /unexpected loop output.*oops/s,
  );
});

Deno.test("the loop script runs /bin/true the requested number of times in real bash", async () => {
  const out = await new Deno.Command("bash", {
    args: ["-c", loopScript(7).replace("/bin/true", "echo run")],
    env: { LC_ALL: "C" },
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(text.split("\n").filter((line) => line === "run").length, 7);
  const timing = text.split("\n").filter((line) => line !== "run").join("\n");
  assert.ok(parseLoopOutput(timing).wallSeconds > 0);
});
