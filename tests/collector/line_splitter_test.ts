import assert from "node:assert/strict";
import { LineSplitter } from "../../collector/line_splitter.ts";

const encode = (text: string) => new TextEncoder().encode(text);

/** Feeds `chunks` and returns what the sink saw, lines and overlong heads as text. */
function split(maxLineBytes: number, chunks: string[], end = false): string[] {
  const seen: string[] = [];
  const decoder = new TextDecoder();
  const splitter = new LineSplitter(maxLineBytes, {
    lines: (run) => seen.push(...decoder.decode(run).split("\n")),
    overlong: (head) => seen.push(`OVERLONG(${decoder.decode(head).slice(0, 3)})`),
  });
  for (const chunk of chunks) {
    const bytes = encode(chunk);
    splitter.push(bytes);
    bytes.fill(0x21); // the caller reuses its read buffer: held bytes must be copies
  }
  if (end) splitter.end();
  return seen;
}

Deno.test("lines split across chunks are joined, and the caller may reuse its buffer", () => {
  assert.deepEqual(split(100, ["ab", "c\nd", "e\n"]), ["abc", "de"]);
});

Deno.test("several lines in one chunk are all delivered in order", () => {
  assert.deepEqual(split(100, ["a\nb\nc\n"]), ["a", "b", "c"]);
});

Deno.test("a line longer than the limit is reported once and skipped up to its newline", () => {
  assert.deepEqual(split(4, ["ok\nxxxx", "xxxx", "xx\nnext\n"]), ["ok", "OVERLONG(xxx)", "next"]);
});

Deno.test("an overlong line inside a single chunk does not hide its neighbours", () => {
  assert.deepEqual(split(4, ["a\nbbbbbbbbb\nc\n"]), ["a", "OVERLONG(bbb)", "c"]);
});

Deno.test("a line of exactly the limit is accepted", () => {
  assert.deepEqual(split(4, ["abcd\n"]), ["abcd"]);
});

Deno.test("an unterminated last line is delivered when the stream ends", () => {
  assert.deepEqual(split(100, ["a\nlast"], true), ["a", "last"]);
});

Deno.test("a half line is not delivered while the stream is still open", () => {
  assert.deepEqual(split(100, ["a\nhalf"]), ["a"]);
});

Deno.test("a shared budget stops splitters from holding more than its limit together", () => {
  const budget = { used: 0, limit: 6 };
  const seen: string[] = [];
  const decoder = new TextDecoder();
  const sink = (name: string) => ({
    lines: (run: Uint8Array) => seen.push(`${name}:${decoder.decode(run)}`),
    overlong: (_head: Uint8Array, cause: string) => seen.push(`${name}:OVERLONG(${cause})`),
  });
  const a = new LineSplitter(100, sink("a"), { budget });
  const b = new LineSplitter(100, sink("b"), { budget });
  a.push(encode("aaaa"));
  b.push(encode("bbbb"));
  b.push(encode("b\nok\n"));
  a.push(encode("\n"));
  assert.deepEqual(seen, ["b:OVERLONG(memory)", "b:ok", "a:aaaa"]);
  assert.equal(budget.used, 0);
});
