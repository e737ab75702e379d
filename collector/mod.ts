/**
 * The collector sidecar: serves the audit socket, validates producers' events against
 * protocol v1 and appends them to `<log-dir>/session-<id>.jsonl`.
 *
 * @example
 * ```ts
 * import { collectorAnswers, startCollectorProcess } from "./collector/mod.ts";
 * const collector = await startCollectorProcess({ socket: "/tmp/a.sock", logDir: "/tmp/logs" });
 * console.log(await collectorAnswers(collector.socket)); // true
 * await collector.stop();
 * ```
 *
 * @module
 */
export { collectCommand } from "./collect_command.ts";
export {
  type CollectorProcess,
  type StartCollectorOptions,
  startCollectorProcess,
} from "./process.ts";
export { collectorAnswers } from "./socket_path.ts";
export {
  type CollectorConfig,
  ConfigError,
  type ConfigSources,
  DEFAULT_CONFIG,
  LOG_DIR_ENV,
  resolveConfig,
  SOCKET_ENV,
} from "./config.ts";
export { servePermissionFlags } from "./serve_command.ts";
