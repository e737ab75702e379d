/**
 * `main.ts image [--tag TAG] [--base-image IMAGE]` (`deno task image`): builds the ContainAI audit image offline
 * with podman (see docs/container.md).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { buildImage } from "./image.ts";

const HELP = `usage: main.ts image [--tag TAG] [--base-image IMAGE]   (deno task image ...)

Builds Containerfile with podman without network access inside the build: the base image is
made locally with debootstrap (localhost/debian-base:bookworm) unless --base-image is given,
and deno, its npm cache and the pinned Zig come from the host.
  --tag TAG           image name (default localhost/containai-audit:latest)
  --base-image IMAGE  base image to use instead of the local debootstrap one`;

/**
 * Runs the image build; returns the exit code.
 *
 * @example
 * ```ts
 * import { buildImageCommand } from "./build_image.ts";
 * const code = await buildImageCommand(["--tag", "localhost/containai-audit:dev"]);
 * ```
 */
export async function buildImageCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        tag: { type: "string" },
        "base-image": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`image: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  try {
    const tag = values.tag ?? "localhost/containai-audit:latest";
    console.log(await buildImage(tag, { baseImage: values["base-image"] }));
    return 0;
  } catch (error) {
    console.error(`image: ${(error as Error).message}`);
    return 1;
  }
}
