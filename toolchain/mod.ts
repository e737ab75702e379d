/**
 * Toolchains: the pinned Zig and the shim build.
 *
 * @example
 * ```ts
 * import { buildShim } from "./toolchain/mod.ts";
 * const libraryPath = await buildShim();
 * ```
 *
 * @module
 */
export * from "./zig.ts";
export * from "./build.ts";
