/**
 * One probe answer: a typed value with where it came from, or "unknown" with
 * the reason the probe could not tell.
 *
 * @module
 */

/** A value the probe established, and how (`source`). */
export interface Known<T> {
  /** The answer. */
  value: T;
  /** Where it came from: "prctl", "seccomp", "proc" (a /proc file). */
  source: string;
  /** Extra evidence, e.g. the errno name behind a `false`. */
  detail?: string;
}

/** A value the probe could not establish. */
export interface Unknown {
  /** Always "unknown". */
  value: "unknown";
  /** Why, in words that say what to change. */
  reason: string;
}

/** A probe answer. */
export type Finding<T> = Known<T> | Unknown;

/** Builds an {@linkcode Unknown}. */
export function unknown(reason: string): Unknown {
  return { value: "unknown", reason };
}

/**
 * Whether a finding holds a value.
 *
 * @example
 * ```ts
 * import { isKnown, unknown } from "./finding.ts";
 * console.log(isKnown(unknown("no libc"))); // false
 * ```
 */
export function isKnown<T>(finding: Finding<T>): finding is Known<T> {
  return !("reason" in finding);
}

const ERRNO_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "EPERM"],
  [2, "ENOENT"],
  [12, "ENOMEM"],
  [13, "EACCES"],
  [14, "EFAULT"],
  [22, "EINVAL"],
  [38, "ENOSYS"],
  [95, "EOPNOTSUPP"],
]);

/**
 * The symbolic name of an errno value the probe can meet ("errno N" otherwise).
 *
 * @example
 * ```ts
 * import { errnoName } from "./finding.ts";
 * console.log(errnoName(95)); // "EOPNOTSUPP"
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}
