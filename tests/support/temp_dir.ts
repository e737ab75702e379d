/**
 * Temp dirs for tests that remove themselves, with what is in them, when the test's scope ends.
 *
 * @example
 * ```ts
 * import { tempDir } from "./tests/support/temp_dir.ts";
 * await using dir = await tempDir("shim-example-");
 * await Deno.writeTextFile(`${dir.path}/file`, "x");
 * ```
 *
 * @module
 */

/** A temp dir that `await using` removes, with its contents, at the end of the scope. */
export interface TempDir extends AsyncDisposable {
  /** Absolute path of the directory. */
  path: string;
}

/**
 * Creates a fresh temp dir named `<prefix><random>` under the system temp dir.
 *
 * @example
 * ```ts
 * import { tempDir } from "./tests/support/temp_dir.ts";
 * await using dir = await tempDir("runner-home-");
 * console.log(dir.path);
 * ```
 */
export async function tempDir(prefix: string): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/**
 * Runs `body` with a fresh temp dir named `<prefix><random>`; removes the dir, with its contents,
 * when `body` settles.
 *
 * @example
 * ```ts
 * import { withTempDir } from "./tests/support/temp_dir.ts";
 * await withTempDir("collector-config-", async (dir) => {
 *   await Deno.writeTextFile(`${dir}/collector.jsonc`, "{}");
 * });
 * ```
 */
export async function withTempDir(
  prefix: string,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  await using dir = await tempDir(prefix);
  await body(dir.path);
}
