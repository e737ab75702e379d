/**
 * The collector's configuration: embedded defaults, a JSONC file, the environment and flags,
 * merged in that order of increasing precedence and validated with zod.
 *
 * @module
 */
import { z } from "zod";
import { parse as parseJsonc, type ParseError, printParseErrorCode } from "jsonc-parser";
import { isAbsolute, resolve } from "node:path";

/** Default socket path of the sidecar. */
export const DEFAULT_SOCKET = "/run/containai/audit.sock";
/** Default directory of the session logs. */
export const DEFAULT_LOG_DIR = "/mnt/logs";
/** Environment variable naming the socket path. */
export const SOCKET_ENV = "CONTAINAI_AUDIT_SOCKET";
/** Environment variable naming the log directory. */
export const LOG_DIR_ENV = "CONTAINAI_AUDIT_LOG_DIR";

/** Unix socket paths are limited to 107 bytes by `sockaddr_un`. */
const MAX_SOCKET_PATH_BYTES = 107;

const positiveInt = (max: number) => z.int().min(1).max(max);

/** Every setting of the collector; docs/collector.md describes each. */
export interface CollectorConfig {
  /** Socket path to serve (absolute after {@linkcode resolveConfig}). */
  socket: string;
  /** Directory of the session files and rejected.jsonl. */
  logDir: string;
  /** Socket permissions as an octal string, e.g. "0660". */
  socketMode: string;
  /** Longest accepted line in bytes. */
  maxLineBytes: number;
  /** fsync written files at least this often; 0 = after every batch. */
  fsyncIntervalMs: number;
  /** Session files kept open at most (LRU). */
  maxOpenFiles: number;
  /** Close a session file nothing was written to for this long. */
  idleFileMs: number;
  /** Concurrent producer connections at most. */
  maxConnections: number;
  /** Close a connection whose half line made no progress for this long. */
  partialLineTimeoutMs: number;
  /** Unwritten bytes above which reading pauses; also the limit of held half lines. */
  maxBufferBytes: number;
  /** Interval of the stats line on stderr while busy. */
  statsIntervalMs: number;
  /** Rate limit of rejected.jsonl records. */
  rejectRecordsPerSecond: number;
  /** Longest time spent reading clients after SIGTERM/SIGINT. */
  shutdownDrainMs: number;
  /** After an accept, sleep this long before taking more connections (accept_pause.ts); 0 = off. */
  acceptPauseMs: number;
}

/** Every setting of the collector, with its constraints. */
const CollectorConfigSchema = z.strictObject({
  socket: z.string().min(1).refine(
    (path) => new TextEncoder().encode(path).length <= MAX_SOCKET_PATH_BYTES,
    { message: `socket path must be at most ${MAX_SOCKET_PATH_BYTES} bytes (sockaddr_un)` },
  ),
  logDir: z.string().min(1),
  socketMode: z.string().regex(/^0?[0-7]{3}$/, {
    message: 'socketMode must be an octal string such as "0660"',
  }),
  maxLineBytes: positiveInt(256 * 1024 * 1024),
  fsyncIntervalMs: z.int().min(0).max(3_600_000),
  maxOpenFiles: positiveInt(65_536),
  idleFileMs: positiveInt(86_400_000),
  maxConnections: positiveInt(1_000_000),
  partialLineTimeoutMs: positiveInt(86_400_000),
  maxBufferBytes: positiveInt(16 * 1024 * 1024 * 1024),
  statsIntervalMs: positiveInt(86_400_000),
  rejectRecordsPerSecond: positiveInt(1_000_000),
  shutdownDrainMs: positiveInt(60_000),
  acceptPauseMs: z.int().min(0).max(100),
});

/** Embedded defaults, the lowest precedence. */
export const DEFAULT_CONFIG: Readonly<CollectorConfig> = Object.freeze({
  socket: DEFAULT_SOCKET,
  logDir: DEFAULT_LOG_DIR,
  socketMode: "0660",
  maxLineBytes: 1024 * 1024,
  fsyncIntervalMs: 1000,
  maxOpenFiles: 256,
  idleFileMs: 60_000,
  maxConnections: 4096,
  partialLineTimeoutMs: 30_000,
  maxBufferBytes: 16 * 1024 * 1024,
  statsIntervalMs: 10_000,
  rejectRecordsPerSecond: 100,
  shutdownDrainMs: 3000,
  acceptPauseMs: 5,
});

/** The command-line flag of each setting (kebab-case of the config key). */
export const CONFIG_FLAGS: ReadonlyArray<[flag: string, key: keyof CollectorConfig]> = [
  ["socket", "socket"],
  ["log-dir", "logDir"],
  ["socket-mode", "socketMode"],
  ["max-line-bytes", "maxLineBytes"],
  ["fsync-interval-ms", "fsyncIntervalMs"],
  ["max-open-files", "maxOpenFiles"],
  ["idle-file-ms", "idleFileMs"],
  ["max-connections", "maxConnections"],
  ["partial-line-timeout-ms", "partialLineTimeoutMs"],
  ["max-buffer-bytes", "maxBufferBytes"],
  ["stats-interval-ms", "statsIntervalMs"],
  ["reject-records-per-second", "rejectRecordsPerSecond"],
  ["shutdown-drain-ms", "shutdownDrainMs"],
  ["accept-pause-ms", "acceptPauseMs"],
];

