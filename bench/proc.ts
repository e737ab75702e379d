/**
 * Memory of server process trees, read from /proc: the peak resident set
 * (VmHWM) of every process in a tree, tracked while the tree changes.
 *
 * @module
 */

/**
 * The pids of `root` and all its descendants that are alive now.
 *
 * @example
 * ```ts
 * import { processTree } from "./proc.ts";
 * const pids = await processTree(Deno.pid); // [Deno.pid, ...children]
 * ```
 */
export async function processTree(root: number): Promise<number[]> {
  const tree: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    let tasks: string[];
    try {
      tasks = [];
      for await (const entry of Deno.readDir(`/proc/${pid}/task`)) tasks.push(entry.name);
    } catch {
      continue; // the process exited meanwhile
    }
    tree.push(pid);
    for (const task of tasks) {
      try {
        const children = await Deno.readTextFile(`/proc/${pid}/task/${task}/children`);
        for (const child of children.trim().split(/\s+/)) if (child) pending.push(Number(child));
      } catch {
        // the thread exited meanwhile
      }
    }
  }
  return tree;
}

/**
 * The peak resident set of a process in bytes (VmHWM), or undefined if it is gone.
 *
 * @example
 * ```ts
 * import { peakRss } from "./proc.ts";
 * const bytes = await peakRss(Deno.pid);
 * ```
 */
export async function peakRss(pid: number): Promise<number | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const match = status.match(/^VmHWM:\s+(\d+)\s+kB$/m);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time (user + system) a process has used so far, in seconds, or undefined if it is gone.
 *
 * @example
 * ```ts
 * import { cpuSeconds } from "./proc.ts";
 * const seconds = await cpuSeconds(Deno.pid);
 * ```
 */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // The command name (field 2) may contain spaces; the numeric fields follow its ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** USER_HZ: the unit of /proc/<pid>/stat times, 100 on every Linux architecture Deno runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Which processes of a server's tree count as the server. */
export type RssScope =
  /** The root and every descendant (for example socat and its forked children). */
  | "tree"
  /** Only the descendants: the root is a launcher that starts the served process. */
  | "descendants";

/**
 * Tracks the peak resident set and CPU time of a process tree: call
 * {@linkcode sample} periodically while it runs; {@linkcode peakBytes} sums
 * each process's own peak (an upper bound of the tree's peak, since peaks need
 * not coincide).
 *
 * @example
 * ```ts
 * import { ProcessTreeUsage } from "./proc.ts";
 * const usage = new ProcessTreeUsage(Deno.pid, { scope: "tree" });
 * await usage.start();
 * // ... the measured work ...
 * await usage.sample();
 * console.log(usage.peakBytes, usage.cpuSeconds);
 * ```
 */
export class ProcessTreeUsage {
  readonly #root: number;
  readonly #scope: RssScope;
  readonly #peaks = new Map<number, number>();
  readonly #cpuStart = new Map<number, number>();
  readonly #cpuLast = new Map<number, number>();

  constructor(root: number, options: { scope: RssScope }) {
    this.#root = root;
    this.#scope = options.scope;
  }

  /** Reads the current VmHWM of every counted process. */
  async sample(): Promise<void> {
    for (const pid of await processTree(this.#root)) {
      if (this.#scope === "descendants" && pid === this.#root) continue;
      const peak = await peakRss(pid);
      if (peak !== undefined) this.#peaks.set(pid, Math.max(peak, this.#peaks.get(pid) ?? 0));
      const cpu = await cpuSeconds(pid);
      if (cpu !== undefined) {
        if (!this.#cpuStart.has(pid)) this.#cpuStart.set(pid, this.#started ? 0 : cpu);
        this.#cpuLast.set(pid, cpu);
      }
    }
  }

  #started = false;

  /**
   * Marks the start of the measured interval: CPU time used before it (start-up) is not
   * counted; processes that appear later count from zero.
   */
  async start(): Promise<void> {
    await this.sample();
    this.#started = true;
  }

  /** CPU seconds the counted processes used since {@linkcode start}, as of the last sample. */
  get cpuSeconds(): number {
    let sum = 0;
    for (const [pid, last] of this.#cpuLast) sum += last - (this.#cpuStart.get(pid) ?? 0);
    return sum;
  }

  /** Sum of the peaks of every process seen so far, in bytes. */
  get peakBytes(): number {
    let sum = 0;
    for (const peak of this.#peaks.values()) sum += peak;
    return sum;
  }

  /** How many distinct processes were counted. */
  get processCount(): number {
    return this.#peaks.size;
  }
}
