import assert from "node:assert/strict";
import { runHotPath } from "../../bench/hot_path.ts";

Deno.test("the hot-path comparison reports each step and the collector's line function", async () => {
  const result = await runHotPath({ events: 300, rounds: 1, log: () => {} });
  assert.deepEqual(result.rows.map((row) => row[0]), [
    "JSON.parse",
    "validateEvent (zod)",
    "JSON.stringify",
    "collector ingestText (all of the above)",
  ]);
  assert.match(result.findings[0], /collector's line function takes/);
});
