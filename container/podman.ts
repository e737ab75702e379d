/**
 * Runs podman and turns its failures into errors that carry podman's own message.
 *
 * @module
 */

/** What a finished podman command printed. */
export interface PodmanResult {
  /** Exit code. */
  code: number;
  /** Everything printed on stdout. */
  stdout: string;
  /** Everything printed on stderr ("" when it was passed through). */
  stderr: string;
}

/** Options for {@linkcode podman}. */
export interface PodmanOptions {
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  /** Bytes written to podman's stdin. */
  stdin?: Uint8Array | ReadableStream<Uint8Array>;
  /** Stream podman's stderr to ours (long builds) instead of capturing it. */
  inheritStderr?: boolean;
  /** Run podman (and the build containers it starts) under `nice -n NICENESS`. */
  niceness?: number;
}

/**
 * Runs `podman ARGS` and returns what it printed; throws when it exits non-zero
 * unless `allowFailure` is set.
 *
 * @example
 * ```ts
 * import { podman } from "./podman.ts";
 * const { stdout } = await podman(["version", "--format", "{{.Client.Version}}"]);
 * ```
 */
export async function podman(args: string[], options: PodmanOptions = {}): Promise<PodmanResult> {
  const [program, fullArgs] = options.niceness === undefined
    ? ["podman", args]
    : ["nice", ["-n", String(options.niceness), "podman", ...args]];
  const child = new Deno.Command(program, {
    args: fullArgs,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: options.inheritStderr ? "inherit" : "piped",
  }).spawn();
  if (options.stdin instanceof Uint8Array) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  } else if (options.stdin !== undefined) {
    await options.stdin.pipeTo(child.stdin);
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: options.inheritStderr ? "" : decoder.decode(out.stderr),
  };
  if (result.code !== 0 && !options.allowFailure) {
    throw new Error(
      `podman ${args.join(" ")} exited with ${result.code}: ${result.stderr.trim()}`,
    );
  }
  return result;
}

/**
 * Says why podman cannot run containers here, or returns undefined when it can.
 * Used by tests to skip only when podman is truly unavailable.
 *
 * @example
 * ```ts
 * import { podmanUnavailableReason } from "./podman.ts";
 * const reason = await podmanUnavailableReason();
 * if (reason) console.log(`skipping: ${reason}`);
 * ```
 */
export async function podmanUnavailableReason(): Promise<string | undefined> {
  try {
    const info = await podman(["info", "--format", "{{.Host.OCIRuntime.Name}}"], {
      allowFailure: true,
    });
    if (info.code !== 0) {
      return `"podman info" failed (${info.stderr.trim()}); run .ci/setup_podman as root`;
    }
    return undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return "podman is not installed; run .ci/setup_podman as root to install and configure it";
    }
    throw error;
  }
}

/**
 * Whether an image with this name exists in local storage.
 *
 * @example
 * ```ts
 * import { imageExists } from "./podman.ts";
 * if (!(await imageExists("localhost/debian-base:bookworm"))) console.log("not built yet");
 * ```
 */
export async function imageExists(image: string): Promise<boolean> {
  return (await podman(["image", "exists", image], { allowFailure: true })).code === 0;
}
