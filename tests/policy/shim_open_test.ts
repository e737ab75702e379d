/**
 * Open rules under the real shim: enforce refuses the open with EACCES before it reaches the
 * kernel, observe lets it through; both send a Deny event naming the rule.
 */
import assert from "node:assert/strict";
import { compileC } from "../support/shim.ts";
import { denies, payloadsWhere, policyFixture, PYTHON } from "./fixture.ts";

async function writeSecret(dir: string): Promise<string> {
  await Deno.mkdir(`${dir}/agent-secrets`);
  const secret = `${dir}/agent-secrets/token`;
  await Deno.writeTextFile(secret, "s3cr3t\n");
  return secret;
}

Deno.test("enforce: cat of a denied file fails with EACCES and a Deny event", async () => {
  await using fx = await policyFixture((dir) => ({
    mode: "enforce",
    rules: [{ name: "secrets", action: "Open", paths: [`${dir}/agent-secrets/**`] }],
  }));
  const secret = await writeSecret(fx.dir);
  const result = await fx.run(["cat", secret], { session: "open-enforce" });
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /Permission denied/);
  const events = await fx.waitForDenies("open-enforce");
  const [deny] = denies(events);
  assert.deepEqual({ ...deny, call: undefined }, {
    call: undefined,
    action: "Open",
    target: secret,
    rule: "secrets",
    errno: 13,
    enforced: true,
  });
  assert.match(deny.call as string, /^(open|openat|open64|openat64)$/);
  // The call never happened, so there is no Open event for it.
  assert.deepEqual(payloadsWhere(events, "Open", "path", secret), []);
});

Deno.test("observe: cat of a denied file succeeds and both Deny and Open are sent", async () => {
  await using fx = await policyFixture((dir) => ({
    mode: "observe",
    rules: [{ name: "secrets", action: "Open", paths: [`${dir}/agent-secrets/**`] }],
  }));
  const secret = await writeSecret(fx.dir);
  const result = await fx.run(["cat", secret], { session: "open-observe" });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "s3cr3t\n");
  // The Deny is sent before the call, the Open after it: wait for both.
  const events = await fx.collector.waitForEvents(
    "open-observe",
    (events) =>
      denies(events).length >= 1 && payloadsWhere(events, "Open", "path", secret).length >= 1,
  );
  const [deny] = denies(events);
  assert.equal(deny.enforced, false);
  assert.equal(deny.errno, 0);
  assert.equal(deny.rule, "secrets");
  const opens = payloadsWhere(events, "Open", "path", secret);
  assert.equal(opens.length, 1);
  assert.equal(typeof opens[0].fd, "number");
});

Deno.test("a relative path is matched as the absolute path it names", async () => {
  await using fx = await policyFixture((dir) => ({
    mode: "enforce",
    rules: [{ name: "secrets", action: "Open", paths: [`${dir}/agent-secrets/**`] }],
  }));
  await writeSecret(fx.dir);
  await Deno.mkdir(`${fx.dir}/work`);
  const result = await fx.run(["cat", "../agent-secrets/./token"], {
    session: "open-relative",
    cwd: `${fx.dir}/work`,
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Permission denied/);
  const [deny] = denies(await fx.waitForDenies("open-relative"));
  assert.equal(deny.target, `${fx.dir}/agent-secrets/token`);
});

Deno.test("an Open rule limited to write access lets reads through and refuses writes", async () => {
  await using fx = await policyFixture((dir) => ({
    mode: "enforce",
    rules: [{ name: "no-writes", action: "Open", paths: [`${dir}/ro/*`], access: ["write"] }],
  }));
  await Deno.mkdir(`${fx.dir}/ro`);
  const file = `${fx.dir}/ro/notes.txt`;
  await Deno.writeTextFile(file, "keep\n");
  const script = `
import sys
print(open(sys.argv[1]).read().strip())
try:
    open(sys.argv[1], "a").write("changed")
except PermissionError as error:
    print("refused", error.errno)
`;
  const result = await fx.run([PYTHON, "-c", script, file], { session: "open-access" });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "keep\nrefused 13\n");
  assert.equal(await Deno.readTextFile(file), "keep\n");
  const [deny] = denies(await fx.waitForDenies("open-access"));
  assert.equal(deny.target, file);
});

const FOPEN_SOURCE = `
#include <errno.h>
#include <stdio.h>
int main(int argc, char **argv) {
  errno = 0;
  FILE *f = fopen(argv[1], "r");
  printf("%s %d\\n", f == NULL ? "NULL" : "FILE", errno);
  return 0;
}
`;

