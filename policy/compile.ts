/**
 * The compact form of a policy: what the shim reads once at start-up, with no
 * JSON parsing in any hook. A text format of space-separated tokens in which every
 * string is a netstring (`<byte length>:<bytes>`), so names and globs may hold any
 * byte but NUL and the shim never has to unescape anything:
 *
 * ```text
 * CAIPOLICY 1 <observe|enforce> <rule count>\n
 * X <name> <path count> <path>... <argv count> <argv glob>...\n          (Exec)
 * O <name> <access bits: 1 read | 2 write | 4 create> <path count> <path>...\n  (Open)
 * C <name> <cidr count> <hex32/prefix>... <port count> <low-high>... <unix count> <glob>...\n
 * END\n
 * ```
 *
 * CIDRs are 32 hex digits of an IPv6 network address (IPv4 as ::ffff:a.b.c.d)
 * and a prefix length 0..128. docs/policy.md describes the format in full.
 *
 * @module
 */
import { parseCidr } from "./cidr.ts";
import { readableTempDir } from "./compact_store.ts";
import type { Access, ConnectRule, ExecRule, OpenRule, Policy } from "./schema.ts";

/** The first token of every compact policy. */
export const COMPACT_MAGIC = "CAIPOLICY";
/** The compact form's version; the shim refuses any other. */
export const COMPACT_VERSION = 1;
/** The largest compact file the shim accepts (its static buffer). */
export const MAX_COMPACT_BYTES = 256 * 1024;
/** The most globs (paths, argv and unix patterns together) the shim's tables hold. */
export const MAX_COMPACT_GLOBS = 4096;
/** The most CIDR ranges, and the most port ranges, the shim's tables hold. */
export const MAX_COMPACT_RANGES = 1024;

const ACCESS_BITS: Record<Access, number> = { read: 1, write: 2, create: 4 };

const encoder = new TextEncoder();

/**
 * Compiles a validated policy into its compact form. Throws when the policy is
 * larger than the shim's static tables (the message says which limit).
 *
 * @example
 * ```ts
 * import { compilePolicy } from "./compile.ts";
 * compilePolicy({ mode: "enforce", rules: [] }); // "CAIPOLICY 1 enforce 0\nEND\n"
 * ```
 */
export function compilePolicy(policy: Policy): string {
  const records = policy.rules.map((rule) => {
    switch (rule.action) {
      case "Exec":
        return execRecord(rule);
      case "Open":
        return openRecord(rule);
      case "Connect":
        return connectRecord(rule);
    }
  });
  const text = [
    `${COMPACT_MAGIC} ${COMPACT_VERSION} ${policy.mode} ${policy.rules.length}`,
    ...records,
    "END",
    "",
  ].join("\n");
  checkLimits(policy, text);
  return text;
}

/** Options of {@linkcode writeCompactPolicy}. */
export interface WriteCompactOptions {
  /** Directory for the file; default a new temporary directory. */
  dir?: string;
}

/**
 * Compiles the policy and writes it to a new read-only file; returns the file's
 * path, to be passed to the shim in `CONTAINAI_POLICY`. The caller removes it.
 *
 * @example
 * ```ts
 * import { writeCompactPolicy } from "./compile.ts";
 * const path = await writeCompactPolicy({ mode: "observe", rules: [] });
 * ```
 */
export async function writeCompactPolicy(
  policy: Policy,
  options: WriteCompactOptions = {},
): Promise<string> {
  const text = compilePolicy(policy);
  const dir = options.dir ?? await readableTempDir("containai-policy-");
  const path = `${dir}/policy.compact`;
  await Deno.writeTextFile(path, text, { mode: 0o444, createNew: true });
  return path;
}

function execRecord(rule: ExecRule): string {
  const argv = rule.argv ?? [];
  return [
    "X",
    netstring(rule.name),
    ...list(rule.paths),
    ...list(argv),
  ].join(" ");
}

function openRecord(rule: OpenRule): string {
  const access = rule.access ?? ["read", "write", "create"];
  const bits = access.reduce((sum, kind) => sum | ACCESS_BITS[kind], 0);
  return ["O", netstring(rule.name), String(bits), ...list(rule.paths)].join(" ");
}

function connectRecord(rule: ConnectRule): string {
  const cidrs = (rule.addresses ?? []).map((text) => {
    const cidr = parseCidr(text);
    if (typeof cidr === "string") throw new Error(`${rule.name}: ${cidr}`);
    const hex = [...cidr.bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    return `${hex}/${cidr.prefix}`;
  });
  const ports = rule.addresses === undefined
    ? []
    : (rule.ports ?? ["0-65535"]).map((port) => typeof port === "number" ? `${port}-${port}` : port)
      .map((range) => range.split("-").map(Number).join("-"));
  return [
    "C",
    netstring(rule.name),
    String(cidrs.length),
    ...cidrs,
    String(ports.length),
    ...ports,
    ...list(rule.unix ?? []),
  ].join(" ");
}

function list(strings: readonly string[]): string[] {
  return [String(strings.length), ...strings.map(netstring)];
}

function netstring(text: string): string {
  return `${encoder.encode(text).length}:${text}`;
}

function checkLimits(policy: Policy, text: string): void {
  const size = encoder.encode(text).length;
  if (size > MAX_COMPACT_BYTES) {
    throw new Error(
      `the compiled policy is ${size} bytes; the shim reads at most ${MAX_COMPACT_BYTES}: ` +
        "merge rules or shorten globs",
    );
  }
  let globs = 0;
  let cidrs = 0;
  let ports = 0;
  for (const rule of policy.rules) {
    if (rule.action === "Connect") {
      globs += rule.unix?.length ?? 0;
      cidrs += rule.addresses?.length ?? 0;
      ports += rule.addresses === undefined ? 0 : rule.ports?.length ?? 1;
    } else {
      globs += rule.paths.length + (rule.action === "Exec" ? rule.argv?.length ?? 0 : 0);
    }
  }
  const over = [
    [globs, MAX_COMPACT_GLOBS, "globs"],
    [cidrs, MAX_COMPACT_RANGES, "CIDR ranges"],
    [ports, MAX_COMPACT_RANGES, "port ranges"],
  ] as const;
  for (const [count, max, what] of over) {
    if (count > max) {
      throw new Error(
        `the policy has ${count} ${what}; the shim holds at most ${max}: merge rules`,
      );
    }
  }
}
