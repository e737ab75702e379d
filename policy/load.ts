/**
 * Reading a policy file: JSONC (comments and trailing commas allowed) checked
 * against {@linkcode PolicySchema}. Every problem is reported with the line and
 * column of the offending text and the path of the field, e.g.
 * `policy.jsonc:12:16: rules[2].paths[0]: a path glob must start with "/" ...`.
 *
 * @module
 */
import {
  findNodeAtLocation,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "jsonc-parser";
import type { z } from "zod";
import { type Policy, PolicySchema } from "./schema.ts";

/** One problem in a policy file. */
export interface PolicyIssue {
  /** 1-based line of the offending text. */
  line: number;
  /** 1-based column of the offending text. */
  column: number;
  /** The field, e.g. `rules[2].paths[0]`; "" for the document itself. */
  field: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/** Thrown when a policy file cannot be read, parsed or validated; `issues` lists every problem. */
export class PolicyError extends Error {
  /** Where the policy came from (a path, or "<policy>"). */
  readonly source: string;
  /** The problems, in document order. */
  readonly issues: readonly PolicyIssue[];

  /** Builds the error; its message lists every issue as `source:line:column: field: message`. */
  constructor(source: string, issues: readonly PolicyIssue[]) {
    super(
      `invalid policy ${source}:\n` +
        issues.map((issue) => `  ${formatPolicyIssue(source, issue)}`).join("\n"),
    );
    this.name = "PolicyError";
    this.source = source;
    this.issues = issues;
  }
}

/**
 * One issue as `source:line:column: field: message`.
 *
 * @example
 * ```ts
 * import { formatPolicyIssue } from "./load.ts";
 * formatPolicyIssue("p.jsonc", { line: 3, column: 5, field: "mode", message: "bad" });
 * // "p.jsonc:3:5: mode: bad"
 * ```
 */
export function formatPolicyIssue(source: string, issue: PolicyIssue): string {
  const field = issue.field === "" ? "" : `${issue.field}: `;
  return `${source}:${issue.line}:${issue.column}: ${field}${issue.message}`;
}

/** Options of {@linkcode parsePolicy}. */
export interface ParsePolicyOptions {
  /** The name used in messages (usually the file path). Default "<policy>". */
  source?: string;
}

/**
 * Parses and validates policy text; throws {@linkcode PolicyError} naming the line
 * and field of every problem.
 *
 * @example
 * ```ts
 * import { parsePolicy } from "./load.ts";
 * const policy = parsePolicy(`{
 *   "mode": "enforce", // block, not just report
 *   "rules": [{ "name": "secrets", "action": "Open", "paths": ["/run/agent-secrets/**"] }],
 * }`);
 * policy.rules[0].name; // "secrets"
 * ```
 */
export function parsePolicy(text: string, options: ParsePolicyOptions = {}): Policy {
  const source = options.source ?? "<policy>";
  const lines = lineStarts(text);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, {
    allowTrailingComma: true,
    disallowComments: false,
    allowEmptyContent: false,
  });
  if (errors.length > 0 || root === undefined) {
    const issues = errors.map((error) => ({
      ...position(lines, error.offset),
      field: "",
      message: `JSONC syntax error: ${describeParseError(error)}`,
    }));
    throw new PolicyError(
      source,
      issues.length > 0 ? issues : [{
        line: 1,
        column: 1,
        field: "",
        message: "the file is empty; a policy is an object with mode and rules",
      }],
    );
  }
  const duplicates = duplicateKeys(root).map((node) => ({
    ...position(lines, node.offset),
    field: fieldName([...pathOf(node.parent!), node.children![0].value as string]),
    message: `duplicate key "${node.children![0].value}": each key may appear once`,
  }));
  if (duplicates.length > 0) throw new PolicyError(source, duplicates);
  const parsed = PolicySchema.safeParse(valueOf(root));
  if (parsed.success) return parsed.data;
  throw new PolicyError(
    source,
    parsed.error.issues.map((issue) => toPolicyIssue(issue, root, lines)),
  );
}

/**
 * Reads and validates a policy file; throws {@linkcode PolicyError} (with line
 * numbers) when it is invalid or unreadable.
 *
 * @example
 * ```ts
 * import { loadPolicy } from "./load.ts";
 * const policy = await loadPolicy("examples/policy.jsonc");
 * ```
 */
export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new PolicyError(path, [{
      line: 1,
      column: 1,
      field: "",
      message: `cannot read the policy file (${(error as Error).message}); check the path ` +
        "given to --policy",
    }]);
  }
  return parsePolicy(text, { source: path });
}

