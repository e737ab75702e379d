import assert from "node:assert/strict";
import { findZig } from "../../toolchain/mod.ts";

// The shim's matcher (shim/src/policy.zig) has its own unit tests, including the glob vectors
// shared with policy/glob.ts; running them here keeps both matchers in the same suite.
Deno.test("the shim's policy matcher passes its Zig unit tests and the shared glob vectors", async () => {
  const zig = await findZig();
  const out = await new Deno.Command(zig.program, {
    args: [...zig.prefix, "test", "-lc", "src/policy.zig"],
    cwd: new URL("../../shim/", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert(out.success, text);
  assert.match(text, /All \d+ tests passed/);
  assert.doesNotMatch(text, /skipped/, "the shared vectors must be found, not skipped");
});
