import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function main(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("run --help describes the options and the exit statuses", async () => {
  const result = await main(["run", "--help"]);
  assertEquals(result.code, 0);
  for (
    const option of ["--session", "--agent", "--socket", "--log-dir", "--shim", "--quiet", "--json"]
  ) {
    assertMatch(result.stdout, new RegExp(`^  ${option}`, "m"));
  }
  assertMatch(result.stdout, /128\+N when killed by signal N/);
});

Deno.test("run without a command is a usage error that shows where the command goes", async () => {
  const result = await main(["run", "--quiet"]);
  assertEquals(result.code, 2);
  assertMatch(result.stderr, /no command given; put it after --/);
});

Deno.test("a command option before -- is refused with a hint to use --", async () => {
  const result = await main(["run", "ls", "-la"]);
  assertEquals(result.code, 2);
  assertMatch(result.stderr, /^run: Unknown option '-l'.*\(put the command after --\)/);
});

Deno.test("--quiet and --json together are refused", async () => {
  const result = await main(["run", "--quiet", "--json", "--", "true"]);
  assertEquals(result.code, 2);
  assertMatch(result.stderr, /--quiet and --json exclude each other/);
});

Deno.test("an unsafe --session is refused before anything starts, with exit status 125", async () => {
  const result = await main(["run", "--session", "../escape", "--shim", "/bin/true", "--", "true"]);
  assertEquals(result.code, 125);
  assertMatch(result.stderr, /session id "\.\.\/escape" is not allowed/);
});

Deno.test("a --shim that does not exist is refused with how to build it", async () => {
  const result = await main(["run", "--shim", "/nonexistent/libauditshim.so", "--", "true"]);
  assertEquals(result.code, 125);
  assertMatch(
    result.stderr,
    /--shim \/nonexistent\/libauditshim\.so does not exist \(build it with \.\/task build\)/,
  );
});
