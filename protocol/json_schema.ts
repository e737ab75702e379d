/**
 * Generates the JSON Schema of the wire format from the zod schemas, for the
 * Zig side and for anyone writing a producer in another language.
 *
 * @module
 */
import { z } from "zod";
import { AuditEventSchema } from "./schema.ts";

/** Where the generated schema is committed, relative to the project root. */
export const JSON_SCHEMA_PATH = "protocol/audit-event.schema.json";

/**
 * Renders the JSON Schema of one producer event, as committed in
 * `protocol/audit-event.schema.json` (pretty-printed, ending in a newline).
 *
 * @example
 * ```ts
 * import { renderJsonSchema } from "./json_schema.ts";
 * await Deno.writeTextFile("schema.json", renderJsonSchema());
 * ```
 */
export function renderJsonSchema(): string {
  const schema = z.toJSONSchema(AuditEventSchema, {
    target: "draft-2020-12",
    unrepresentable: "any",
  });
  const document = {
    $id: "https://containai.invalid/protocol/v1/audit-event.schema.json",
    title: "ContainAI audit event, protocol v1",
    description:
      "One event per line, UTF-8 JSON ended by \\n. Generated from protocol/schema.ts by `deno task schema`; do not edit. " +
      "Rules zod checks that JSON Schema cannot say: Open needs exactly one of fd or errno; " +
      "Connect needs port for AF_INET/AF_INET6; Exit needs exactly one of exit_code or signal.",
    ...schema,
  };
  return JSON.stringify(document, null, 2) + "\n";
}
