/**
 * Keeps the runner's Exec event under the collector's line limit (1 MiB by
 * default): argv and env can together approach ARG_MAX (2 MiB on Linux).
 *
 * @module
 */

/** Longest single argv/env string kept whole. */
export const MAX_STRING_CHARS = 16 * 1024;
/** Most characters of argv plus env kept in one event. */
export const MAX_TOTAL_CHARS = 256 * 1024;

/** Lists cut to the limits, and whether anything was cut. */
export interface LimitedLists {
  argv: string[];
  env: string[];
  truncated: boolean;
}

/**
 * Cuts each string to {@linkcode MAX_STRING_CHARS} and stops adding strings
 * (argv first, then env) once {@linkcode MAX_TOTAL_CHARS} is reached.
 *
 * @example
 * ```ts
 * import { limitLists } from "./payload_limit.ts";
 * const { argv, env, truncated } = limitLists(["sh"], ["HOME=/root"]);
 * console.log(argv, env, truncated); // ["sh"] ["HOME=/root"] false
 * ```
 */
export function limitLists(argv: readonly string[], env: readonly string[]): LimitedLists {
  let budget = MAX_TOTAL_CHARS;
  let truncated = false;
  const take = (list: readonly string[]): string[] => {
    const kept: string[] = [];
    for (const item of list) {
      const cut = item.slice(0, Math.min(MAX_STRING_CHARS, budget));
      if (cut.length < item.length) truncated = true;
      if (budget === 0) break;
      kept.push(cut);
      budget -= cut.length;
    }
    if (kept.length < list.length) truncated = true;
    return kept;
  };
  return { argv: take(argv), env: take(env), truncated };
}
