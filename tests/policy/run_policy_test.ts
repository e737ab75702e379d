/**
 * `run --policy FILE` end to end with the shim: the shipped example policy, and the compact
 * file's lifetime. (tests/runner/policy_test.ts covers the runner's own decision on the task.)
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

const OBSERVE_DATE = JSON.stringify({
  mode: "observe",
  rules: [{ name: "no-date", action: "Exec", paths: ["**/date"] }],
});

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

Deno.test("the compact policy file the shim reads is removed when the run ends", async () => {
  await using collector = await startTestCollector();
  await withPolicyFile(OBSERVE_DATE, async (file) => {
    const out = await runRunner([
      ...["--socket", collector.socket, "--shim", await testShim(), "--session", "rp-cleanup"],
      ...["--policy", file, "--quiet", "--", "sh", "-c", 'cat "$CONTAINAI_POLICY"'],
    ], { env: baseEnv() });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^CAIPOLICY 1 observe 1\n/);
    const events = await collector.waitForEvents(
      "rp-cleanup",
      (e) => e.some((event) => event.event_type === "Exit"),
    );
    const exec = events.find((event) => event.source === "Runner" && event.event_type === "Exec")!;
    const entry = (exec.payload as { env: string[] }).env.find((e) =>
      e.startsWith("CONTAINAI_POLICY=")
    )!;
    await assert.rejects(Deno.stat(entry.slice("CONTAINAI_POLICY=".length)), Deno.errors.NotFound);
  });
});

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
      await using runPolicy = await prepareRunPolicy(file);
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
