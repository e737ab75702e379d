/**
 * Runs contenders alternately (A B C A B C ...) so that drift in the machine's
 * speed (other load, thermal state, caches) hits every contender alike.
 *
 * @module
 */

/** One contender of a comparison: a name and one measured run. */
export interface Contender<Sample> {
  /** Short name shown in progress lines and tables. */
  name: string;
  /** Performs one measured run; throws when the contender fails to complete. */
  run(round: number): Promise<Sample>;
}

/** Options of {@linkcode runAlternating}. */
export interface AlternateOptions<Sample> {
  /** How many times each contender runs. */
  rounds: number;
  /** Called after each run, for progress output. */
  onSample?: (name: string, round: number, sample: Sample) => void;
}

/**
 * Runs every contender once per round, in the given order, for `rounds` rounds,
 * and returns the samples of each contender by name.
 *
 * @example
 * ```ts
 * import { runAlternating } from "./alternate.ts";
 * const samples = await runAlternating([
 *   { name: "a", run: () => Promise.resolve(1) },
 *   { name: "b", run: () => Promise.resolve(2) },
 * ], { rounds: 3 });
 * samples.get("a"); // [1, 1, 1]
 * ```
 */
export async function runAlternating<Sample>(
  contenders: readonly Contender<Sample>[],
  options: AlternateOptions<Sample>,
): Promise<Map<string, Sample[]>> {
  if (options.rounds < 1) throw new Error(`rounds must be at least 1, got ${options.rounds}`);
  const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const contender of contenders) {
      let sample: Sample;
      try {
        sample = await contender.run(round);
      } catch (error) {
        throw new Error(
          `${contender.name} failed in round ${round + 1}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      samples.get(contender.name)!.push(sample);
      options.onSample?.(contender.name, round, sample);
    }
  }
  return samples;
}
