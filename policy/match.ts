/**
 * Policy decisions in TypeScript, for the runner's own exec of the task. They
 * follow the shim's rules exactly: paths are made absolute and normalized
 * lexically, the first matching rule wins, and no match means allow.
 *
 * @module
 */
import { globMatch } from "./glob.ts";
import type { ExecRule, Policy } from "./schema.ts";

/**
 * The absolute, lexically normalized form of `path` (`.`, `..` and repeated `/`
 * removed; symlinks are not resolved), relative paths taken from `cwd`.
 *
 * @example
 * ```ts
 * import { normalizePath } from "./match.ts";
 * normalizePath("../etc//passwd", "/home/ada"); // "/home/etc/passwd"
 * ```
 */
export function normalizePath(path: string, cwd: string): string {
  const joined = path.startsWith("/") ? path : `${cwd}/${path}`;
  const parts: string[] = [];
  for (const part of joined.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/**
 * The first Exec rule that matches a program (already resolved through PATH)
 * started with `argv`, or undefined when the exec is allowed.
 *
 * @example
 * ```ts
 * import { matchExec } from "./match.ts";
 * const rule = matchExec(
 *   { mode: "enforce", rules: [{ name: "no-sudo", action: "Exec", paths: ["**\/sudo"] }] },
 *   "/usr/bin/sudo",
 *   { argv: ["sudo", "id"], cwd: "/" },
 * );
 * rule?.name; // "no-sudo"
 * ```
 */
export function matchExec(
  policy: Policy,
  path: string,
  options: { argv: readonly string[]; cwd: string },
): ExecRule | undefined {
  const target = normalizePath(path, options.cwd);
  const args = options.argv.slice(1);
  for (const rule of policy.rules) {
    if (rule.action !== "Exec") continue;
    if (!rule.paths.some((glob) => globMatch(glob, target))) continue;
    const argvMatches = (rule.argv ?? []).every((glob) =>
      args.some((arg) => globMatch(glob, arg, { flat: true }))
    );
    if (argvMatches) return rule;
  }
  return undefined;
}
