/**
 * A small deterministic random generator (mulberry32), so every run produces the same sequence:
 * the benchmark sends the same bytes, the tests check the same cases.
 *
 * @module
 */

/**
 * Returns a generator of numbers in [0, 1), the same sequence for the same `seed`.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./seeded_random.ts";
 * const random = seededRandom(1);
 * const pick = Math.floor(random() * 10);
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
