import assert from "node:assert/strict";
import { loadPolicy, parsePolicy, PolicyError, type PolicyIssue } from "../../policy/mod.ts";

/** The issues `parsePolicy` reports for `text` (fails the test when it accepts it). */
function issuesOf(text: string): readonly PolicyIssue[] {
  try {
    parsePolicy(text, { source: "p.jsonc" });
  } catch (error) {
    assert(error instanceof PolicyError, `expected a PolicyError, got ${error}`);
    return error.issues;
  }
  assert.fail("the policy was accepted");
}

function onlyIssue(text: string): PolicyIssue {
  const issues = issuesOf(text);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  return issues[0];
}

Deno.test("a policy with comments and trailing commas loads", () => {
  const policy = parsePolicy(`// agent policy
{
  "mode": "observe", /* report only */
  "rules": [
    { "name": "secrets", "action": "Open", "paths": ["/run/agent-secrets/**"], },
  ],
}`);
  assert.equal(policy.mode, "observe");
  assert.deepEqual(policy.rules, [
    { name: "secrets", action: "Open", paths: ["/run/agent-secrets/**"] },
  ]);
});

Deno.test("a JSONC syntax error names its line and column", () => {
  const issue = onlyIssue(`{
  "mode": "enforce"
  "rules": []
}`);
  assert.deepEqual({ line: issue.line, column: issue.column }, { line: 3, column: 3 });
  assert.match(issue.message, /JSONC syntax error: a "," was expected/);
});

Deno.test("an unclosed comment is a syntax error on its line", () => {
  const issue = onlyIssue(`{ "mode": "enforce", "rules": [] }\n\n/* never closed`);
  assert.equal(issue.line, 3);
  assert.match(issue.message, /comment is not closed/);
});

Deno.test("an empty file says what a policy is", () => {
  assert.match(onlyIssue("  \n").message, /a value was expected|the file is empty/);
});

Deno.test("a schema error names the line of the bad value and its field path", () => {
  const text = `{
  "mode": "enforce",
  "rules": [
    { "name": "ok", "action": "Open", "paths": ["/tmp/x"] },
    { "name": "bad", "action": "Open", "paths": ["/a", "etc/shadow"] }
  ]
}`;
  const issue = onlyIssue(text);
  assert.equal(issue.field, "rules[1].paths[1]");
  assert.equal(issue.line, 5);
  assert.equal(issue.column, text.split("\n")[4].indexOf('"etc/shadow"') + 1);
  assert.match(issue.message, /must start with "\/" or "\*\*"/);
});

Deno.test("the error message lists every issue as source:line:column: field: message", () => {
  const text = `{ "mode": "sometimes",\n "rules": [{ "name": "n", "action": "Delete" }] }`;
  const column = (line: number, needle: string) => text.split("\n")[line - 1].indexOf(needle) + 1;
  try {
    parsePolicy(text, { source: "agent.jsonc" });
    assert.fail("accepted");
  } catch (error) {
    assert(error instanceof PolicyError);
    assert.equal(
      error.message,
      "invalid policy agent.jsonc:\n" +
        `  agent.jsonc:1:${column(1, '"sometimes"')}: mode: mode must be "observe" or "enforce"\n` +
        `  agent.jsonc:2:${
          column(2, '"Delete"')
        }: rules[0].action: action must be "Exec", "Open" or "Connect"`,
    );
  }
});

Deno.test("an unknown field is rejected with the names of the fields it does not know", () => {
  const issue = onlyIssue(`{ "mode": "enforce", "rules": [
  { "name": "x", "action": "Exec", "paths": ["/bin/sh"], "allow": true }
] }`);
  assert.equal(issue.field, "rules[0]");
  assert.equal(issue.line, 2);
  assert.match(issue.message, /unknown field\(s\) "allow"/);
});

Deno.test("a missing required field points at the object that lacks it", () => {
  const issue = onlyIssue(
    `{ "mode": "enforce", "rules": [\n  { "name": "x", "action": "Open" }\n] }`,
  );
  assert.equal(issue.field, "rules[0].paths");
  assert.equal(issue.line, 2);
});

Deno.test("a duplicate key is an error, not a silent override", () => {
  const issue = onlyIssue(`{\n "mode": "observe",\n "mode": "enforce",\n "rules": [] }`);
  assert.equal(issue.field, "mode");
  assert.equal(issue.line, 3);
  assert.match(issue.message, /duplicate key "mode"/);
});

Deno.test("rule names must be unique, since Deny events report them", () => {
  const issue = onlyIssue(`{ "mode": "enforce", "rules": [
  { "name": "x", "action": "Exec", "paths": ["/bin/sh"] },
  { "name": "x", "action": "Open", "paths": ["/tmp/x"] }
] }`);
  assert.equal(issue.field, "rules[1].name");
  assert.equal(issue.line, 3);
  assert.match(issue.message, /already used by rules\[0\]/);
});

Deno.test("a Connect rule needs addresses or unix socket globs", () => {
  const issues = issuesOf(`{ "mode": "enforce", "rules": [
  { "name": "x", "action": "Connect", "ports": [22] }
] }`);
  assert.deepEqual(issues.map((issue) => [issue.field, issue.line]), [
    ["rules[0].addresses", 2],
    ["rules[0].ports", 2],
  ]);
  assert.match(issues[0].message, /needs "addresses" \(CIDR ranges\) or "unix"/);
  assert.match(issues[1].message, /ports only apply to "addresses"/);
});

Deno.test("bad CIDR ranges and port ranges are reported at their entries", () => {
  const issues = issuesOf(`{ "mode": "enforce", "rules": [
  { "name": "x", "action": "Connect",
    "addresses": ["10.0.0.0/8", "300.1.1.1"],
    "ports": [22, "9000-80", 70000] }
] }`);
  assert.deepEqual(issues.map((issue) => [issue.field, issue.line]), [
    ["rules[0].addresses[1]", 3],
    ["rules[0].ports[1]", 4],
    ["rules[0].ports[2]", 4],
  ]);
});

Deno.test("an unreadable policy file is reported with the path to check", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(loadPolicy(`${dir}/missing.jsonc`), (error: unknown) => {
      assert(error instanceof PolicyError);
      assert.match(error.message, /missing\.jsonc:1:1: cannot read the policy file/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the shipped example policy loads and protects /run/agent-secrets", async () => {
  const policy = await loadPolicy(new URL("../../examples/policy.jsonc", import.meta.url).pathname);
  const secrets = policy.rules.find((rule) =>
    rule.action === "Open" && rule.paths.includes("/run/agent-secrets/**")
  );
  assert(secrets, "the example has an Open rule for /run/agent-secrets/**");
  assert.equal(policy.mode, "enforce");
});
