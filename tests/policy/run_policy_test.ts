/**
 * `run --policy FILE` end to end with the shim: the shipped example policy, and the compact
 * file outliving the run. (tests/runner/policy_test.ts covers the runner's own decision on the task.)
 */
import assert from "node:assert/strict";
import { startTestCollector } from "../support/collector.ts";
import { baseEnv, runRunner, testShim } from "../runner/helpers.ts";
import { denies } from "./fixture.ts";
import { prepareRunPolicy } from "../../policy/mod.ts";
import { tempDir } from "../support/temp_dir.ts";

const EXAMPLE = new URL("../../examples/policy.jsonc", import.meta.url).pathname;

async function withPolicyFile(
  text: string,
  test: (file: string) => Promise<void>,
): Promise<void> {
  await using temp = await tempDir("run-policy-");
  const dir = temp.path;
  await Deno.writeTextFile(`${dir}/policy.jsonc`, text);
  await test(`${dir}/policy.jsonc`);
}

Deno.test("the shipped example policy denies reading /run/agent-secrets (EACCES, not ENOENT)", async () => {
  await using collector = await startTestCollector();
  const out = await runRunner([
    ...["--socket", collector.socket, "--shim", await testShim(), "--session", "rp-example"],
    ...["--policy", EXAMPLE, "--quiet", "--", "cat", "/run/agent-secrets/token"],
  ], { env: baseEnv() });
  assert.equal(out.code, 1);
  // Without the policy cat would say "No such file or directory" (or print the secret).
  assert.match(out.stderr, /\/run\/agent-secrets\/token: Permission denied/);
  assert.equal(out.stdout, "");
  const events = await collector.waitForEvents("rp-example", (e) => denies(e).length >= 1);
  const [deny] = denies(events);
  assert.equal(deny.rule, "agent-secrets");
  assert.equal(deny.target, "/run/agent-secrets/token");
  assert.equal(deny.enforced, true);
});

Deno.test("a process the task leaves behind keeps its policy after the run ends", async () => {
  await using collector = await startTestCollector();
  await using temp = await tempDir("run-policy-orphan-");
  const dir = temp.path;
  await Deno.writeTextFile(`${dir}/public`, "public\n");
  await Deno.writeTextFile(`${dir}/secret`, "secret\n");
  const policy = JSON.stringify({
    mode: "enforce",
    rules: [{ name: "no-secret", action: "Open", paths: [`${dir}/secret`] }],
  });
  await Deno.writeTextFile(`${dir}/policy.jsonc`, policy);
  // The background job starts its programs only after run has returned.
  const job = `(while [ ! -e "$0/run-ended" ]; do sleep 0.05; done; ` +
    `cat "$0/public" > "$0/public.copy"; cat "$0/secret" > "$0/secret.copy" 2> "$0/secret.err"; ` +
    `touch "$0/done") </dev/null >/dev/null 2>&1 &`;
  const out = await runRunner([
    ...["--socket", collector.socket, "--shim", await testShim(), "--session", "rp-orphan"],
    ...["--policy", `${dir}/policy.jsonc`, "--quiet", "--", "sh", "-c", job, dir],
  ], { env: baseEnv() });
  assert.equal(out.code, 0, out.stderr);
  await Deno.writeTextFile(`${dir}/run-ended`, "");
  await waitForFile(`${dir}/done`);
  assert.equal(await Deno.readTextFile(`${dir}/public.copy`), "public\n");
  assert.match(await Deno.readTextFile(`${dir}/secret.err`), /Permission denied/);
  assert.equal(await Deno.readTextFile(`${dir}/secret.copy`), "");
});

async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await Deno.stat(path).then(() => true, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path} did not appear within 10 s: the background job did not finish`);
}

Deno.test("the runner's task check follows the shim: first rule wins, missing programs pass", async () => {
  await withPolicyFile(
    JSON.stringify({
      mode: "enforce",
      rules: [
        { name: "git-push", action: "Exec", paths: ["**/git"], argv: ["push"] },
        { name: "sh", action: "Exec", paths: ["/usr/bin/sh", "/bin/sh", "**/no-such-program"] },
      ],
    }),
    async (file) => {
      const runPolicy = await prepareRunPolicy(file);
      const sh = "/bin/sh";
      const denial = runPolicy.checkTask(sh, { argv: ["sh", "-c", "true"], cwd: "/" });
      assert.deepEqual(denial?.payload, {
        call: "run",
        action: "Exec",
        target: sh,
        rule: "sh",
        errno: 13,
        enforced: true,
      });
      const missing = "/nonexistent-dir/no-such-program";
      assert.equal(runPolicy.checkTask(missing, { argv: ["x"], cwd: "/" }), undefined);
    },
  );
});
