/**
 * `main.ts schema`: writes the generated JSON Schema next to the zod schemas.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { JSON_SCHEMA_PATH, renderJsonSchema } from "./json_schema.ts";

const HELP = `usage: main.ts schema [--check]

Regenerates ${JSON_SCHEMA_PATH} from protocol/schema.ts.
  --check   write nothing; exit 1 when the committed file is stale`;

/** Runs `schema [--check]`; returns the exit code. */
export async function schemaCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { check: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const path = new URL(`../${JSON_SCHEMA_PATH}`, import.meta.url);
  const fresh = renderJsonSchema();
  if (values.check) {
    const committed = await Deno.readTextFile(path).catch(() => "");
    if (committed === fresh) return 0;
    console.error(`${JSON_SCHEMA_PATH} is stale: run \`deno task schema\` and commit it`);
    return 1;
  }
  await Deno.writeTextFile(path, fresh);
  console.error(`wrote ${JSON_SCHEMA_PATH}`);
  return 0;
}