Deno.test("fopen of a denied file returns NULL with errno EACCES", async () => {
  await using fx = await policyFixture((dir) => ({
    mode: "enforce",
    rules: [{ name: "secrets", action: "Open", paths: [`${dir}/agent-secrets/**`] }],
  }));
  const secret = await writeSecret(fx.dir);
  const program = await compileC(FOPEN_SOURCE);
  const result = await fx.run([program, secret], { session: "open-fopen" });
  assert.equal(result.stdout, "NULL 13\n", result.stderr);
  const [deny] = denies(await fx.waitForDenies("open-fopen"));
  assert.equal(deny.call, "fopen");
  assert.equal(deny.errno, 13);
});

/** `freopen_stdin PATH`: freopen()s stdin on PATH; prints `NULL|ok ERRNO open|closed` (fd 0). */
const FREOPEN_STDIN_SOURCE = `
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
int main(int argc, char **argv) {
  FILE *f = freopen(argv[1], "r", stdin);
  int e = errno;
  printf("%s %d %s\\n", f ? "ok" : "NULL", f ? 0 : e, fcntl(0, F_GETFD) < 0 ? "closed" : "open");
  return 0;
}
`;

Deno.test("enforce: a denied freopen closes the stream it was given, as a failed freopen does", async () => {
  await using fx = await policyFixture((dir) => ({
    mode: "enforce",
    rules: [{ name: "secrets", action: "Open", paths: [`${dir}/agent-secrets/**`] }],
  }));
  const secret = await writeSecret(fx.dir);
  const program = await compileC(FREOPEN_STDIN_SOURCE);
  // Without a policy, a freopen that fails (here: no such file) has closed stdin.
  const missing = await fx.run([program, `${fx.dir}/missing`], { session: "open-freopen-missing" });
  assert.equal(missing.stdout, "NULL 2 closed\n", missing.stderr);
  const result = await fx.run([program, secret], { session: "open-freopen" });
  assert.equal(result.stdout, "NULL 13 closed\n", result.stderr);
  const [deny] = denies(await fx.waitForDenies("open-freopen"));
  assert.equal(deny.call, "freopen");
});

Deno.test("a program that clears its environment still runs under the policy", async () => {
  await using fx = await policyFixture((dir) => ({
    mode: "enforce",
    rules: [{ name: "secrets", action: "Open", paths: [`${dir}/agent-secrets/**`] }],
  }));
  const secret = await writeSecret(fx.dir);
  const result = await fx.run(["env", "-i", "/bin/cat", secret], { session: "open-env-i" });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Permission denied/);
  await fx.waitForDenies("open-env-i");
});

Deno.test("a program cannot hand its children a weaker policy through CONTAINAI_POLICY", async () => {
  await using fx = await policyFixture((dir) => ({
    mode: "enforce",
    rules: [{ name: "secrets", action: "Open", paths: [`${dir}/agent-secrets/**`] }],
  }));
  const secret = await writeSecret(fx.dir);
  await Deno.writeTextFile(`${fx.dir}/empty.compact`, "CAIPOLICY 1 observe 0\nEND\n");
  const script = `CONTAINAI_POLICY= cat "$1"; echo "unset=$?"; ` +
    `CONTAINAI_POLICY="$2" cat "$1"; echo "replaced=$?"`;
  const result = await fx.run(["bash", "-c", script, "bash", secret, `${fx.dir}/empty.compact`], {
    session: "open-sticky",
  });
  assert.equal(result.stdout, "unset=1\nreplaced=1\n", result.stderr);
  assert.equal(denies(await fx.waitForDenies("open-sticky", 2)).length, 2);
});

const CREATE_SOURCE = `
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  errno = 0;
  int fd = open(argv[1], O_RDONLY);
  printf("read %d %d\\n", fd >= 0, errno);
  if (fd >= 0) close(fd);
  errno = 0;
  fd = creat(argv[2], 0600);
  printf("creat %d %d\\n", fd >= 0, errno);
  return 0;
}
`;

Deno.test("an Open rule limited to create refuses creat() but lets reads through", async () => {
  await using fx = await policyFixture((dir) => ({
    mode: "enforce",
    rules: [{ name: "no-new-files", action: "Open", paths: [`${dir}/box/**`], access: ["create"] }],
  }));
  await Deno.mkdir(`${fx.dir}/box`);
  await Deno.writeTextFile(`${fx.dir}/box/existing`, "x");
  const program = await compileC(CREATE_SOURCE);
  const result = await fx.run([program, `${fx.dir}/box/existing`, `${fx.dir}/box/new`], {
    session: "open-create",
  });
  assert.equal(result.stdout, "read 1 0\ncreat 0 13\n", result.stderr);
  await assert.rejects(Deno.stat(`${fx.dir}/box/new`), Deno.errors.NotFound);
  const [deny] = denies(await fx.waitForDenies("open-create"));
  assert.equal(deny.call, "creat");
});