function toPolicyIssue(
  issue: z.core.$ZodIssue,
  root: Node,
  lines: number[],
): PolicyIssue {
  const path = issue.path.map((key) => typeof key === "number" ? key : String(key));
  // An issue about a missing key points at the nearest enclosing node that exists.
  let node: Node | undefined;
  for (let depth = path.length; depth >= 0 && node === undefined; depth--) {
    node = findNodeAtLocation(root, path.slice(0, depth));
  }
  return {
    ...position(lines, (node ?? root).offset),
    field: fieldName(path),
    message: describeIssue(issue),
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    return `unknown field(s) ${issue.keys.map((key) => `"${key}"`).join(", ")}; ` +
      "see docs/policy.md for the fields a rule takes";
  }
  return issue.message;
}

/** `rules[2].paths[0]` from `["rules", 2, "paths", 0]`. */
function fieldName(path: readonly (string | number)[]): string {
  return path.map((key, i) => typeof key === "number" ? `[${key}]` : i === 0 ? key : `.${key}`)
    .join("");
}

function valueOf(node: Node): unknown {
  switch (node.type) {
    case "object":
      return Object.fromEntries(
        (node.children ?? []).map((property) => [
          property.children![0].value as string,
          valueOf(property.children![1]),
        ]),
      );
    case "array":
      return (node.children ?? []).map(valueOf);
    default:
      return node.value;
  }
}

function duplicateKeys(node: Node): Node[] {
  const found: Node[] = [];
  if (node.type === "object") {
    const seen = new Set<string>();
    for (const property of node.children ?? []) {
      const key = property.children![0].value as string;
      if (seen.has(key)) found.push(property);
      seen.add(key);
    }
  }
  for (const child of node.children ?? []) found.push(...duplicateKeys(child));
  return found;
}

/** The path of a value node, e.g. `["rules", 2, "paths"]`. */
function pathOf(value: Node): (string | number)[] {
  const path: (string | number)[] = [];
  let current = value;
  for (;;) {
    const parent = current.parent;
    if (parent?.type === "property") {
      path.unshift(parent.children![0].value as string);
      current = parent.parent!;
    } else if (parent?.type === "array") {
      path.unshift(parent.children!.indexOf(current));
      current = parent;
    } else {
      return path;
    }
  }
}

function describeParseError(error: ParseError): string {
  const messages: Record<string, string> = {
    InvalidSymbol: "unexpected character",
    InvalidNumberFormat: "malformed number",
    PropertyNameExpected: "a quoted property name was expected",
    ValueExpected: "a value was expected",
    ColonExpected: 'a ":" was expected',
    CommaExpected: 'a "," was expected (between items or properties)',
    CloseBraceExpected: 'a closing "}" was expected',
    CloseBracketExpected: 'a closing "]" was expected',
    EndOfFileExpected: "nothing may follow the top-level value",
    InvalidCommentToken: "malformed comment",
    UnexpectedEndOfComment: "a /* comment is not closed",
    UnexpectedEndOfString: "a string is not closed",
    UnexpectedEndOfNumber: "a number is cut off",
    InvalidUnicode: "malformed \\u escape",
    InvalidEscapeCharacter: "invalid escape in a string",
    InvalidCharacter: "invalid character in a string",
  };
  const code = printParseErrorCode(error.error);
  return messages[code] ?? code;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return starts;
}

function position(starts: number[], offset: number): { line: number; column: number } {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid] <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, column: offset - starts[low] + 1 };
}
