/**
 * Opens files in the log directory without following what someone planted there. Deno checks
 * `--allow-write=<log dir>` against the path as given, not against where a symlink points, and
 * `Deno.open` has no `O_NOFOLLOW`: a `session-<id>.jsonl` or `.collector.lock` symlink would let
 * the collector append to (or truncate) any file it can reach, and a FIFO would take writes that
 * never complete and stall the writer for every session.
 *
 * @module
 */

/** The file at the path is not a regular file (a symlink, FIFO, directory, device, ...). */
export class NotRegularFileError extends Error {
  /** Errno-like code for logs, as Deno's own errors carry one. */
  readonly code = "ENOTREG";
  /** @param path The refused path. @param what What was found there. */
  constructor(path: string, what: string) {
    super(`refusing to open ${path}: it is ${what}, not a regular file`);
    this.name = "NotRegularFileError";
  }
}

/**
 * Opens `path` for reading and appending (`append`) or reading and writing (`write`), creating
 * it with `mode` when missing, but only as a regular file that is not a symlink.
 *
 * A missing file is created with `O_CREAT | O_EXCL` (`createNew`), which never follows a
 * symlink; an existing one is checked with `lstat` first and, once open, must still be the same
 * inode (so a swap between the check and the open is caught before anything is written).
 *
 * @example
 * ```ts
 * import { openRegularFile } from "./regular_file.ts";
 * const dir = await Deno.makeTempDir();
 * const file = await openRegularFile(`${dir}/session-s1.jsonl`, "append", 0o640);
 * file.close();
 * ```
 */
export async function openRegularFile(
  path: string,
  access: "append" | "write",
  mode: number,
): Promise<Deno.FsFile> {
  const options = access === "append" ? { read: true, append: true } : { read: true, write: true };
  for (let attempt = 0; attempt < 3; attempt++) {
    let before: Deno.FileInfo;
    try {
      before = await Deno.lstat(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      try {
        return await Deno.open(path, { ...options, createNew: true, mode });
      } catch (error) {
        // Someone created it between the lstat and the open: look again.
        if (error instanceof Deno.errors.AlreadyExists) continue;
        throw error;
      }
    }
    if (!before.isFile) throw new NotRegularFileError(path, describe(before));
    const file = await Deno.open(path, options);
    const opened = await file.stat();
    if (opened.isFile && opened.ino === before.ino && opened.dev === before.dev) return file;
    file.close();
  }
  throw new NotRegularFileError(path, "replaced while it was being opened");
}

function describe(info: Deno.FileInfo): string {
  if (info.isSymlink) return "a symlink";
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  return "not a regular file";
}
