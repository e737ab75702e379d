import assert from "node:assert/strict";
import { formatPercent, formatRatio, median, range, relativeOverhead } from "../../bench/stats.ts";

Deno.test("median of an odd count is the middle sample", () => {
  assert.equal(median([5, 1, 3]), 3);
});

Deno.test("median of an even count is the mean of the two middle samples", () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

Deno.test("median of no samples is an error that says to run a round", () => {
  assert.throws(() => median([]), /at least one round/);
});

Deno.test("range reports the smallest and largest sample", () => {
  assert.deepEqual(range([2, 9, 4]), { min: 2, max: 9 });
});

Deno.test("relative overhead is the fraction by which a run is slower than its baseline", () => {
  assert.ok(Math.abs(relativeOverhead(1.05, 1) - 0.05) < 1e-9);
  assert.ok(Math.abs(relativeOverhead(0.9, 1) + 0.1) < 1e-9);
});

Deno.test("ratios and percentages are formatted with their unit", () => {
  assert.equal(formatRatio(3.4215), "3.42x");
  assert.equal(formatPercent(0.0412), "+4.1 %");
  assert.equal(formatPercent(-0.02), "-2.0 %");
});
