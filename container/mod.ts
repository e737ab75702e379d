/**
 * Container support: building the ContainAI audit image offline with podman (a local
 * debootstrap base image, toolchains brought from the host) and driving compose.yaml with
 * podman-compose. Used by tests/container and described in docs/container.md.
 *
 * @example
 * ```ts
 * import { buildImage, composeContainer, podmanCompose } from "./mod.ts";
 * await buildImage("localhost/containai-audit:latest");
 * await podmanCompose(["up", "-d", "collector"], { project: "demo" });
 * console.log(await composeContainer("demo", "collector"));
 * ```
 *
 * @module
 */
export {
  imageExists,
  podman,
  type PodmanOptions,
  type PodmanResult,
  podmanUnavailableReason,
} from "./podman.ts";
export { type BaseImageOptions, ensureBaseImage, LOCAL_BASE_IMAGE } from "./base_image.ts";
export { buildImage, type BuildImageOptions, CONTAINERFILE, REPO_ROOT } from "./image.ts";
export {
  COMPOSE_FILE,
  composeContainer,
  type ComposeOptions,
  DOCKER_SEMANTICS_RUN_ARGS,
  findPodmanCompose,
  PODMAN_COMPOSE_VERSION,
  podmanCompose,
} from "./compose.ts";
export { buildImageCommand } from "./build_image.ts";
