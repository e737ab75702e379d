import assert from "node:assert/strict";
import { compilePolicy, parsePolicy, type Policy, writeCompactPolicy } from "../../policy/mod.ts";

Deno.test("each rule kind compiles to one netstring record, in rule order", () => {
  const policy = parsePolicy(`{
    "mode": "enforce",
    "rules": [
      { "name": "metadata", "action": "Connect", "addresses": ["169.254.169.254", "fd00::/8"],
        "ports": [80, "8000-8999"] },
      { "name": "secrets", "action": "Open", "paths": ["/run/agent-secrets/**"],
        "access": ["read", "create"] },
      { "name": "sudo", "action": "Exec", "paths": ["**/sudo"], "argv": ["-u"] },
      { "name": "docker", "action": "Connect", "unix": ["/var/run/docker.sock"] }
    ]
  }`);
  assert.equal(
    compilePolicy(policy),
    "CAIPOLICY 1 enforce 4\n" +
      "C 8:metadata 2 00000000000000000000ffffa9fea9fe/128 fd000000000000000000000000000000/8" +
      " 2 80-80 8000-8999 0\n" +
      "O 7:secrets 5 1 21:/run/agent-secrets/**\n" +
      "X 4:sudo 1 7:**/sudo 1 2:-u\n" +
      "C 6:docker 0 0 1 20:/var/run/docker.sock\n" +
      "END\n",
  );
});

Deno.test("an Open rule without access covers read, write and create", () => {
  const policy: Policy = {
    mode: "observe",
    rules: [{ name: "all", action: "Open", paths: ["/x"] }],
  };
  assert.match(compilePolicy(policy), /^O 3:all 7 1 2:\/x$/m);
});

Deno.test("a Connect rule with addresses but no ports covers every port", () => {
  const policy: Policy = {
    mode: "observe",
    rules: [{ name: "lan", action: "Connect", addresses: ["10.0.0.0/8"] }],
  };
  assert.match(compilePolicy(policy), / 1 0-65535 0$/m);
});

Deno.test("netstring lengths count UTF-8 bytes, so any name or glob survives", () => {
  const policy: Policy = {
    mode: "observe",
    rules: [{ name: "café rule", action: "Open", paths: ["/tmp/a b:c/**"] }],
  };
  assert.match(compilePolicy(policy), /^O 10:café rule 7 1 13:\/tmp\/a b:c\/\*\*$/m);
});

Deno.test("a policy larger than the shim's tables is refused with the limit named", () => {
  const paths = Array.from({ length: 4097 }, (_, i) => `/p/${i}`);
  const policy: Policy = { mode: "observe", rules: [{ name: "big", action: "Open", paths }] };
  assert.throws(() => compilePolicy(policy), /4097 globs; the shim holds at most 4096/);
});

Deno.test("the compact file is written read-only, readable by every user, in a fresh directory", async () => {
  const path = await writeCompactPolicy({ mode: "enforce", rules: [] });
  try {
    assert.equal(await Deno.readTextFile(path), "CAIPOLICY 1 enforce 0\nEND\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o444);
    // A process that drops privileges must still be able to read it.
    const dir = path.slice(0, path.lastIndexOf("/"));
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o755);
  } finally {
    await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  }
});
