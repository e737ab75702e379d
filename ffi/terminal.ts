/**
 * Whether this process is in the foreground process group of its terminal:
 * then a Ctrl-C from that terminal reaches every process of the group.
 *
 * @module
 */
import { openLibc } from "./libc.ts";

/**
 * True when `fd` is a terminal whose foreground process group is this
 * process's group; false when it is not; null when libc cannot tell.
 *
 * @example
 * ```ts
 * import { inForegroundOfTerminal } from "./terminal.ts";
 * if (inForegroundOfTerminal(0)) console.log("Ctrl-C reaches our children directly");
 * ```
 */
export function inForegroundOfTerminal(fd: number, libcName?: string): boolean | null {
  const opened = openLibc(libcName);
  if (!opened.ok) return null;
  try {
    const foreground = opened.libc.symbols.tcgetpgrp(fd);
    if (foreground < 0) return false;
    return foreground === opened.libc.symbols.getpgrp();
  } finally {
    opened.libc.close();
  }
}
