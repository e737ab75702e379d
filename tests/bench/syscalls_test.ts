import assert from "node:assert/strict";
import { parseStraceTotal, straceAvailable, syscallsPerIteration } from "../../bench/syscalls.ts";

Deno.test("the total of strace's summary is read from the calls column", () => {
  const summary = [
    "% time     seconds  usecs/call     calls    errors syscall",
    "------ ----------- ----------- --------- --------- ----------------",
    " 60.00    0.000006           0        12           openat",
    "------ ----------- ----------- --------- --------- ----------------",
    "100.00    0.000010           0       250         3 total",
  ].join("\n");
  assert.equal(parseStraceTotal(summary), 250);
});

Deno.test("a summary without a total is an error that shows it", () => {
  assert.throws(() => parseStraceTotal("garbage"), /no total in strace's summary:\ngarbage/);
});

Deno.test({
  name: "system calls per exec of a bash loop are counted per iteration, start-up excluded",
  ignore: !(await straceAvailable()),
  fn: async () => {
    const workDir = await Deno.makeTempDir();
    try {
      const perExec = await syscallsPerIteration(
        (n) => ({ program: "bash", args: ["-c", `for ((i=0;i<${n};i++)); do /bin/true; done`] }),
        { small: 5, large: 15, workDir },
      );
      // fork/clone, execve, wait4 and the dynamic loader's calls: dozens, never fewer than 3.
      assert.ok(perExec >= 3 && perExec < 500, `${perExec} calls per exec`);
    } finally {
      await Deno.remove(workDir, { recursive: true });
    }
  },
});
