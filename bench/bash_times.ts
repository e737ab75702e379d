/**
 * CPU time from bash's `times` builtin: user and system time of the shell,
 * then of all the children it waited for, e.g.
 * `0m0.010s 0m0.004s` / `0m0.420s 0m0.180s`.
 *
 * @module
 */

/**
 * Sums the four times `times` prints, in seconds; throws when `text` does not hold exactly four.
 *
 * @example
 * ```ts
 * import { sumBashTimes } from "./bash_times.ts";
 * sumBashTimes("0m0.010s 0m0.000s\n1m0.200s 0m0.100s"); // 60.31
 * ```
 */
export function sumBashTimes(text: string): number {
  const times = [...text.matchAll(/(\d+)m([\d.]+)s/g)];
  if (times.length !== 4) throw new Error(`expected the 4 times of bash's times in: ${text}`);
  return times.reduce(
    (sum, [, minutes, seconds]) => sum + Number(minutes) * 60 + Number(seconds),
    0,
  );
}

/**
 * Wraps a command so that bash runs it and then prints `times` (on stdout, after the
 * command's own output) and exits with the command's status.
 *
 * @example
 * ```ts
 * import { withBashTimes } from "./bash_times.ts";
 * withBashTimes(["git", "status"]); // ["bash", "-c", '"$@"; s=$?; times; exit $s', "bash", "git", "status"]
 * ```
 */
export function withBashTimes(command: readonly string[]): string[] {
  return ["bash", "-c", '"$@"; s=$?; times; exit $s', "bash", ...command];
}
