/**
 * Protocol v1 of the audit system: the schemas, types and validation every
 * TypeScript component shares, and the JSON Schema generator for the Zig shim.
 *
 * @example
 * ```ts
 * import { validateEvent } from "./protocol/mod.ts";
 * const result = validateEvent(JSON.parse('{"v":1}'));
 * console.log(result.ok); // false
 * ```
 *
 * @module
 */
export * from "./schema.ts";
export * from "./validate.ts";
export * from "./fast_validate.ts";
export * from "./json_schema.ts";
