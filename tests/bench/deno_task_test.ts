import assert from "node:assert/strict";
import { REPO_ROOT, taskArgs } from "../../bench/deno_task.ts";

Deno.test("task arguments are deno.json's task line with the module path made absolute", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
  const expected = (config.tasks.collect as string).split(/\s+/).slice(1)
    .map((arg) => arg === "main.ts" ? `${REPO_ROOT}main.ts` : arg);
  assert.deepEqual(await taskArgs("collect"), expected);
});

Deno.test("an unknown task is an error that names it", async () => {
  await assert.rejects(taskArgs("no-such-task"), /no task "no-such-task"/);
});
