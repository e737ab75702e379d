import assert from "node:assert/strict";
import { markdownTable, renderReport } from "../../bench/report.ts";

Deno.test("a markdown table has a header, a rule and one line per row", () => {
  assert.equal(
    markdownTable(["a", "b"], [["1", "2"], ["3", "4"]]),
    "| a | b |\n| --- | --- |\n| 1 | 2 |\n| 3 | 4 |",
  );
});

Deno.test("pipes inside table cells are escaped", () => {
  assert.equal(markdownTable(["x"], [["a|b"]]).split("\n")[2], "| a\\|b |");
});

Deno.test("the report lists findings in the summary and names a failed comparison", () => {
  const markdown = renderReport({
    startedAt: new Date("2026-01-01T00:00:00Z"),
    durationSeconds: 12,
    command: "deno task bench",
    machine: { cpus: 2, cpuModel: "CPU", kernel: "6.1", memoryGiB: 4, os: "Debian" },
    load: { start: "0.1 0.1 0.1", end: "0.2 0.1 0.1" },
    versions: { deno: "2.9.6" },
    results: [{
      id: "exec",
      title: "3. Exec",
      setup: ["how"],
      columns: ["contender", "ms"],
      rows: [["none", "10"]],
      findings: ["The shim is fast: **met**."],
    }],
    failures: [{ id: "ingest", title: "1. Ingest", message: "syslog-ng exited\ndetails" }],
    comparisons: ["ingest", "exec"],
  });
  assert.match(markdown, /## Summary\n\n- The shim is fast: \*\*met\*\*\.\n/);
  assert.match(markdown, /- \*\*1\. Ingest did not complete\*\*: syslog-ng exited\n/);
  assert.match(markdown, /\| none \| 10 \|/);
});
