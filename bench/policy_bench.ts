/**
 * Policy matching cost per hooked call: a loop of open() calls under the shim
 * with no policy, with an empty policy, and with a 50-rule policy none of whose
 * rules matches the path (so every rule is tried on every open). The difference
 * between the last two is what matching costs per call (goal: at most 100 ns).
 * The path names a missing directory, so the kernel fails the open after one
 * lookup: the cheapest real open, which keeps the syscall's own jitter small
 * next to the difference measured. Open events for it are excluded
 * (CONTAINAI_AUDIT_OPEN_EXCLUDE): sending them dwarfs the matching and is the
 * same in every variant.
 *
 * The kernel's time for the open (over 1 µs, varying by hundreds of ns between
 * runs on a loaded machine) would drown a difference of tens of ns between two
 * runs, so each run also times the same system call made directly, in blocks
 * alternating with the hooked calls (bench/c/open_pair_loop.c), and reports
 * the median per-call difference of neighbouring blocks: what the hooked call
 * costs beyond the bare system call. The matching cost is the 50-rule run's
 * figure minus the empty-policy run's of the same round, median over rounds.
 *
 * Part of `deno task bench` (`--only policy`), or on its own:
 * `deno run -A bench/policy_bench.ts [--quick]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Contender, runAlternating } from "./alternate.ts";
import { runText } from "./command.ts";
import { compileHelper } from "./native.ts";
import { formatNumber, median, range } from "./stats.ts";
import type { SuiteResult } from "./suite.ts";
import { type Policy, writeCompactPolicy } from "../policy/mod.ts";
import { buildShim } from "../toolchain/mod.ts";

/** Options of {@linkcode runPolicyCost}. */
export interface PolicyCostOptions {
  /** Opens per run. */
  iterations: number;
  /** Runs per contender, alternating. */
  rounds: number;
  /** Progress lines. */
  log: (line: string) => void;
}

/** The matching budget per hooked call with a 50-rule policy (issue 7). */
export const BUDGET_NS = 100;

const NO_POLICY = "shim, no policy";
const EMPTY = "shim, empty policy";
const FIFTY = "shim, 50 non-matching rules";

interface LoopSample {
  /** Per hooked open, means over the run. */
  wallNs: number;
  cpuNs: number;
  /** Per hooked open beyond the bare system call: medians of neighbouring-block differences. */
  extraWallNs: number;
  extraCpuNs: number;
}

/**
 * 50 Open rules in the shapes real policies use: absolute trees, single-segment
 * wildcards, and `**` patterns anchored by a literal tail or by nothing at all.
 *
 * @example
 * ```ts
 * import { fiftyRulePolicy } from "./policy_bench.ts";
 * fiftyRulePolicy().rules.length; // 50
 * ```
 */
export function fiftyRulePolicy(): Policy {
  const rules: Policy["rules"] = [];
  for (let i = 0; i < 50; i++) {
    const shapes = [
      [`/run/agent-secrets-${i}/**`],
      [`/home/*/.config/tool-${i}/credentials`],
      [`/etc/service-${i}/private/*.key`, `/var/lib/service-${i}/**`],
      [`**/.secret-${i}`],
      [`**/vault-${i}/**`],
    ];
    rules.push({ name: `rule-${i}`, action: "Open", paths: shapes[i % shapes.length] });
  }
  return { mode: "enforce", rules };
}

/**
 * Runs the comparison and returns its section of the report.
 *
 * @example
 * ```ts
 * import { runPolicyCost } from "./policy_bench.ts";
 * const result = await runPolicyCost({ iterations: 200_000, rounds: 9, log: console.error });
 * ```
 */
