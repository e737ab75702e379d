/**
 * A policy the shim cannot load (damaged or removed compact file) fails closed: every checked
 * call is refused and reported with the rule "(policy unavailable)".
 */
import assert from "node:assert/strict";
import { writeCompactPolicy } from "../../policy/mod.ts";
import { startTestCollector } from "../support/collector.ts";
import { runUnderShim } from "../support/shim.ts";
import { denies, policyFixture } from "./fixture.ts";

Deno.test("a damaged compact policy makes the shim refuse every checked call", async () => {
  await using fx = await policyFixture(() => ({ mode: "observe", rules: [] }));
  const damaged = `${fx.dir}/damaged.compact`;
  // A compact file cut in the middle of a record, as a partial write would leave it.
  await Deno.writeTextFile(damaged, "CAIPOLICY 1 observe 1\nO 7:secrets 7 1 30:/run/ag");
  const result = await fx.run(["cat", "/etc/hostname"], {
    session: "fail-closed-damaged",
    env: { CONTAINAI_POLICY: damaged },
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Permission denied/);
  const [deny] = denies(await fx.waitForDenies("fail-closed-damaged"));
  assert.deepEqual({ rule: deny.rule, target: deny.target, enforced: deny.enforced }, {
    rule: "(policy unavailable)",
    target: "/etc/hostname",
    enforced: true,
  });
});

Deno.test("a compact policy that no longer exists fails closed as well", async () => {
  await using fx = await policyFixture(() => ({ mode: "observe", rules: [] }));
  const result = await fx.run(["cat", "/etc/hostname"], {
    session: "fail-closed-missing",
    env: { CONTAINAI_POLICY: `${fx.dir}/gone.compact` },
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Permission denied/);
  await fx.waitForDenies("fail-closed-missing");
});

Deno.test("a FIFO in place of the compact policy fails closed instead of hanging", async () => {
  await using fx = await policyFixture(() => ({ mode: "observe", rules: [] }));
  const fifo = `${fx.dir}/fifo.compact`;
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert(made.success);
  const result = await fx.run(["cat", "/etc/hostname"], {
    session: "fail-closed-fifo",
    env: { CONTAINAI_POLICY: fifo },
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Permission denied/);
});

Deno.test("an empty CONTAINAI_POLICY means no policy, not a broken one", async () => {
  await using fx = await policyFixture(() => ({ mode: "enforce", rules: [] }));
  const result = await fx.run(["cat", "/etc/hostname"], {
    session: "no-policy",
    env: { CONTAINAI_POLICY: "" },
  });
  assert.equal(result.code, 0, result.stderr);
});

Deno.test({
  name: "a process that drops privileges still reads the policy instead of failing closed",
  // Changing user needs root (CI and the container run as root).
  ignore: Deno.uid() !== 0,
}, async () => {
  await using collector = await startTestCollector();
  const compact = await writeCompactPolicy({
    mode: "enforce",
    rules: [{ name: "elsewhere", action: "Open", paths: ["/nonexistent-protected/**"] }],
  });
  try {
    // setpriv (root, under the shim) becomes nobody and execs cat, whose shim loads the policy.
    const result = await runUnderShim(
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", "/etc/hostname"],
      {
        socket: collector.socket,
        session: "dropped-privileges",
        env: { CONTAINAI_POLICY: compact },
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, await Deno.readTextFile("/etc/hostname"));
  } finally {
    await Deno.remove(compact.slice(0, compact.lastIndexOf("/")), { recursive: true });
  }
});
