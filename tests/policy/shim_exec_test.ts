/**
 * Exec rules under the real shim: a denied program does not start (EACCES, or the error number
 * for posix_spawn), from bash, from Python and through every libc entry point.
 */
import assert from "node:assert/strict";
import { compileC } from "../support/shim.ts";
import { EXEC_ENTRY_SOURCE } from "../shim/programs.ts";
import { denies, payloadsWhere, policyFixture, PYTHON } from "./fixture.ts";

const DENY_DATE = {
  mode: "enforce" as const,
  rules: [{ name: "no-date", action: "Exec" as const, paths: ["**/date"] }],
};

Deno.test("enforce: bash cannot run a denied binary and reports status 126", async () => {
  await using fx = await policyFixture(() => DENY_DATE);
  const result = await fx.run(["bash", "-c", "date; echo status=$?"], { session: "exec-bash" });
  assert.equal(result.stdout, "status=126\n");
  assert.match(result.stderr, /date: Permission denied/);
  const events = await fx.waitForDenies("exec-bash");
  const [deny] = denies(events);
  assert.equal(deny.action, "Exec");
  assert.equal(deny.rule, "no-date");
  assert.equal(deny.enforced, true);
  assert.equal(deny.errno, 13);
  assert.match(deny.target as string, /^\/.*\/date$/);
});

Deno.test("enforce: Python's subprocess and os.system cannot run a denied binary", async () => {
  await using fx = await policyFixture(() => DENY_DATE);
  const script = `
import os, subprocess
try:
    subprocess.run(["date"])
    print("ran")
except PermissionError as error:
    print("subprocess", error.errno)
print("system", os.waitstatus_to_exitcode(os.system("date")))
`;
  // One PATH entry: CPython tries every entry that holds a `date` (here /usr/bin and /bin may
  // both do), and each attempt is a real exec the policy refuses.
  const result = await fx.run([PYTHON, "-c", script], {
    session: "exec-python",
    env: { PATH: "/usr/bin" },
  });
  assert.equal(result.stdout, "subprocess 13\nsystem 126\n", result.stderr);
  const events = await fx.waitForDenies("exec-python", 2);
  // Entries where no `date` exists are not denied: those execs fail on their own (ENOENT).
  assert.equal(denies(events).filter((deny) => deny.rule === "no-date").length, 2);
});

Deno.test("observe: the denied binary runs and a Deny event is sent beside its Exec", async () => {
  await using fx = await policyFixture(() => ({ ...DENY_DATE, mode: "observe" }));
  const result = await fx.run(["bash", "-c", "date +%Y >/dev/null; echo status=$?"], {
    session: "exec-observe",
  });
  assert.equal(result.stdout, "status=0\n", result.stderr);
  const events = await fx.waitForDenies("exec-observe");
  const [deny] = denies(events);
  assert.equal(deny.enforced, false);
  assert.equal(deny.errno, 0);
  assert.equal(payloadsWhere(events, "Exec", "path", deny.target).length, 1);
});

Deno.test("an argv pattern narrows an Exec rule to calls carrying that argument", async () => {
  await using fx = await policyFixture(() => ({
    mode: "enforce",
    rules: [{ name: "no-utc", action: "Exec", paths: ["**/date"], argv: ["--utc"] }],
  }));
  const result = await fx.run(
    ["bash", "-c", "date >/dev/null; echo plain=$?; date --utc >/dev/null; echo utc=$?"],
    { session: "exec-argv" },
  );
  assert.equal(result.stdout, "plain=0\nutc=126\n");
  const events = await fx.waitForDenies("exec-argv");
  assert.equal(denies(events).length, 1);
});

const ENTRY_POINTS: { call: string; expected: string }[] = [
  // exec* in a forked child print "rc errno"; posix_spawn* print the returned error number;
  // system/popen start /bin/sh, whose own execve of `true` is refused (status 126).
  ...["execve", "execveat", "fexecve", "execv", "execvp", "execvpe", "execl", "execlp", "execle"]
    .map((call) => ({ call, expected: "-1 13\n" })),
  { call: "posix_spawn", expected: "13\n" },
  { call: "posix_spawnp", expected: "13\n" },
];

for (const entry of ENTRY_POINTS) {
  Deno.test(`enforce: ${entry.call} of a denied program fails with EACCES`, async () => {
    const program = await compileC(EXEC_ENTRY_SOURCE);
    await using fx = await policyFixture(() => ({
      mode: "enforce",
      rules: [{ name: "no-true", action: "Exec", paths: ["**/true"] }],
    }));
    const session = `exec-entry-${entry.call}`;
    const result = await fx.run([program, entry.call, "m"], { session });
    assert.equal(result.stdout, entry.expected, result.stderr);
    const [deny] = denies(await fx.waitForDenies(session));
    assert.equal(deny.call, entry.call);
    assert.match(deny.target as string, /^\/.*\/true$/);
  });
}

for (const call of ["system", "popen"]) {
  Deno.test(`enforce: ${call} cannot start its shell when the shell is denied`, async () => {
    const program = await compileC(EXEC_ENTRY_SOURCE);
    await using fx = await policyFixture(() => ({
      mode: "enforce",
      rules: [{ name: "no-sh", action: "Exec", paths: ["/bin/sh", "/usr/bin/sh"] }],
    }));
    const session = `exec-entry-${call}`;
    const result = await fx.run([program, call, "m"], { session });
    // system() returns -1 (the program maps a non-exited status to 70); popen() NULL (71).
    assert.equal(result.code, call === "system" ? 70 : 71, result.stderr);
    const [deny] = denies(await fx.waitForDenies(session));
    assert.equal(deny.call, call);
    assert.equal(deny.target, "/bin/sh");
  });
}

// execvp and friends go on searching PATH after an entry they cannot execute (EACCES): a
// directory named like the program earlier in PATH must not hide the program found after it.
for (
  const entry of ENTRY_POINTS.filter((e) =>
    ["execvp", "execvpe", "execlp", "posix_spawnp"]
      .includes(e.call)
  )
) {
  Deno.test(`enforce: ${entry.call} matches the program past a directory of its name in PATH`, async () => {
    const program = await compileC(EXEC_ENTRY_SOURCE);
    await using fx = await policyFixture(() => ({
      mode: "enforce",
      rules: [{ name: "no-true", action: "Exec", paths: ["/bin/true", "/usr/bin/true"] }],
    }));
    const shadow = `${fx.dir}/shadow`;
    await Deno.mkdir(`${shadow}/true`, { recursive: true });
    const session = `exec-shadow-${entry.call}`;
    const result = await fx.run([program, entry.call, "m"], {
      session,
      env: { PATH: `${shadow}:/usr/bin:/bin` },
    });
    assert.equal(result.stdout, entry.expected, result.stderr);
    const [deny] = denies(await fx.waitForDenies(session));
    assert.equal(deny.call, entry.call);
    assert.match(deny.target as string, /^\/(usr\/)?bin\/true$/);
  });
}
