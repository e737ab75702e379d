import assert from "node:assert/strict";
import { runHotPath } from "../../bench/hot_path.ts";

Deno.test("the hot-path comparison reports each step and the collector's line function", async () => {
  const result = await runHotPath({ events: 300, rounds: 1, log: () => {} });
  const steps = result.rows.map((row) => row[0]);
  assert.equal(steps[0], "JSON.parse");
  assert.ok(steps.some((step) => step.startsWith("validateEvent (zod")));
  assert.ok(steps.includes("JSON.stringify"));
  assert.equal(steps.at(-1), "collector ingestText (the whole line)");
  assert.match(result.findings[0], /collector's line function takes/);
});
