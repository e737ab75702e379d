import assert from "node:assert/strict";
import { JSON_SCHEMA_PATH, renderJsonSchema, validateEvent } from "../../protocol/mod.ts";
import { VALID_EVENTS } from "./fixtures.ts";

const ROOT = new URL("../../", import.meta.url);

Deno.test("the committed JSON Schema matches the zod schemas (run `deno task schema` when this fails)", async () => {
  const committed = await Deno.readTextFile(new URL(JSON_SCHEMA_PATH, ROOT));
  assert.deepEqual(committed, renderJsonSchema());
});

Deno.test("docs/protocol.md shows one full example per event type, each valid", async () => {
  const doc = await Deno.readTextFile(new URL("docs/protocol.md", ROOT));
  const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]));
  for (const type of Object.keys(VALID_EVENTS)) {
    const example = blocks.find((block) => block.event_type === type);
    assert(example !== undefined, `docs/protocol.md has no example of ${type}`);
  }
  for (
    const block of blocks.filter((b) => b.event_type !== undefined && b.session_seq === undefined)
  ) {
    const result = validateEvent(block);
    assert(result.ok, `a docs example is invalid: ${JSON.stringify(!result.ok && result.issues)}`);
  }
});

Deno.test("docs/protocol.md documents every payload field the schemas accept", async () => {
  const doc = await Deno.readTextFile(new URL("docs/protocol.md", ROOT));
  const schema = JSON.parse(renderJsonSchema());
  for (const variant of schema.oneOf) {
    for (const field of Object.keys(variant.properties.payload.properties)) {
      assert(
        doc.includes(`\`${field}\``),
        `docs/protocol.md does not mention payload field \`${field}\``,
      );
    }
  }
});
