/**
 * Valid example events of every type, shared by the protocol tests and docs checks.
 *
 * @module
 */
import type { AuditEvent } from "../../protocol/mod.ts";

const envelope = {
  v: 1,
  timestamp: "2025-12-01T12:00:00.123456789Z",
  metadata: { session_id: "sess-01", agent: "claude-code" },
  process: { pid: 4242, ppid: 4200, tid: 4242, uid: 1000, gid: 1000 },
  seq: 0,
} as const;

/** One valid event per event type, as a producer would send it. */
export const VALID_EVENTS: Record<AuditEvent["event_type"], AuditEvent> = {
  Exec: {
    ...envelope,
    source: "Shim",
    event_type: "Exec",
    payload: {
      call: "execve",
      path: "/usr/bin/ls",
      argv: ["ls", "-la"],
      env: ["PATH=/usr/bin", "GITHUB_TOKEN=[REDACTED]"],
      cwd: "/workspace",
    },
  },
  Open: {
    ...envelope,
    source: "Shim",
    event_type: "Open",
    payload: {
      call: "openat",
      path: "notes.txt",
      flags: ["O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"],
      mode: 0o644,
      dirfd: 3,
      fd: 5,
    },
  },
  Connect: {
    ...envelope,
    source: "Shim",
    event_type: "Connect",
    payload: { call: "connect", fd: 7, family: "AF_INET6", address: "::1", port: 443, errno: 115 },
  },
  Deny: {
    ...envelope,
    source: "Shim",
    event_type: "Deny",
    payload: {
      call: "openat",
      action: "Open",
      target: "/run/agent-secrets/key",
      rule: "secrets",
      errno: 13,
      enforced: true,
    },
  },
  Exit: {
    ...envelope,
    source: "Runner",
    event_type: "Exit",
    payload: { pid: 4243, exit_code: 0, duration_ms: 812.5 },
  },
};
