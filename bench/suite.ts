/**
 * The shape of one comparison's results, as the report renders them.
 *
 * @module
 */

/** One comparison's section of docs/benchmarks.md. */
export interface SuiteResult {
  /** The name `--only` selects it by. */
  id: string;
  /** Section heading. */
  title: string;
  /** What was measured and how, one paragraph per entry. */
  setup: string[];
  /** Table header. */
  columns: string[];
  /** Table body. */
  rows: string[][];
  /** Ratios against the goals and other conclusions, one bullet each. */
  findings: string[];
}
