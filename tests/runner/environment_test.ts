import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  childEnvironment,
  REDACTED,
  redactEnvironment,
  SECRET_NAME_PARTS,
} from "../../runner/mod.ts";

const AUDIT = {
  shim: "/usr/lib/libauditshim.so",
  socket: "/run/containai/audit.sock",
  sessionId: "s-1",
  agent: "claude",
};

Deno.test("every secret-looking name part is redacted in any case", () => {
  for (const part of SECRET_NAME_PARTS) {
    const lower = `my_${part.toLowerCase()}_value`;
    assertEquals(redactEnvironment({ [lower]: "hunter2" }), [`${lower}=${REDACTED}`]);
  }
});

Deno.test("ordinary variables keep their values and come out sorted by name", () => {
  assertEquals(redactEnvironment({ PATH: "/usr/bin", HOME: "/root", GITHUB_TOKEN: "ghp_1" }), [
    "GITHUB_TOKEN=[REDACTED]",
    "HOME=/root",
    "PATH=/usr/bin",
  ]);
});

Deno.test("a value containing = and newlines is kept whole", () => {
  assertEquals(redactEnvironment({ OPTS: "a=b\nc" }), ["OPTS=a=b\nc"]);
});

Deno.test("the shim goes first in LD_PRELOAD and existing entries are kept in order", () => {
  const env = childEnvironment({ LD_PRELOAD: "libfirst.so libsecond.so:/opt/third.so" }, AUDIT);
  assertEquals(env.LD_PRELOAD, "/usr/lib/libauditshim.so:libfirst.so:libsecond.so:/opt/third.so");
});

Deno.test("a shim already in LD_PRELOAD is not loaded twice", () => {
  const env = childEnvironment({ LD_PRELOAD: "/usr/lib/libauditshim.so:libx.so" }, AUDIT);
  assertEquals(env.LD_PRELOAD, "/usr/lib/libauditshim.so:libx.so");
});

Deno.test("the audit variables are set and the rest of the environment passes through", () => {
  const env = childEnvironment({ HOME: "/home/u", CONTAINAI_SESSION_ID: "stale" }, AUDIT);
  assertEquals(env, {
    HOME: "/home/u",
    LD_PRELOAD: "/usr/lib/libauditshim.so",
    CONTAINAI_AUDIT_SOCKET: "/run/containai/audit.sock",
    CONTAINAI_SESSION_ID: "s-1",
    CONTAINAI_AGENT: "claude",
  });
});
