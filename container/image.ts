/**
 * Builds the ContainAI audit image offline: a local base image, and the Deno binary, the Deno
 * npm cache and the pinned Zig brought from the host as build contexts (no registry, npm or PyPI
 * access inside the build).
 *
 * @module
 */
import { ensureBaseImage } from "./base_image.ts";
import { podman } from "./podman.ts";

const ROOT = new URL("../", import.meta.url);
const STAGING = new URL(".tools/container/", ROOT);

/** Absolute path of the repository root (the build context). */
export const REPO_ROOT: string = ROOT.pathname.replace(/\/$/, "");

/** Absolute path of the Containerfile. */
export const CONTAINERFILE: string = new URL("Containerfile", ROOT).pathname;

/** Options for {@linkcode buildImage}. */
export interface BuildImageOptions {
  /** Base image (default: the local debootstrap image, made if missing). */
  baseImage?: string;
  /** Build only up to this Containerfile stage (for example "deno-runtime"). */
  target?: string;
}

async function pinnedVersion(tool: "deno" | "zig"): Promise<string> {
  return (await Deno.readTextFile(new URL(`toolchain/${tool}.version`, ROOT))).trim();
}

/** A folder holding only the running (pinned) deno binary, as the deno-toolchain stage. */
async function stageDenoToolchain(): Promise<string> {
  const pinned = await pinnedVersion("deno");
  if (Deno.version.deno !== pinned) {
    throw new Error(
      `the image ships the deno running this code (${Deno.version.deno}) but the project pins ` +
        `${pinned}; run through ./task, which uses the pinned deno`,
    );
  }
  const dir = new URL("deno-toolchain/", STAGING).pathname;
  const target = `${dir}deno`;
  await Deno.mkdir(dir, { recursive: true });
  const source = await Deno.realPath(Deno.execPath());
  const sourceInfo = await Deno.stat(source);
  const targetInfo = await Deno.stat(target).catch(() => undefined);
  // A hard link keeps the build context byte-identical between runs, so podman's cache holds.
  if (targetInfo?.ino !== sourceInfo.ino || targetInfo?.dev !== sourceInfo.dev) {
    await Deno.remove(target).catch(() => {});
    await Deno.link(source, target).catch(() => Deno.copyFile(source, target));
  }
  return dir;
}

/** A DENO_DIR with every npm dependency of main.ts, filled from the host's network. */
async function stageDenoCache(): Promise<string> {
  const dir = new URL("deno-dir/", STAGING).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--config", `${REPO_ROOT}/deno.json`, `${REPO_ROOT}/main.ts`],
    env: { DENO_DIR: dir, DENO_NO_UPDATE_CHECK: "1" },
    cwd: REPO_ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`deno cache of main.ts failed (is the npm registry reachable?): ${stderr}`);
  }
  return dir;
}

/**
 * The pinned Zig in .tools/zig (the ziglang package toolchain/zig.ts installs), as the
 * zig-toolchain stage; installed from PyPI when missing (a zig on PATH does not have that layout).
 */
async function stageZigToolchain(): Promise<string> {
  const dir = new URL(".tools/zig/", ROOT).pathname;
  const zig = `${dir}ziglang/zig`;
  const pinned = await pinnedVersion("zig");
  if ((await zigVersion(zig)) !== pinned) {
    const pip = await new Deno.Command("python3", {
      args: ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade"]
        .concat(["--target", dir, `ziglang==${pinned}`]),
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!pip.success) {
      const stderr = new TextDecoder().decode(pip.stderr).trim();
      throw new Error(`pip could not install ziglang==${pinned} into ${dir}: ${stderr}`);
    }
  }
  const version = await zigVersion(zig);
  if (version !== pinned) {
    throw new Error(`${zig} is zig ${version}, the project pins ${pinned}; remove .tools/zig`);
  }
  return dir;
}

async function zigVersion(zig: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(zig, { args: ["version"], stdout: "piped" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Builds the image from Containerfile as `tag` without any network access from inside the build,
 * and returns `tag`. Podman's layer cache makes rebuilds of unchanged parts fast.
 *
 * @example
 * ```ts
 * import { buildImage } from "./image.ts";
 * const image = await buildImage("localhost/containai-audit:test");
 * ```
 */
export async function buildImage(tag: string, options: BuildImageOptions = {}): Promise<string> {
  const baseImage = options.baseImage ?? await ensureBaseImage();
  const [denoToolchain, denoCache, zigToolchain] = [
    await stageDenoToolchain(),
    await stageDenoCache(),
    await stageZigToolchain(),
  ];
  const previous = await imageId(tag);
  // Niced: compiling the shim is CPU-heavy, and the tests running beside it keep their timing.
  const result = await podman([
    "build",
    "--layers",
    "--pull=never",
    "--build-arg",
    `BASE_IMAGE=${baseImage}`,
    "--build-arg",
    `ZIG_VERSION=${await pinnedVersion("zig")}`,
    "--build-context",
    `deno-toolchain=${denoToolchain}`,
    "--build-context",
    `deno-cache=${denoCache}`,
    "--build-context",
    `zig-toolchain=${zigToolchain}`,
    ...(options.target ? ["--target", options.target] : []),
    "--file",
    CONTAINERFILE,
    "--tag",
    tag,
    REPO_ROOT,
  ], { allowFailure: true, niceness: 10 });
  if (result.code !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-40).join("\n");
    throw new Error(`podman build of ${tag} failed (exit ${result.code}); last output:\n${tail}`);
  }
  if (previous !== undefined && previous !== await imageId(tag)) {
    // The image the tag named before is now unnamed; drop it unless a container still uses it.
    await podman(["image", "rm", previous], { allowFailure: true });
  }
  return tag;
}

async function imageId(image: string): Promise<string | undefined> {
  const out = await podman(["image", "inspect", "--format", "{{.Id}}", image], {
    allowFailure: true,
  });
  return out.code === 0 ? out.stdout.trim() : undefined;
}
