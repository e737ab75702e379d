import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  throws as assertThrows,
} from "node:assert/strict";
import { SESSION_ID_PATTERN } from "../../protocol/mod.ts";
import { agentFromCommand, newSessionId } from "../../runner/mod.ts";
import { checkAgent, checkSessionId } from "../../runner/session.ts";

Deno.test("new session ids match the protocol pattern", () => {
  for (let i = 0; i < 20; i++) assertMatch(newSessionId(), SESSION_ID_PATTERN);
});

Deno.test("new session ids sort by creation time", () => {
  const times = [
    "2026-01-02T03:04:05.006Z",
    "2026-01-02T03:04:05.007Z",
    "2026-11-30T00:00:00.000Z",
  ];
  const ids = times.map((time) => newSessionId(new Date(time)));
  assertEquals([...ids].sort(), ids);
  assertMatch(ids[0], /^20260102T030405\.006Z-[0-9a-f]{8}$/);
});

Deno.test("two session ids made in the same millisecond differ", () => {
  const now = new Date();
  assertEquals(newSessionId(now) === newSessionId(now), false);
});

Deno.test("the agent name is the base name of the command's program", () => {
  assertEquals(agentFromCommand(["/usr/local/bin/claude", "--print"]), "claude");
  assertEquals(agentFromCommand(["sh", "-c", "ls"]), "sh");
  assertEquals(agentFromCommand(["./tools/my\tagent"]), "myagent");
  assertEquals(agentFromCommand(["/"]), "agent");
});

Deno.test("a session id that could escape the log directory is refused with the rule", () => {
  for (const id of ["..", "a/b", "", ".hidden", "x".repeat(129)]) {
    assertThrows(() => checkSessionId(id), /use 1-128 characters/);
  }
});

Deno.test("an agent name with control characters is refused", () => {
  assertThrows(() => checkAgent("bad\nname"), /printable/);
});
