import assert from "node:assert/strict";
import { globMatch } from "../../policy/mod.ts";
import { globProblem, pathGlobProblem } from "../../policy/glob.ts";

interface GlobCase {
  pattern: string;
  text: string;
  flat?: boolean;
  match: boolean;
}

// The same vectors run in the shim's twin matcher (shim/src/policy.zig, zig_matcher_test.ts).
const CASES: GlobCase[] = JSON.parse(
  await Deno.readTextFile(new URL("./glob_cases.json", import.meta.url)),
);

Deno.test("the glob matcher gives the expected answer for every shared vector", () => {
  const wrong = CASES.filter((c) => globMatch(c.pattern, c.text, { flat: c.flat }) !== c.match);
  assert.deepEqual(wrong, []);
});

/** An independent definition of the glob language as a regular expression. */
function referenceRegExp(pattern: string, flat: boolean): RegExp {
  const quote = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  let out = "";
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === "*") {
      let q = i;
      while (pattern[q] === "*") q++;
      const segmentStart = i === 0 || pattern[i - 1] === "/";
      if (flat) out += ".*";
      else if (q - i === 1) out += "[^/]*";
      else if (segmentStart && pattern[q] === "/") {
        out += "(?:.*/)?";
        q++;
      } else out += ".*";
      i = q;
    } else if (ch === "?") {
      out += flat ? "." : "[^/]";
      i++;
    } else if (!flat && ch === "/" && pattern.slice(i) === "/**") {
      out += "(?:/.*)?";
      i += 3;
    } else if (ch === "\\" && i + 1 < pattern.length) {
      out += quote(pattern[i + 1]);
      i += 2;
    } else {
      out += quote(ch);
      i++;
    }
  }
  return new RegExp(`^${out}$`, "s");
}

Deno.test("the glob matcher agrees with a regular-expression definition on 50,000 random cases", () => {
  const patternTokens = ["a", "b", "/", "*", "**", "?", "\\*", "/**", "/**/"];
  const textTokens = ["a", "b", "/", "*"];
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const disagreements: string[] = [];
  for (let k = 0; k < 50_000; k++) {
    let pattern = "";
    for (let j = random(8); j > 0; j--) pattern += patternTokens[random(patternTokens.length)];
    let text = "";
    for (let j = random(10); j > 0; j--) text += textTokens[random(textTokens.length)];
    const flat = random(4) === 0;
    const expected = referenceRegExp(pattern, flat).test(text);
    if (globMatch(pattern, text, { flat }) !== expected) {
      disagreements.push(JSON.stringify({ pattern, text, flat, expected }));
    }
  }
  assert.deepEqual(disagreements.slice(0, 10), []);
});

Deno.test("a pathological pattern is rejected in linear-ish time, not exponential", () => {
  const pattern = "/" + "*a".repeat(40) + "b";
  const text = "/" + "a".repeat(4000);
  // No timing assertion (performance is the benchmark's job): this only has to return.
  assert.equal(globMatch(pattern, text), false);
  assert.equal(globMatch("/**" + "/**".repeat(30) + "/b", "/a".repeat(2000)), false);
});

Deno.test("a path glob must be absolute or start with **", () => {
  assert.match(pathGlobProblem("etc/passwd") ?? "", /must start with "\/" or "\*\*"/);
  assert.equal(pathGlobProblem("/etc/passwd"), undefined);
  assert.equal(pathGlobProblem("**/id_rsa"), undefined);
});

Deno.test("a glob cannot end in a lone backslash or hold a NUL byte", () => {
  assert.match(globProblem("/x\\") ?? "", /lone "\\"/);
  assert.equal(globProblem("/x\\\\"), undefined);
  assert.match(globProblem("/x\0y") ?? "", /NUL/);
});
