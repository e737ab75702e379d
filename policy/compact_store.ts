/**
 * Where `run` keeps compiled policies: one read-only file per distinct
 * policy, named by the SHA-256 of its compact text, never removed by a run.
 * Processes an agent leaves behind (a dev server, a watcher) keep reading the
 * policy they were started with after `run` has ended, instead of finding the
 * file gone and failing closed.
 *
 * @module
 */

/** Options of {@linkcode storeCompactPolicy}. */
export interface StoreCompactOptions {
  /**
   * The store directory. Default `$CONTAINAI_POLICY_DIR`, else
   * `/tmp/containai-policies-<uid>` (outside any home directory, so a process
   * that drops privileges can still read its policy).
   */
  dir?: string;
}

/**
 * Stores the compact policy text and returns the path of its file,
 * `<dir>/<sha256>.compact` (mode 0444). A file already there is reused only
 * when it is a regular file of ours, read-only, with exactly this text;
 * otherwise it is replaced atomically. The directory must be ours and
 * writable by nobody else (so nobody else can swap the file); when it is not,
 * the policy goes to a fresh private directory instead.
 *
 * @example
 * ```ts
 * import { storeCompactPolicy } from "./compact_store.ts";
 * const path = await storeCompactPolicy("CAIPOLICY 1 observe 0\nEND\n");
 * // e.g. /tmp/containai-policies-0/5f2c...e1.compact
 * ```
 */
export async function storeCompactPolicy(
  text: string,
  options: StoreCompactOptions = {},
): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const name = `${await sha256Hex(bytes)}.compact`;
  const wanted = options.dir ?? Deno.env.get("CONTAINAI_POLICY_DIR") ?? defaultDir();
  const dir = (await ownedStoreDir(wanted)) ?? (await freshStoreDir());
  const path = `${dir}/${name}`;
  if (await holdsExactly(path, bytes)) return path;
  const temporary = `${dir}/.${name}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeFile(temporary, bytes, { mode: 0o444, createNew: true });
    await Deno.chmod(temporary, 0o444); // the umask may have taken read bits away
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new Error(
      `cannot store the compiled policy in ${dir}: ${(error as Error).message} ` +
        "(set CONTAINAI_POLICY_DIR to a directory you own)",
    );
  }
  return path;
}

function defaultDir(): string {
  return `/tmp/containai-policies-${Deno.uid() ?? "user"}`;
}

/** `dir`, created if missing, when it is a real directory of ours that nobody else may write. */
async function ownedStoreDir(dir: string): Promise<string | undefined> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 }).catch(() => {});
  try {
    const info = await Deno.lstat(dir);
    const uid = Deno.uid();
    if (!info.isDirectory || (uid !== null && info.uid !== uid)) return undefined;
    if ((info.mode! & 0o022) !== 0) return undefined;
    // mkdir's mode goes through the umask (077 leaves 0700): every user must be able to reach
    // the policy, or a process that drops privileges fails closed. No write bit is added.
    if ((info.mode! & 0o055) !== 0o055) await Deno.chmod(dir, (info.mode! & 0o777) | 0o555);
    return await Deno.realPath(dir);
  } catch {
    return undefined;
  }
}

async function freshStoreDir(): Promise<string> {
  return await Deno.realPath(await readableTempDir("containai-policies-"));
}

/**
 * A new temporary directory every user may read and enter: a process that drops privileges must
 * still read its policy, or its shim fails closed and refuses every call.
 *
 * @example
 * ```ts
 * import { readableTempDir } from "./compact_store.ts";
 * const dir = await readableTempDir("containai-policy-"); // mode 0755
 * ```
 */
export async function readableTempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  await Deno.chmod(dir, 0o755);
  return dir;
}

async function holdsExactly(path: string, bytes: Uint8Array): Promise<boolean> {
  try {
    const info = await Deno.lstat(path);
    const uid = Deno.uid();
    if (!info.isFile || (uid !== null && info.uid !== uid)) return false;
    if ((info.mode! & 0o222) !== 0) return false;
    const stored = await Deno.readFile(path);
    return stored.length === bytes.length && stored.every((byte, i) => byte === bytes[i]);
  } catch {
    return false;
  }
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
