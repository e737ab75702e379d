/**
 * Makes the local Debian base image with debootstrap, because no image
 * registry is reachable from the project's machines.
 *
 * @module
 */
import { imageExists, podman } from "./podman.ts";

/** The local stand-in for `docker.io/library/debian:bookworm-slim`. */
export const LOCAL_BASE_IMAGE = "localhost/debian-base:bookworm";

/** Options for {@linkcode ensureBaseImage}. */
export interface BaseImageOptions {
  /** Image name to create (default {@linkcode LOCAL_BASE_IMAGE}). */
  image?: string;
  /** Debian suite (default bookworm). */
  suite?: string;
  /** Debian mirror (default http://deb.debian.org/debian). */
  mirror?: string;
}

/**
 * Returns the name of a local minimal Debian image, building it with
 * `debootstrap --variant=minbase` and `podman import` only if it is missing.
 *
 * @example
 * ```ts
 * import { ensureBaseImage } from "./base_image.ts";
 * const base = await ensureBaseImage(); // "localhost/debian-base:bookworm"
 * ```
 */
export async function ensureBaseImage(options: BaseImageOptions = {}): Promise<string> {
  const image = options.image ?? LOCAL_BASE_IMAGE;
  if (await imageExists(image)) return image;
  const rootfs = await Deno.makeTempDir({ prefix: "containai-rootfs-" });
  try {
    const debootstrap = await new Deno.Command("debootstrap", {
      args: [
        "--variant=minbase",
        options.suite ?? "bookworm",
        rootfs,
        options.mirror ?? "http://deb.debian.org/debian",
      ],
      stdout: "null",
      stderr: "piped",
    }).output().catch((error) => {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error("debootstrap is not installed; run .ci/setup_podman as root");
      }
      throw error;
    });
    if (!debootstrap.success) {
      const stderr = new TextDecoder().decode(debootstrap.stderr).trim();
      throw new Error(`debootstrap failed (run as root, check the mirror): ${stderr}`);
    }
    const tar = new Deno.Command("tar", {
      args: ["-C", rootfs, "-c", "."],
      stdout: "piped",
    }).spawn();
    await podman(["import", "-", image], { stdin: tar.stdout });
    if (!(await tar.status).success) throw new Error(`tar of ${rootfs} failed`);
    return image;
  } finally {
    await Deno.remove(rootfs, { recursive: true });
  }
}
