/**
 * The zod schema of a policy file (documented in docs/policy.md). It checks
 * everything that can be checked without the file's text: the loader adds line
 * numbers to the issues it reports.
 *
 * @module
 */
import { z } from "zod";
import { globProblem, pathGlobProblem } from "./glob.ts";
import { parseCidr } from "./cidr.ts";

/** The largest number of rules a policy may hold (the shim's static tables are sized for it). */
export const MAX_RULES = 1024;
/** The longest glob, in UTF-8 bytes. */
export const MAX_GLOB_BYTES = 1024;

const encoder = new TextEncoder();

const byteLength = (text: string): number => encoder.encode(text).length;

const glob = (problem: (pattern: string) => string | undefined) =>
  z.string().min(1, { message: "a glob cannot be empty" }).superRefine((pattern, ctx) => {
    const message = problem(pattern) ??
      (byteLength(pattern) > MAX_GLOB_BYTES
        ? `a glob may be at most ${MAX_GLOB_BYTES} bytes long`
        : undefined);
    if (message !== undefined) ctx.addIssue({ code: "custom", message });
  });

const pathGlobs = z.array(glob(pathGlobProblem)).min(1, {
  message: "list at least one path glob",
});

// Names appear in Deny events and in messages: control characters would garble both.
// deno-lint-ignore no-control-regex
const ruleName = z.string().min(1).max(64).regex(/^[^\x00-\x1f\x7f]*$/, {
  message: "a rule name must not contain control characters",
});

/** A port (0..65535) or an inclusive range written "LOW-HIGH". */
export const PortSchema = z.union([
  z.int().min(0).max(65535),
  z.string().regex(/^\d{1,5}-\d{1,5}$/, {
    message: 'a port range is written "LOW-HIGH", e.g. "8000-8999"',
  }).superRefine((text, ctx) => {
    const [low, high] = text.split("-").map(Number);
    if (high > 65535 || low > high) {
      ctx.addIssue({
        code: "custom",
        message: `port range "${text}" must satisfy 0 <= LOW <= HIGH <= 65535`,
      });
    }
  }),
], { error: 'a port is an integer 0..65535 or a range string "LOW-HIGH"' });

const cidr = z.string().superRefine((text, ctx) => {
  const parsed = parseCidr(text);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
});

/** Access kinds of an Open rule. */
export const AccessSchema = z.enum(["read", "write", "create"]);

/** An Exec rule: program path globs and, optionally, argument patterns that must all be present. */
export const ExecRuleSchema = z.strictObject({
  name: ruleName,
  action: z.literal("Exec"),
  paths: pathGlobs,
  argv: z.array(glob(globProblem)).optional(),
});

/** An Open rule: path globs and the kinds of access it applies to (default all). */
export const OpenRuleSchema = z.strictObject({
  name: ruleName,
  action: z.literal("Open"),
  paths: pathGlobs,
  access: z.array(AccessSchema).min(1, {
    message: 'list at least one of "read", "write", "create" (or leave access out for all)',
  }).optional(),
});

/** A Connect rule: CIDR ranges (with optional ports) and/or Unix socket path globs. */
export const ConnectRuleSchema = z.strictObject({
  name: ruleName,
  action: z.literal("Connect"),
  addresses: z.array(cidr).min(1).optional(),
  ports: z.array(PortSchema).min(1).optional(),
  unix: z.array(glob(unixGlobProblem)).min(1).optional(),
}).superRefine((rule, ctx) => {
  if (rule.addresses === undefined && rule.unix === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["addresses"],
      message: 'a Connect rule needs "addresses" (CIDR ranges) or "unix" (socket path globs)',
    });
  }
  if (rule.ports !== undefined && rule.addresses === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["ports"],
      message: 'ports only apply to "addresses"; add e.g. "addresses": ["0.0.0.0/0", "::/0"]',
    });
  }
});

/** One rule of any kind, selected by `action`. */
export const RuleSchema = z.discriminatedUnion("action", [
  ExecRuleSchema,
  OpenRuleSchema,
  ConnectRuleSchema,
], { error: 'action must be "Exec", "Open" or "Connect"' });

/**
 * A whole policy file.
 *
 * @example
 * ```ts
 * import { PolicySchema } from "./schema.ts";
 * PolicySchema.parse({
 *   mode: "enforce",
 *   rules: [{ name: "secrets", action: "Open", paths: ["/run/agent-secrets/**"] }],
 * });
 * ```
 */
export const PolicySchema = z.strictObject({
  version: z.literal(1, { error: "version must be 1 (or left out)" }).optional(),
  mode: z.enum(["observe", "enforce"], { error: 'mode must be "observe" or "enforce"' }),
  rules: z.array(RuleSchema).max(MAX_RULES),
}).superRefine((policy, ctx) => {
  const seen = new Map<string, number>();
  policy.rules.forEach((rule, index) => {
    const first = seen.get(rule.name);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["rules", index, "name"],
        message: `rule name "${rule.name}" is already used by rules[${first}]; names must be ` +
          "unique because Deny events report them",
      });
    } else {
      seen.set(rule.name, index);
    }
  });
});

/** A validated policy. */
export type Policy = z.infer<typeof PolicySchema>;
/** A validated rule. */
export type Rule = z.infer<typeof RuleSchema>;
/** A validated Exec rule. */
export type ExecRule = z.infer<typeof ExecRuleSchema>;
/** A validated Open rule. */
export type OpenRule = z.infer<typeof OpenRuleSchema>;
/** A validated Connect rule. */
export type ConnectRule = z.infer<typeof ConnectRuleSchema>;
/** An Open access kind. */
export type Access = z.infer<typeof AccessSchema>;

function unixGlobProblem(pattern: string): string | undefined {
  // Abstract sockets have no path; the shim reports them as "@name".
  if (pattern.startsWith("@")) return globProblem(pattern);
  return pathGlobProblem(pattern);
}
