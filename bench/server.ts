/**
 * A server under benchmark: a child process that serves a Unix socket, with
 * its stderr kept for the error message if it fails.
 *
 * @module
 */
import { waitFor } from "./command.ts";

/** A running server process. */
export interface Server {
  /** The process the benchmark started. */
  process: Deno.ChildProcess;
  /** Resolves with the exit status once the process ends. */
  status: Promise<Deno.CommandStatus>;
  /** The last few KiB of what the server wrote to stdout and stderr. */
  output(): string;
}

/**
 * Starts a server process, keeping the tail of its output for diagnostics.
 *
 * @example
 * ```ts
 * import { startServer } from "./server.ts";
 * const server = startServer("socat", { args: ["-u", "UNIX-LISTEN:/tmp/s", "/dev/null"] });
 * ```
 */
export function startServer(
  program: string,
  options: { args: string[]; env?: Record<string, string>; cwd?: string },
): Server {
  const process = new Deno.Command(program, {
    args: options.args,
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let tail = "";
  const keep = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      tail = (tail + text).slice(-4096);
    }
  };
  const drained = Promise.all([keep(process.stdout), keep(process.stderr)]);
  const status = process.status.then(async (status) => {
    await drained.catch(() => {});
    return status;
  });
  return { process, status, output: () => tail };
}

/**
 * Waits until something accepts connections on the Unix socket `path`, or the
 * server exits (then throws with its output).
 *
 * @example
 * ```ts
 * import { startServer, waitForSocket } from "./server.ts";
 * const server = startServer("socat", { args: ["-u", "UNIX-LISTEN:/tmp/s", "/dev/null"] });
 * await waitForSocket(server, "/tmp/s");
 * ```
 */
export async function waitForSocket(
  server: Server,
  path: string,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  let exited = false;
  server.status.then(() => exited = true);
  await waitFor(async () => {
    if (exited) {
      throw new Error(
        `exited before serving ${path}:\n${server.output().trim() || "(no output)"}`,
      );
    }
    try {
      const conn = await Deno.connect({ transport: "unix", path });
      conn.close();
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: options.timeoutMs ?? 30_000, what: `a server on ${path}`, intervalMs: 20 });
}

/**
 * Stops a server with `signal` and waits for it; kills it if it does not end
 * within `graceMs`. Returns the exit status.
 *
 * @example
 * ```ts
 * import { startServer, stopServer } from "./server.ts";
 * const server = startServer("sleep", { args: ["60"] });
 * const status = await stopServer(server, { graceMs: 2000 });
 * ```
 */
export async function stopServer(
  server: Server,
  options: { signal?: Deno.Signal; graceMs?: number } = {},
): Promise<Deno.CommandStatus> {
  try {
    server.process.kill(options.signal ?? "SIGTERM");
  } catch {
    // already exited
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), options.graceMs ?? 10_000);
  });
  const status = await Promise.race([server.status, timeout]);
  clearTimeout(timer);
  if (status !== undefined) return status;
  try {
    server.process.kill("SIGKILL");
  } catch {
    // exited just now
  }
  return await server.status;
}
