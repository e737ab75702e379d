import assert from "node:assert/strict";
import { LineCounter } from "../../bench/line_counter.ts";

Deno.test("the line counter counts only lines appended since its last poll", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const counter = new LineCounter(dir, { accept: (name) => name.endsWith(".jsonl") });
    await Deno.writeTextFile(`${dir}/a.jsonl`, "1\n2\n3");
    assert.equal(await counter.poll(), 2);
    await Deno.writeTextFile(`${dir}/a.jsonl`, "\n4\n", { append: true });
    await Deno.writeTextFile(`${dir}/b.jsonl`, "5\n");
    assert.equal(await counter.poll(), 5);
    assert.equal(await counter.poll(), 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the line counter ignores files its filter rejects", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/session-a.jsonl`, "1\n");
    await Deno.writeTextFile(`${dir}/rejected.jsonl`, "x\ny\n");
    const counter = new LineCounter(dir, { accept: (name) => name.startsWith("session-") });
    assert.equal(await counter.poll(), 1);
    assert.equal(counter.files, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
