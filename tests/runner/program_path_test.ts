import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { resolveProgram } from "../../runner/program_path.ts";
import { tempDir } from "../support/temp_dir.ts";

Deno.test("a bare name resolves to the first executable file on the search path", async () => {
  await using temp = await tempDir("runner-path-");
  const root = temp.path;
  await Deno.mkdir(`${root}/a`);
  await Deno.mkdir(`${root}/b`);
  await Deno.writeTextFile(`${root}/a/tool`, "not executable");
  await Deno.writeTextFile(`${root}/b/tool`, "#!/bin/sh\n", { mode: 0o755 });
  assertEquals(resolveProgram("tool", { searchPath: `${root}/a:${root}/b` }), `${root}/b/tool`);
  assertEquals(resolveProgram("missing", { searchPath: `${root}/a:${root}/b` }), null);
});

Deno.test("a name with a slash is taken as given, relative to the working directory", () => {
  assertEquals(resolveProgram("./run.sh", { cwd: "/work" }), "/work/run.sh");
  assertEquals(resolveProgram("../bin/tool", { cwd: "/work/sub" }), "/work/bin/tool");
  assertEquals(resolveProgram("/bin/true", { cwd: "/work" }), "/bin/true");
});
