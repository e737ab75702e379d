/**
 * `main.ts collect`: the launcher. It resolves the configuration (flags, env, file), creates
 * the directories, and runs the served collector with only the permissions it needs,
 * forwarding SIGTERM/SIGINT and returning its exit code.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type CollectorConfig,
  CONFIG_FLAGS,
  ConfigError,
  DEFAULT_CONFIG,
  LOG_DIR_ENV,
  resolveConfig,
  SOCKET_ENV,
} from "./config.ts";
import { DirectoryError, prepareDirectories, serveCommandArgs } from "./serve_command.ts";

/** What each setting's flag does, for --help (the defaults are appended). */
const SETTING_HELP: Record<keyof CollectorConfig, [argument: string, text: string]> = {
  socket: ["PATH", `socket to serve; env ${SOCKET_ENV}`],
  logDir: ["DIR", `session logs; env ${LOG_DIR_ENV}`],
  socketMode: ["MODE", "socket permissions, octal"],
  maxLineBytes: ["N", "longest accepted line"],
  fsyncIntervalMs: ["N", "fsync at least this often; 0 = every batch"],
  maxOpenFiles: ["N", "session files kept open"],
  idleFileMs: ["N", "close a session file unused for"],
  maxConnections: ["N", "concurrent producers"],
  partialLineTimeoutMs: ["N", "close a stalled half line after"],
  maxBufferBytes: ["N", "unwritten bytes before backpressure"],
  statsIntervalMs: ["N", "stats line on stderr while busy"],
  rejectRecordsPerSecond: ["N", "rejected.jsonl rate limit"],
  shutdownDrainMs: ["N", "longest drain of connections on SIGTERM"],
  acceptPauseMs: ["N", "sleep after an accept (fewer wake-ups); 0 = off"],
};

function helpText(): string {
  const option = (left: string, right: string) => `  ${left.padEnd(31)}${right}`;
  const settings = CONFIG_FLAGS.map(([flag, key]) => {
    const [argument, text] = SETTING_HELP[key];
    return option(`--${flag} ${argument}`, `${text} (default ${DEFAULT_CONFIG[key]})`);
  });
  return [
    "usage: main.ts collect [options]   (deno task collect ...)",
    "",
    "Serves the audit socket and appends each valid event to <log-dir>/session-<id>.jsonl.",
    "Precedence: flags > environment > --config file > defaults. See docs/collector.md.",
    "",
    option("--config FILE", "JSONC file with any of the settings below (camelCase keys)"),
    option("--print-config", "print the effective configuration as JSON and exit"),
    ...settings,
    option("-h, --help", "this help"),
    "",
    "Exit codes: 0 clean shutdown, 1 events left unwritten or cannot bind, 2 bad flags or config,",
    "3 another collector answers on the socket, 4 the socket path is not a socket,",
    "5 another collector writes to the log directory.",
  ].join("\n");
}

/**
 * Runs `collect`; returns the exit code.
 *
 * @example
 * ```ts
 * import { collectCommand } from "./collect_command.ts";
 * const code = await collectCommand(["--socket", "/tmp/a.sock", "--log-dir", "/tmp/logs"]);
 * ```
 */
export async function collectCommand(args: string[]): Promise<number> {
  let config: CollectorConfig;
  let printOnly = false;
  try {
    const parsed = parseCollectArgs(args);
    if (parsed === "help") {
      console.log(helpText());
      return 0;
    }
    printOnly = parsed.printConfig;
    const file = parsed.configPath === undefined
      ? undefined
      : { path: parsed.configPath, text: await readConfigFile(parsed.configPath) };
    config = resolveConfig({ flags: parsed.flags, env: Deno.env.toObject(), file });
    // Fails early, with a clear message, on paths Deno permission flags cannot express.
    serveCommandArgs(config);
  } catch (error) {
    if (
      error instanceof ConfigError || (error as { code?: string }).code?.startsWith("ERR_PARSE")
    ) {
      console.error(`collect: ${(error as Error).message}\n(see main.ts collect --help)`);
      return 2;
    }
    throw error;
  }
  if (printOnly) {
    console.log(JSON.stringify(config, null, 2));
    return 0;
  }
  try {
    await prepareDirectories(config);
  } catch (error) {
    if (!(error instanceof DirectoryError)) throw error;
    console.error(`collect: ${error.message}`);
    return 1;
  }
  await warnAboutFileLimit(config);
  return await runServed(config);
}

/**
 * The served process inherits this process's descriptor limit; below what the settings need,
 * extra producers wait in the socket backlog instead of being served, so say so up front.
 */
async function warnAboutFileLimit(config: CollectorConfig): Promise<void> {
  let limits: string;
  try {
    limits = await Deno.readTextFile("/proc/self/limits");
  } catch {
    return;
  }
  const soft = Number(limits.match(/^Max open files\s+(\d+)/m)?.[1]);
  const needed = config.maxConnections + config.maxOpenFiles + 32;
  if (Number.isFinite(soft) && soft < needed) {
    console.error(
      `collect: warning: the open-file limit is ${soft}, but maxConnections + maxOpenFiles need ` +
        `about ${needed}; raise it (ulimit -n ${needed}) or lower --max-connections`,
    );
  }
}

interface ParsedArgs {
  flags: Partial<Record<keyof CollectorConfig, string>>;
  configPath: string | undefined;
  printConfig: boolean;
}

function parseCollectArgs(args: string[]): ParsedArgs | "help" {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    config: { type: "string" },
    "print-config": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  };
  for (const [flag] of CONFIG_FLAGS) options[flag] = { type: "string" };
  const { values } = parseArgs({ args, options, allowPositionals: false });
  if (values.help) return "help";
  const flags: Partial<Record<keyof CollectorConfig, string>> = {};
  for (const [flag, key] of CONFIG_FLAGS) {
    const value = values[flag];
    if (typeof value === "string") flags[key] = value;
  }
  return {
    flags,
    configPath: values.config as string | undefined,
    printConfig: values["print-config"] === true,
  };
}

async function readConfigFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
}

async function runServed(config: CollectorConfig): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: serveCommandArgs(config),
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // The child already exited.
    }
  };
  const onTerm = forward("SIGTERM");
  const onInt = forward("SIGINT");
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onInt);
  try {
    const status = await child.status;
    return status.signal === null ? status.code : 128 + signalNumber(status.signal);
  } finally {
    Deno.removeSignalListener("SIGTERM", onTerm);
    Deno.removeSignalListener("SIGINT", onInt);
  }
}

function signalNumber(signal: Deno.Signal): number {
  const numbers: Partial<Record<Deno.Signal, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return numbers[signal] ?? 1;
}
