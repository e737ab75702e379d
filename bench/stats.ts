/**
 * Summary statistics for benchmark samples: medians and the ratios between
 * contenders that the report shows instead of lone absolute numbers.
 *
 * @module
 */

/**
 * The median of the samples (the mean of the two middle ones for an even count).
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error("median of no samples: run at least one round");
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The spread of the samples as the smallest and largest value.
 *
 * @example
 * ```ts
 * import { range } from "./stats.ts";
 * range([3, 1, 2]); // { min: 1, max: 3 }
 * ```
 */
export function range(samples: readonly number[]): { min: number; max: number } {
  if (samples.length === 0) throw new Error("range of no samples: run at least one round");
  return { min: Math.min(...samples), max: Math.max(...samples) };
}

/**
 * The overhead a contender adds to a baseline, as a fraction (0.05 = 5 % slower).
 *
 * @example
 * ```ts
 * import { relativeOverhead } from "./stats.ts";
 * relativeOverhead(1.05, 1.0); // 0.05 (approximately)
 * ```
 */
export function relativeOverhead(measured: number, baseline: number): number {
  if (baseline <= 0) throw new Error(`baseline must be positive, got ${baseline}`);
  return measured / baseline - 1;
}

/**
 * Formats a number with a fixed count of significant digits and thousands separators.
 *
 * @example
 * ```ts
 * import { formatNumber } from "./stats.ts";
 * formatNumber(123456.7); // "123,457"
 * formatNumber(1.23456); // "1.23"
 * ```
 */
export function formatNumber(value: number, options: { digits?: number } = {}): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = options.digits ?? 3;
  const magnitude = value === 0 ? 0 : Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toLocaleString("en-US", {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
}

/**
 * Formats a ratio such as `3.42x`.
 *
 * @example
 * ```ts
 * import { formatRatio } from "./stats.ts";
 * formatRatio(3.4215); // "3.42x"
 * ```
 */
export function formatRatio(value: number): string {
  return `${formatNumber(value)}x`;
}

/**
 * Formats a fraction as a signed percentage such as `+4.1 %`.
 *
 * @example
 * ```ts
 * import { formatPercent } from "./stats.ts";
 * formatPercent(0.0412); // "+4.1 %"
 * ```
 */
export function formatPercent(fraction: number): string {
  const percent = fraction * 100;
  const sign = percent >= 0 ? "+" : "-";
  return `${sign}${Math.abs(percent).toFixed(1)} %`;
}
