/**
 * Drives compose.yaml with podman-compose 1.6.0 (from PyPI; Debian's 1.0.3 mishandles
 * `network_mode: none`), installed by .ci/setup_podman into .tools/podman-compose.
 *
 * @module
 */
import { podman, type PodmanResult } from "./podman.ts";

const ROOT = new URL("../", import.meta.url);

/** The podman-compose version the project tests compose.yaml with. */
export const PODMAN_COMPOSE_VERSION = "1.6.0";

/** Absolute path of compose.yaml. */
export const COMPOSE_FILE: string = new URL("compose.yaml", ROOT).pathname;

/**
 * `podman run` flags that give the collector service Docker's meaning under podman: podman's
 * `--read-only` also mounts writable tmpfs on /tmp, /var/tmp and /run, and podman-compose drops
 * the `ipc: none` key (so /dev/shm would be a writable tmpfs). podman-compose applies them to
 * every container it starts, so pass them when starting the collector, not agents (which may
 * need /dev/shm).
 */
export const DOCKER_SEMANTICS_RUN_ARGS: readonly string[] = [
  "--read-only-tmpfs=false",
  "--ipc=none",
];

/**
 * Returns the podman-compose program to use: `$PODMAN_COMPOSE`, else the one .ci/setup_podman
 * installs into .tools/podman-compose. Throws with what to run when neither works.
 *
 * @example
 * ```ts
 * import { findPodmanCompose } from "./compose.ts";
 * const program = await findPodmanCompose();
 * ```
 */
export async function findPodmanCompose(): Promise<string> {
  const candidates = [
    Deno.env.get("PODMAN_COMPOSE"),
    new URL(".tools/podman-compose/bin/podman-compose", ROOT).pathname,
  ].filter((candidate): candidate is string => Boolean(candidate));
  for (const program of candidates) {
    try {
      const out = await new Deno.Command(program, { args: ["--version"], stdout: "piped" })
        .output();
      const text = new TextDecoder().decode(out.stdout);
      if (out.success && text.includes(`podman-compose version ${PODMAN_COMPOSE_VERSION}`)) {
        return program;
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  throw new Error(
    `podman-compose ${PODMAN_COMPOSE_VERSION} not found (tried ${candidates.join(", ")}); ` +
      "run .ci/setup_podman as root, or set PODMAN_COMPOSE to a podman-compose " +
      PODMAN_COMPOSE_VERSION,
  );
}

/** Options for {@linkcode podmanCompose}. */
export interface ComposeOptions {
  /** Compose project name; containers, volumes and the pod are prefixed with it. */
  project: string;
  /** Variables compose.yaml interpolates, e.g. CONTAINAI_IMAGE and CONTAINAI_LOG_DIR. */
  env?: Record<string, string>;
  /** podman-compose program (default: {@linkcode findPodmanCompose}). */
  program?: string;
  /** Extra `podman run` flags for the containers this command starts. */
  podmanRunArgs?: readonly string[];
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
}

/**
 * Runs `podman-compose -p PROJECT -f compose.yaml ARGS` and returns what it printed.
 *
 * @example
 * ```ts
 * import { DOCKER_SEMANTICS_RUN_ARGS, podmanCompose } from "./compose.ts";
 * await podmanCompose(["up", "-d", "collector"], {
 *   project: "demo",
 *   podmanRunArgs: DOCKER_SEMANTICS_RUN_ARGS,
 * });
 * await podmanCompose(["run", "-T", "--rm", "agent", "ls"], { project: "demo" });
 * await podmanCompose(["down", "--volumes"], { project: "demo" });
 * ```
 */
export async function podmanCompose(
  args: string[],
  options: ComposeOptions,
): Promise<PodmanResult> {
  const program = options.program ?? await findPodmanCompose();
  const fullArgs = [
    "--project-name",
    options.project,
    "--file",
    COMPOSE_FILE,
    ...(options.podmanRunArgs?.length
      ? [`--podman-run-args=${options.podmanRunArgs.join(" ")}`]
      : []),
    ...args,
  ];
  const out = await new Deno.Command(program, {
    args: fullArgs,
    env: options.env,
    cwd: ROOT.pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if (result.code !== 0 && !options.allowFailure) {
    throw new Error(
      `podman-compose ${args.join(" ")} exited with ${result.code}: ` +
        `${result.stderr.trim()}\n${result.stdout.trim()}`,
    );
  }
  return result;
}

/**
 * The name of the one container of `service` in compose project `project` (found by the labels
 * podman-compose sets); throws when there is not exactly one.
 *
 * @example
 * ```ts
 * import { composeContainer } from "./compose.ts";
 * const name = await composeContainer("demo", "collector"); // "demo_collector_1"
 * ```
 */
export async function composeContainer(project: string, service: string): Promise<string> {
  const { stdout } = await podman([
    "ps",
    "--all",
    "--filter",
    `label=io.podman.compose.project=${project}`,
    "--filter",
    `label=com.docker.compose.service=${service}`,
    "--format",
    "{{.Names}}",
  ]);
  const names = stdout.split("\n").filter((name) => name.length > 0);
  if (names.length !== 1) {
    throw new Error(
      `expected one "${service}" container in compose project ${project}, found ` +
        `${names.length} (${names.join(", ")}); is the project up?`,
    );
  }
  return names[0];
}