export async function runPolicyCost(options: PolicyCostOptions): Promise<SuiteResult> {
  const workDir = await Deno.makeTempDir({ prefix: "containai-bench-policy-" });
  try {
    options.log("policy: building the shim and the open loop");
    const shim = await buildShim({ quiet: true });
    const openLoop = await compileHelper("open_pair_loop", { outDir: workDir });
    // Shaped like a real path (four segments), in a directory that does not exist.
    const target = `${workDir}/missing-dir/project/target.txt`;
    const empty = await writeCompactPolicy({ mode: "enforce", rules: [] }, {
      dir: await Deno.makeTempDir({ dir: workDir }),
    });
    const fifty = await writeCompactPolicy(fiftyRulePolicy(), {
      dir: await Deno.makeTempDir({ dir: workDir }),
    });
    const base = {
      LD_PRELOAD: shim,
      CONTAINAI_AUDIT_SOCKET: `${workDir}/no-collector.sock`,
      CONTAINAI_SESSION_ID: "bench-policy",
      CONTAINAI_AGENT: "bench",
      CONTAINAI_AUDIT_OPEN_EXCLUDE: workDir,
    };
    const loop = (env: Record<string, string>) => () =>
      timeLoop(openLoop, { iterations: options.iterations, target, env });
    const contenders: Contender<LoopSample>[] = [
      { name: NO_POLICY, run: loop(base) },
      { name: EMPTY, run: loop({ ...base, CONTAINAI_POLICY: empty }) },
      { name: FIFTY, run: loop({ ...base, CONTAINAI_POLICY: fifty }) },
    ];
    const samples = await runAlternating(contenders, {
      rounds: options.rounds,
      onSample: (name, round, sample) =>
        options.log(
          `policy: round ${round + 1}/${options.rounds} ${name}: ` +
            `${formatNumber(sample.wallNs)} ns/open wall, ${formatNumber(sample.cpuNs)} CPU; ` +
            `beyond the bare syscall ${formatNumber(sample.extraWallNs)} wall, ` +
            `${formatNumber(sample.extraCpuNs)} CPU`,
        ),
    });
    return summarize(samples, options);
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
}

async function timeLoop(
  openLoop: string,
  setup: { iterations: number; target: string; env: Record<string, string> },
): Promise<LoopSample> {
  const out = await runText(openLoop, {
    args: [String(setup.iterations), setup.target],
    env: setup.env,
  });
  // A policy that denied the loop's open would make it fail here, not look fast.
  if (!out.success) throw new Error(`open_pair_loop failed (${out.code}): ${out.stderr.trim()}`);
  const [wallNs, cpuNs, _rawWall, _rawCpu, extraWallNs, extraCpuNs] = out.stdout.trim()
    .split(" ").map(Number);
  return { wallNs, cpuNs, extraWallNs, extraCpuNs };
}

function summarize(samples: Map<string, LoopSample[]>, options: PolicyCostOptions): SuiteResult {
  const of = (name: string, key: keyof LoopSample): number[] =>
    samples.get(name)!.map((sample) => sample[key]);
  const medianOf = (name: string, key: keyof LoopSample): number => median(of(name, key));
  // Round by round against the empty policy's run next to it: drift between rounds cancels.
  const paired = (name: string, key: keyof LoopSample): number[] => {
    const empty = of(EMPTY, key);
    return of(name, key).map((value, round) => value - empty[round]);
  };
  const rows = [NO_POLICY, EMPTY, FIFTY].map((name) => {
    const spread = range(of(name, "wallNs"));
    const vsEmpty = (key: keyof LoopSample): string =>
      name === EMPTY ? "—" : formatNumber(median(paired(name, key)));
    return [
      name,
      formatNumber(medianOf(name, "wallNs")),
      `${formatNumber(spread.min)} – ${formatNumber(spread.max)}`,
      formatNumber(medianOf(name, "extraWallNs")),
      formatNumber(medianOf(name, "extraCpuNs")),
      vsEmpty("extraWallNs"),
      vsEmpty("extraCpuNs"),
    ];
  });
  const matchWall = median(paired(FIFTY, "extraWallNs"));
  const matchCpu = median(paired(FIFTY, "extraCpuNs"));
  const matchSpread = range(paired(FIFTY, "extraWallNs"));
  const plainWall = medianOf(FIFTY, "wallNs") - medianOf(EMPTY, "wallNs");
  const verdict = (ns: number): string => (ns <= BUDGET_NS ? "**met**" : "**not met**");
  return {
    id: "policy",
    title: "6. Policy matching cost",
    setup: [
      "A C loop of open() calls on a path in a missing directory (ENOENT after one lookup: " +
      "the cheapest real open, so the syscall's own jitter stays small) runs under the shim " +
      "three ways: " +
      "without a policy, with an empty compiled policy, and with 50 Open rules " +
      "(bench/policy_bench.ts: absolute trees, single-segment wildcards, `**` patterns with " +
      "and without a literal tail) none of which matches the opened file, so every rule is " +
      "tried on every open. Open events for the loop's path are excluded " +
      "(CONTAINAI_AUDIT_OPEN_EXCLUDE) so that sending them, which costs far more and is the " +
      "same in each variant, does not drown the difference.",
      "The kernel's share of each open (over 1 µs, varying by hundreds of ns between runs " +
      "on a loaded machine) would drown a difference of tens of ns, so each run also makes " +
      "the same system call directly (syscall(2), not hooked), in blocks of 500 calls " +
      "alternating with blocks of hooked open() calls (bench/c/open_pair_loop.c). " +
      '"Beyond the bare syscall" is the median over a run\'s block pairs of the per-call ' +
      "difference hooked minus direct, in wall and in thread CPU time: what the shim adds " +
      'to an open. "Matching vs empty" is that figure minus the empty policy\'s run of the ' +
      "same round, median over rounds.",
      `${formatNumber(options.iterations)} hooked opens (and as many direct ones) per run, ` +
      `${options.rounds} rounds, contenders alternating; medians.`,
    ],
    columns: [
      "contender",
      "wall ns/open (median)",
      "wall ns (min – max)",
      "beyond the bare syscall, wall ns",
      "beyond the bare syscall, CPU ns",
      "matching vs empty, wall ns",
      "matching vs empty, CPU ns",
    ],
    rows,
    findings: [
      `Matching 50 non-matching rules adds ${formatNumber(matchWall)} ns per open in wall ` +
      `time (paired rounds from ${formatNumber(matchSpread.min)} to ` +
      `${formatNumber(matchSpread.max)} ns) and ${formatNumber(matchCpu)} ns in CPU time; ` +
      `goal at most ${BUDGET_NS} ns: ${verdict(matchWall)} (wall), ${verdict(matchCpu)} ` +
      `(CPU). The plain difference of the two runs' median wall ns/open, which carries the ` +
      `kernel's jitter, is ${formatNumber(plainWall)} ns.`,
    ],
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { quick: { type: "boolean" } } });
  const result = await runPolicyCost({
    iterations: values.quick ? 100_000 : 1_000_000,
    rounds: values.quick ? 3 : 15,
    log: (line) => console.error(line),
  });
  console.log(`| ${result.columns.join(" | ")} |`);
  console.log(`|${result.columns.map(() => " --- ").join("|")}|`);
  for (const row of result.rows) console.log(`| ${row.join(" | ")} |`);
  for (const finding of result.findings) console.log(`\n${finding}`);
}
