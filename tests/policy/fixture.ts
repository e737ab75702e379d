/**
 * A policy test's world: a temp dir, a real collector, a policy compiled to its compact
 * form, and programs run under the real shim with CONTAINAI_POLICY pointing at it.
 *
 * @module
 */
import { startTestCollector, type StoredLine, type TestCollector } from "../support/collector.ts";
import { type RunResult, runUnderShim, waitForShimEvents } from "../support/shim.ts";
import { type Policy, POLICY_ENV, writeCompactPolicy } from "../../policy/mod.ts";

/** The system Python (dynamically linked, so the shim is loaded into it), else python3 on PATH. */
export const PYTHON: string = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** See {@linkcode policyFixture}. */
export interface PolicyFixture {
  /** A fresh temp dir for the test's files (removed at the end). */
  dir: string;
  /** The collector the shim reports to. */
  collector: TestCollector;
  /** Path of the compact policy. */
  compact: string;
  /** Runs a command under the shim with the policy, in session `session`. */
  run(
    command: string[],
    options: { session: string; env?: Record<string, string>; cwd?: string },
  ): Promise<RunResult>;
  /** Waits until the session holds at least `count` Deny events; returns all its events. */
  waitForDenies(session: string, count?: number): Promise<StoredLine[]>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a collector and compiles the policy `build(dir)` returns (globs may name files in
 * the fixture's temp dir).
 */
export async function policyFixture(build: (dir: string) => Policy): Promise<PolicyFixture> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "policy-test-" }));
  const collector = await startTestCollector();
  const compact = await writeCompactPolicy(build(dir), { dir });
  return {
    dir,
    collector,
    compact,
    run: (command, options) =>
      runUnderShim(command, {
        socket: collector.socket,
        session: options.session,
        cwd: options.cwd,
        env: { [POLICY_ENV]: compact, ...options.env },
      }),
    async waitForDenies(session, count = 1) {
      return await waitForShimEvents(
        collector,
        session,
        (events) => denies(events).length >= count,
      );
    },
    async [Symbol.asyncDispose]() {
      await collector[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The Deny events' payloads, in order. */
export function denies(events: StoredLine[]): Record<string, unknown>[] {
  return events.filter((event) => event.event_type === "Deny").map((event) =>
    event.payload as Record<string, unknown>
  );
}

/** The payloads of the events of `type` whose `field` equals `value`. */
export function payloadsWhere(
  events: StoredLine[],
  type: string,
  field: string,
  value: unknown,
): Record<string, unknown>[] {
  return events.filter((event) => event.event_type === type)
    .map((event) => event.payload as Record<string, unknown>)
    .filter((payload) => payload[field] === value);
}
