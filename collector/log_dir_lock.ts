/**
 * One collector per log directory: two collectors appending to the same session files would
 * number their lines with clashing `session_seq` values.
 *
 * @module
 */
import { join } from "node:path";
import { openRegularFile } from "./regular_file.ts";

/** Name of the lock file inside the log directory. */
export const LOCK_FILE = ".collector.lock";

/**
 * Takes an exclusive lock (flock) on `<logDir>/.collector.lock` and writes this process's pid
 * into it (best effort). Returns the open lock file (the lock lasts while it is open, and the
 * kernel drops it when the process ends), or undefined when another live collector holds it.
 *
 * @example
 * ```ts
 * import { lockLogDir } from "./log_dir_lock.ts";
 * const lock = await lockLogDir("/tmp/logs");
 * if (lock === undefined) console.error("another collector writes to /tmp/logs");
 * ```
 */
export async function lockLogDir(logDir: string): Promise<Deno.FsFile | undefined> {
  // Not through a symlink: the truncate and pid write below would hit the link's target.
  const file = await openRegularFile(join(logDir, LOCK_FILE), "write", 0o640);
  if (!(await file.tryLock(true))) {
    file.close();
    return undefined;
  }
  try {
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch {
    // The pid is only a hint for people; on a full disk the lock alone still does its job.
  }
  return file;
}
