/**
 * The `run` subcommand: argument parsing, output and exit status.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runAudited } from "./run.ts";
import { formatSummary } from "./summary.ts";

const HELP = `usage: main.ts run [options] -- CMD [ARGS...]

Runs CMD under audit: probes the kernel, uses the collector answering on the
socket (or starts one for the run), injects libauditshim.so through LD_PRELOAD,
streams the runner's own Exec/Exit events, and prints a summary read back from
the session log. stdin/stdout/stderr pass through; SIGINT/SIGTERM/SIGHUP are
forwarded; the exit status is CMD's (128+N when killed by signal N).

  --session ID    session id (default: a new time-sortable id)
  --agent NAME    agent name (default: CMD's base name)
  --socket PATH   collector socket (default: $CONTAINAI_AUDIT_SOCKET, else
                  /run/containai/audit.sock if a collector answers there, else
                  a collector started for this run on a private socket)
  --log-dir DIR   session log dir (default: $CONTAINAI_AUDIT_LOG_DIR, else
                  /mnt/logs for a running collector, else for a started one
                  $XDG_STATE_HOME/containai/logs or ~/.local/state/containai/logs)
  --shim PATH     shim library (default: /usr/lib/libauditshim.so when present,
                  else the project's shim/zig-out build, built on first use)
  --policy FILE   JSONC policy (docs/policy.md): observe or enforce rules on exec,
                  open and connect, applied to CMD and, via the shim, to all it runs
  --quiet         print no summary
  --json          print the summary as JSON on stdout instead of text on stderr

Exit status: CMD's; 127 when CMD is not found, 126 when it cannot be executed
or the policy denies it, 125 when the run could not be set up (e.g. an invalid
policy), 2 for a usage error.`;

const OPTIONS = {
  session: { type: "string" },
  agent: { type: "string" },
  socket: { type: "string" },
  "log-dir": { type: "string" },
  shim: { type: "string" },
  policy: { type: "string" },
  quiet: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Runs `run`; returns the exit code (the command's, or 2/125 for the runner's own errors).
 *
 * @example
 * ```ts
 * import { runCommand } from "./run_command.ts";
 * Deno.exit(await runCommand(["--quiet", "--", "sh", "-c", "ls /"]));
 * ```
 */
export async function runCommand(args: string[]): Promise<number> {
  const separator = args.indexOf("--");
  const own = separator === -1 ? args : args.slice(0, separator);
  let parsed;
  try {
    parsed = parseArgs({ args: own, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    console.error(`run: ${(error as Error).message} (put the command after --)\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const command = separator === -1 ? positionals : [...positionals, ...args.slice(separator + 1)];
  if (command.length === 0) {
    console.error(`run: no command given; put it after --, e.g. run -- ls /\n\n${HELP}`);
    return 2;
  }
  if (values.quiet && values.json) {
    console.error("run: --quiet and --json exclude each other; choose one");
    return 2;
  }
  try {
    const { exitCode, summary } = await runAudited(command, {
      session: values.session,
      agent: values.agent,
      socket: values.socket,
      logDir: values["log-dir"],
      shim: values.shim,
      policy: values.policy,
      notify: values.quiet ? undefined : (message) => console.error(`run: ${message}`),
    });
    if (values.json) console.log(JSON.stringify(summary));
    else if (!values.quiet) console.error(formatSummary(summary));
    return exitCode;
  } catch (error) {
    console.error(`run: ${(error as Error).message}`);
    return 125;
  }
}
