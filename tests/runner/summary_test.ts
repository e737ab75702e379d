import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { parseLog, summarizeRecords } from "../../runner/summary.ts";
import { formatSummary, type RunSummary } from "../../runner/mod.ts";

const exec = (path: string, errno?: number) => ({
  source: "Shim",
  event_type: "Exec",
  payload: { call: "execve", path, argv: [path], env: [], cwd: "/", ...(errno ? { errno } : {}) },
});

Deno.test("programs are the Exec paths that did not all fail, in first-seen order", () => {
  const { programs, counts } = summarizeRecords([
    exec("/usr/bin/sh"),
    exec("/usr/local/bin/ls"),
    exec("/usr/local/bin/ls", 2),
    exec("/usr/bin/ls"),
    exec("/usr/bin/cat"),
  ]);
  assertEquals(programs, ["/usr/bin/sh", "/usr/bin/ls", "/usr/bin/cat"]);
  assertEquals(counts, { Exec: 5 });
});

Deno.test("network destinations name address and port once, and mark failures", () => {
  const connect = (payload: Record<string, unknown>) => ({ event_type: "Connect", payload });
  const { network } = summarizeRecords([
    connect({ family: "AF_INET", address: "10.0.0.1", port: 443, fd: 3 }),
    connect({ family: "AF_INET", address: "10.0.0.1", port: 443, fd: 4 }),
    connect({ family: "AF_INET6", address: "::1", port: 8080, fd: 5, errno: 111 }),
    connect({ family: "AF_INET", address: "10.0.0.2", port: 80, fd: 6, errno: 115 }),
    connect({ family: "AF_UNIX", address: "/run/dbus.sock", fd: 7 }),
  ]);
  assertEquals(network, [
    "10.0.0.1:443",
    "[::1]:8080 (errno 111)",
    "10.0.0.2:80",
    "/run/dbus.sock",
  ]);
});

Deno.test("denied actions say what, which rule, and whether it was enforced", () => {
  const deny = (enforced: boolean) => ({
    event_type: "Deny",
    payload: {
      call: "connect",
      action: "Connect",
      target: "1.2.3.4:22",
      rule: "net.deny[0]",
      errno: 1,
      enforced,
    },
  });
  assertEquals(summarizeRecords([deny(true), deny(false)]).denied, [
    "Connect 1.2.3.4:22 denied by net.deny[0]",
    "Connect 1.2.3.4:22 would deny (observe) by net.deny[0]",
  ]);
});

Deno.test("a damaged log line is skipped and the rest still counts", () => {
  const records = parseLog('{"event_type":"Exec"}\n{"event_ty\n[1]\n\n{"event_type":"Exit"}\n');
  assertEquals(records.length, 2);
});

Deno.test("the printed summary names the session, log, counts, programs and signal", () => {
  const summary: RunSummary = {
    session_id: "s1",
    agent: "sh",
    log_file: "/logs/session-s1.jsonl",
    exit_code: 143,
    signal: 15,
    log_complete: true,
    runner_events_dropped: 0,
    counts: { Exec: 3, Exit: 1 },
    programs: ["/usr/bin/sh", "/usr/bin/ls"],
    network: [],
    denied: [],
  };
  const text = formatSummary(summary);
  assertMatch(text, /session s1 \(agent sh\), killed by signal 15 \(exit 143\)/);
  assertMatch(text, /log: +\/logs\/session-s1\.jsonl/);
  assertMatch(text, /events: +Exec 3, Exit 1/);
  assertMatch(text, /programs: \/usr\/bin\/sh, \/usr\/bin\/ls/);
  assertMatch(text, /network: +none/);
});

Deno.test("the printed summary shows control characters of audited paths escaped, never raw", () => {
  const summary: RunSummary = {
    session_id: "s1",
    agent: "sh",
    log_file: "/logs/session-s1.jsonl",
    exit_code: 0,
    log_complete: true,
    runner_events_dropped: 0,
    counts: { Exec: 1, Connect: 1, Deny: 1 },
    programs: ["/tmp/evil\x1b[2J\rdenied:   none\u202e"],
    network: ["/tmp/\x9b31m.sock"],
    denied: ["Open /etc/shadow\x07 denied by C:\\rule"],
  };

  const text = formatSummary(summary);

  assertMatch(text, /programs: \/tmp\/evil\\x1b\[2J\\x0ddenied: {3}none\\u202e$/m);
  assertMatch(text, /network: +\/tmp\/\\x9b31m\.sock$/m);
  assertMatch(text, /denied: +Open \/etc\/shadow\\x07 denied by C:\\\\rule$/m);
  // deno-lint-ignore no-control-regex
  assertEquals(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.test(text), false);
});