/** A configuration problem the user must fix; the message names the field and the source. */
export class ConfigError extends Error {
  /** Creates the error with a message that says what to change. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The inputs {@linkcode resolveConfig} merges. */
export interface ConfigSources {
  /** Settings given as flags (already mapped to config keys, values as strings). */
  flags?: Partial<Record<keyof CollectorConfig, string>>;
  /** The environment to read `CONTAINAI_AUDIT_SOCKET` / `CONTAINAI_AUDIT_LOG_DIR` from. */
  env?: Record<string, string | undefined>;
  /** Text of the JSONC config file, and its path for error messages. */
  file?: { path: string; text: string };
  /** Typed settings from a caller (e.g. the runner), above env and file, below flags. */
  settings?: Partial<CollectorConfig>;
}

/**
 * Merges defaults < config file < environment < settings < flags, validates the result and
 * makes the paths absolute.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * const config = resolveConfig({ flags: { socket: "/tmp/a.sock", logDir: "/tmp/logs" } });
 * console.log(config.maxLineBytes); // 1048576
 * ```
 */
export function resolveConfig(sources: ConfigSources = {}): CollectorConfig {
  const merged: Record<string, unknown> = { ...DEFAULT_CONFIG };
  if (sources.file !== undefined) Object.assign(merged, parseConfigFile(sources.file));
  const env = sources.env ?? {};
  if (env[SOCKET_ENV]) merged.socket = env[SOCKET_ENV];
  if (env[LOG_DIR_ENV]) merged.logDir = env[LOG_DIR_ENV];
  Object.assign(merged, sources.settings ?? {});
  for (const [key, text] of Object.entries(sources.flags ?? {})) {
    if (text === undefined) continue;
    merged[key] = coerceFlag(key as keyof CollectorConfig, text);
  }
  const config = validateConfig(merged, "the effective configuration (flags, env, file)");
  return { ...config, socket: resolve(config.socket), logDir: resolve(config.logDir) };
}

/**
 * Validates a complete configuration object, e.g. the one the launcher hands to the served
 * process, and requires absolute paths.
 *
 * @example
 * ```ts
 * import { DEFAULT_CONFIG, validateConfig } from "./config.ts";
 * const config = validateConfig({ ...DEFAULT_CONFIG }, "test");
 * ```
 */
export function validateConfig(value: unknown, origin: string): CollectorConfig {
  const parsed = CollectorConfigSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      `${issue.path.join(".") || "(root)"}: ${issue.message}`
    );
    throw new ConfigError(`invalid collector config in ${origin}: ${problems.join("; ")}`);
  }
  return parsed.data satisfies CollectorConfig;
}

/**
 * Throws a {@linkcode ConfigError} unless `socket` and `logDir` are absolute (the served process
 * gets its permissions for exactly these paths).
 *
 * @example
 * ```ts
 * import { DEFAULT_CONFIG, requireAbsolutePaths } from "./config.ts";
 * requireAbsolutePaths({ ...DEFAULT_CONFIG });
 * ```
 */
export function requireAbsolutePaths(config: CollectorConfig): void {
  for (const key of ["socket", "logDir"] as const) {
    if (!isAbsolute(config[key])) {
      throw new ConfigError(`${key} must be an absolute path, got "${config[key]}"`);
    }
  }
}

function parseConfigFile(file: { path: string; text: string }): Record<string, unknown> {
  const errors: ParseError[] = [];
  const value = parseJsonc(file.text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const first = errors[0];
    const line = file.text.slice(0, first.offset).split("\n").length;
    throw new ConfigError(
      `config file ${file.path} is not valid JSONC: ${
        printParseErrorCode(first.error)
      } at line ${line}; fix the file or drop --config`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`config file ${file.path} must hold a JSON object of settings`);
  }
  const partial = CollectorConfigSchema.partial().safeParse(value);
  if (!partial.success) {
    const problems = partial.error.issues.map((issue) =>
      `${issue.path.join(".") || "(root)"}: ${issue.message}`
    );
    throw new ConfigError(`invalid setting in config file ${file.path}: ${problems.join("; ")}`);
  }
  return partial.data;
}

function coerceFlag(key: keyof CollectorConfig, text: string): unknown {
  const example = DEFAULT_CONFIG[key];
  if (typeof example !== "number") return text;
  const flag = CONFIG_FLAGS.find(([, k]) => k === key)?.[0] ?? key;
  if (!/^\d+$/.test(text)) {
    throw new ConfigError(`--${flag} takes a whole number, got "${text}"`);
  }
  return Number(text);
}
