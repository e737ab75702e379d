/**
 * The glob language of policy paths, and its matcher. The shim has a byte-for-byte
 * twin of this matcher in `shim/src/policy.zig`; both run the same test vectors
 * (`tests/policy/glob_cases.json`), so the runner and the shim always agree.
 *
 * Syntax (bytes, not characters, so `?` matches one UTF-8 byte):
 * - `*` any run of bytes within one path segment (never `/`)
 * - `**` any run of bytes across segments; as a whole segment (`/**` + `/`) it
 *   matches zero or more whole segments, and a trailing `/**` also matches the
 *   directory itself (`/run/agent-secrets/**` matches `/run/agent-secrets`)
 * - `?` one byte other than `/`
 * - `\x` the byte `x` literally (to match a real `*`, `?` or `\`)
 *
 * In flat mode (used for argv patterns) `/` is an ordinary byte: `*` and `?` match it too.
 *
 * @module
 */

const STAR = 0x2a;
const QUESTION = 0x3f;
const SLASH = 0x2f;
const BACKSLASH = 0x5c;

const encoder = new TextEncoder();

/** Options of {@linkcode globMatch}. */
export interface GlobOptions {
  /** Treat `/` as an ordinary byte (argv patterns). Default false (path patterns). */
  flat?: boolean;
}

/**
 * Whether `text` matches the glob `pattern` (both compared as UTF-8 bytes).
 *
 * @example
 * ```ts
 * import { globMatch } from "./glob.ts";
 * globMatch("/run/agent-secrets/**", "/run/agent-secrets/db/password"); // true
 * globMatch("/home/*\/.ssh/*", "/home/ada/.ssh/id_ed25519"); // true
 * globMatch("/tmp/*", "/tmp/a/b"); // false
 * ```
 */
export function globMatch(pattern: string, text: string, options: GlobOptions = {}): boolean {
  return globMatchBytes(encoder.encode(pattern), encoder.encode(text), options);
}

/**
 * {@linkcode globMatch} on bytes. Iterative with two backtrack points (the last
 * `*` and the last `**`), as in git's wildmatch, so it runs in O(pattern x text)
 * time at worst and never recurses.
 *
 * @example
 * ```ts
 * import { globMatchBytes } from "./glob.ts";
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * globMatchBytes(bytes("/a/**"), bytes("/a")); // true
 * ```
 */
export function globMatchBytes(
  p: Uint8Array,
  s: Uint8Array,
  options: GlobOptions = {},
): boolean {
  const flat = options.flat ?? false;
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  let deepP = -1;
  let deepS = 0;
  let deepWholeSegments = false;
  for (;;) {
    if (pi < p.length) {
      const c = p[pi];
      if (c === STAR) {
        let q = pi + 1;
        while (q < p.length && p[q] === STAR) q++;
        const double = q - pi >= 2 || flat;
        if (!double) {
          starP = q;
          starS = si;
          pi = q;
          continue;
        }
        if (q === p.length) return true;
        const segmentStart = pi === 0 || p[pi - 1] === SLASH;
        if (!flat && q - pi >= 2 && segmentStart && p[q] === SLASH) {
          deepP = q + 1;
          deepS = si;
          deepWholeSegments = true;
          starP = -1;
          pi = q + 1;
          continue;
        }
        deepP = q;
        deepS = si;
        deepWholeSegments = false;
        starP = -1;
        pi = q;
        continue;
      }
      if (c === QUESTION) {
        if (si < s.length && (flat || s[si] !== SLASH)) {
          pi++;
          si++;
          continue;
        }
      } else if (c === BACKSLASH && pi + 1 < p.length) {
        if (si < s.length && s[si] === p[pi + 1]) {
          pi += 2;
          si++;
          continue;
        }
      } else {
        if (
          !flat && c === SLASH && si === s.length && pi + 3 === p.length &&
          p[pi + 1] === STAR && p[pi + 2] === STAR
        ) {
          return true;
        }
        if (si < s.length && s[si] === c) {
          pi++;
          si++;
          continue;
        }
      }
    } else if (si === s.length) {
      return true;
    }
    // Mismatch: let the last `*` take one more byte of its segment, else the last `**`.
    if (starP >= 0 && starS < s.length && s[starS] !== SLASH) {
      starS++;
      pi = starP;
      si = starS;
      continue;
    }
    if (deepP < 0) return false;
    if (deepWholeSegments) {
      const next = s.indexOf(SLASH, deepS);
      if (next < 0) return false;
      deepS = next + 1;
    } else {
      if (deepS >= s.length) return false;
      deepS++;
    }
    starP = -1;
    pi = deepP;
    si = deepS;
  }
}

/**
 * Why `pattern` is not a valid policy path glob, or undefined when it is. A path
 * glob must be absolute (start with `/`) or start with `**` (any directory).
 *
 * @example
 * ```ts
 * import { pathGlobProblem } from "./glob.ts";
 * pathGlobProblem("etc/passwd"); // 'a path glob must start with "/" or "**" ...'
 * ```
 */
export function pathGlobProblem(pattern: string): string | undefined {
  if (!pattern.startsWith("/") && !pattern.startsWith("**")) {
    return `a path glob must start with "/" or "**" (paths are matched after being made ` +
      `absolute), got "${pattern}"`;
  }
  return globProblem(pattern);
}

/**
 * Why `pattern` is not a valid glob at all (NUL byte, dangling backslash), or undefined.
 *
 * @example
 * ```ts
 * import { globProblem } from "./glob.ts";
 * globProblem("--force"); // undefined
 * ```
 */
export function globProblem(pattern: string): string | undefined {
  if (pattern.includes("\0")) return "a glob cannot contain a NUL byte";
  let backslashes = 0;
  for (let i = pattern.length - 1; i >= 0 && pattern[i] === "\\"; i--) backslashes++;
  if (backslashes % 2 === 1) {
    return `a glob cannot end in a lone "\\" (write "\\\\" for a literal backslash), got "${pattern}"`;
  }
  return undefined;
}
