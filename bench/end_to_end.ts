/**
 * Comparison 4, end to end: a realistic agent workload, bare vs under `run`.
 *
 * @module
 */
import type { SuiteResult } from "./suite.ts";

/** Options of {@linkcode runEndToEnd}. */
export interface EndToEndOptions {
  rounds: number;
  log: (line: string) => void;
}

/** Runs the end-to-end comparison. */
export function runEndToEnd(_options: EndToEndOptions): Promise<SuiteResult> {
  return Promise.reject(new Error("the end-to-end comparison waits for the runner"));
}
