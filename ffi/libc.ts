/**
 * The few libc entry points the probe needs, opened through `Deno.dlopen`.
 *
 * `prctl` and `syscall` are variadic in C; they are declared here with fixed
 * integer arguments, which the x86_64 and aarch64 Linux calling conventions
 * pass exactly like the variadic form.
 *
 * @module
 */

/** The libc symbols {@linkcode openLibc} binds, with their C signatures. */
export const LIBC_SYMBOLS = {
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  syscall: { parameters: ["i64", "i64", "i64", "pointer"], result: "i64" },
  __errno_location: { parameters: [], result: "pointer" },
  getpgrp: { parameters: [], result: "i32" },
  tcgetpgrp: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

/** An open libc handle with the symbols the probe and the runner use. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

/** The outcome of {@linkcode openLibc}: the library, or why it could not be opened. */
export type LibcResult = { ok: true; libc: Libc } | { ok: false; reason: string };

/** The default library name: glibc's soname on Linux. */
export const DEFAULT_LIBC = "libc.so.6";

/**
 * Opens libc for FFI calls. Never throws: a missing library (musl, another OS)
 * or a missing `--allow-ffi` permission comes back as `{ ok: false, reason }`.
 *
 * @example
 * ```ts
 * import { openLibc } from "./libc.ts";
 * const opened = openLibc();
 * if (opened.ok) opened.libc.close();
 * ```
 */
export function openLibc(name: string = DEFAULT_LIBC): LibcResult {
  try {
    return { ok: true, libc: Deno.dlopen(name, LIBC_SYMBOLS) };
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      return { ok: false, reason: `no FFI permission to open ${name} (run with --allow-ffi)` };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `cannot open ${name}: ${message}` };
  }
}

/** The result of a libc call that reports failure through errno. */
export interface CallResult {
  /** The raw return value. */
  value: number;
  /** errno after the call when it returned -1, else 0. */
  errno: number;
}

/**
 * Calls `fn` with errno cleared first and reads errno straight after, so a
 * stale value from an earlier call can never be mistaken for this one's.
 */
export function callWithErrno(libc: Libc, fn: () => number | bigint): CallResult {
  const location = libc.symbols.__errno_location();
  if (location === null) throw new Error("__errno_location returned NULL");
  const view = new Deno.UnsafePointerView(location);
  new Int32Array(Deno.UnsafePointerView.getArrayBuffer(location, 4))[0] = 0;
  const value = Number(fn());
  return { value, errno: value === -1 ? view.getInt32() : 0 };
}

const O_RDONLY_CLOEXEC = 0o2000000;
const READ_LIMIT = 64 * 1024;

/**
 * Reads a small text file through libc. Deno 2 refuses reads under /proc
 * without --allow-all; the probe already holds --allow-ffi, which this uses.
 * Returns null when the file cannot be opened or read.
 */
export function readTextWithLibc(libc: Libc, path: string): string | null {
  const fd = libc.symbols.open(new TextEncoder().encode(`${path}\0`), O_RDONLY_CLOEXEC);
  if (fd < 0) return null;
  try {
    const buffer = new Uint8Array(READ_LIMIT);
    let length = 0;
    while (length < buffer.length) {
      const count = Number(
        libc.symbols.read(fd, buffer.subarray(length), BigInt(buffer.length - length)),
      );
      if (count < 0) return null;
      if (count === 0) break;
      length += count;
    }
    return new TextDecoder().decode(buffer.subarray(0, length));
  } finally {
    libc.symbols.close(fd);
  }
}
