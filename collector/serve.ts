/**
 * Entry of the served collector process. The launcher (`main.ts collect`) starts it with
 * narrow permissions and the complete configuration as JSON, so it reads no environment.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, requireAbsolutePaths, validateConfig } from "./config.ts";
import { ingestWorkerPermissions } from "./serve_command.ts";
import { serveCollector } from "./server.ts";

/** Ingest workers: two where there are two cores or more (the main thread mostly waits on I/O). */
const INGEST_WORKERS = Math.min(2, Math.max(1, navigator.hardwareConcurrency));

/**
 * Runs the served collector with `--config-json JSON`; returns the exit code.
 *
 * @example
 * ```ts
 * import { serveMain } from "./serve.ts";
 * const code = await serveMain(["--config-json", "{}"]); // 2: incomplete config
 * ```
 */
export async function serveMain(args: string[]): Promise<number> {
  try {
    const { values } = parseArgs({ args, options: { "config-json": { type: "string" } } });
    if (values["config-json"] === undefined) {
      throw new ConfigError("serve.ts needs --config-json; start it through `main.ts collect`");
    }
    const config = validateConfig(JSON.parse(values["config-json"]), "--config-json");
    requireAbsolutePaths(config);
    // serveCommandArgs starts this module with --unstable-worker-options, which narrower
    // worker permissions need.
    const ingestWorker = { permissions: ingestWorkerPermissions(), count: INGEST_WORKERS };
    return await serveCollector(config, { ingestWorker });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof SyntaxError) {
      console.error(`collector: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) {
  Deno.exit(await serveMain(Deno.args));
}
