import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { resolveProgram } from "../../runner/program_path.ts";

Deno.test("a bare name resolves to the first executable file on the search path", async () => {
  const root = await Deno.makeTempDir({ prefix: "runner-path-" });
  try {
    await Deno.mkdir(`${root}/a`);
    await Deno.mkdir(`${root}/b`);
    await Deno.writeTextFile(`${root}/a/tool`, "not executable");
    await Deno.writeTextFile(`${root}/b/tool`, "#!/bin/sh\n", { mode: 0o755 });
    assertEquals(resolveProgram("tool", { searchPath: `${root}/a:${root}/b` }), `${root}/b/tool`);
    assertEquals(resolveProgram("missing", { searchPath: `${root}/a:${root}/b` }), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a name with a slash is taken as given, relative to the working directory", () => {
  assertEquals(resolveProgram("./run.sh", { cwd: "/work" }), "/work/run.sh");
  assertEquals(resolveProgram("../bin/tool", { cwd: "/work/sub" }), "/work/bin/tool");
  assertEquals(resolveProgram("/bin/true", { cwd: "/work" }), "/bin/true");
});
