/**
 * The ingest workload: valid protocol-v1 events of mixed kinds (about 470
 * bytes each on average, spread over a few sessions), pre-encoded into one
 * buffer per client so that sending costs the clients almost nothing.
 *
 * @module
 */
import type { AuditEvent } from "../protocol/mod.ts";
import { seededRandom } from "./seeded_random.ts";

/** Options of {@linkcode generateEvents}. */
export interface EventMixOptions {
  /** Number of distinct sessions the events belong to (default 8). */
  sessions?: number;
  /** Seed of the deterministic generator (default 1). */
  seed?: number;
}

const COMMANDS: readonly string[][] = [
  ["git", "status", "--porcelain=v2", "--branch"],
  ["gcc", "-O2", "-Wall", "-c", "src/parser.c", "-o", "build/parser.o"],
  ["python3", "-m", "pytest", "-q", "tests/test_api.py"],
  ["npm", "run", "build", "--", "--mode=production"],
  ["rg", "--json", "-n", "TODO", "src/"],
];

const ENVIRONMENT: readonly string[] = [
  "PATH=/usr/local/bin:/usr/bin:/bin",
  "HOME=/home/agent",
  "SHELL=/bin/bash",
  "LANG=C.UTF-8",
  "VIRTUAL_ENV=/workspace/.venv",
  "TERM=xterm-256color",
  "GITHUB_TOKEN=[REDACTED]",
];

/**
 * Generates `count` valid events: about 60 % Open, 15 % Exec, 15 % Connect,
 * 5 % Deny and 5 % Exit, round-robin over the sessions.
 *
 * @example
 * ```ts
 * import { generateEvents } from "./events.ts";
 * const events = generateEvents(1000, { sessions: 8 });
 * ```
 */
export function generateEvents(count: number, options: EventMixOptions = {}): AuditEvent[] {
  const sessions = options.sessions ?? 8;
  const random = seededRandom(options.seed ?? 1);
  const seqBySession = new Array<number>(sessions).fill(0);
  const events: AuditEvent[] = [];
  for (let i = 0; i < count; i++) {
    const session = i % sessions;
    const seq = seqBySession[session]++;
    events.push(makeEvent(session, seq, random));
  }
  return events;
}

function makeEvent(session: number, seq: number, random: () => number): AuditEvent {
  const pid = 1000 + session * 100 + Math.floor(random() * 50);
  const common = {
    v: 1 as const,
    timestamp: `2026-11-27T00:${pad(Math.floor(seq / 60000) % 60)}:${
      pad(Math.floor(seq / 1000) % 60)
    }.${String(seq % 1000).padStart(3, "0")}123456Z`,
    metadata: { session_id: `bench-session-${session}`, agent: "claude-code" },
    process: { pid, ppid: 1000 + session * 100, tid: pid, uid: 1000, gid: 1000 },
    seq,
  };
  const kind = random();
  const file = Math.floor(random() * 10000);
  if (kind < 0.6) {
    return {
      ...common,
      source: "Shim",
      event_type: "Open",
      payload: {
        call: "openat",
        path:
          `/workspace/project-${session}/packages/frontend-application/src/components/internal/shared-widgets/responsive-layout/` +
          `module_${file % 97}/implementation_details_${file}.generated.d.ts`,
        flags: ["O_RDONLY", "O_CLOEXEC", "O_NOFOLLOW"],
        dirfd: -100,
        fd: 3 + (file % 60),
      },
    };
  }
  if (kind < 0.75) {
    const argv = COMMANDS[file % COMMANDS.length];
    return {
      ...common,
      source: "Shim",
      event_type: "Exec",
      payload: {
        call: "execve",
        path: `/usr/bin/${argv[0]}`,
        argv: [...argv],
        env: [...ENVIRONMENT],
        cwd: `/workspace/project-${session}`,
      },
    };
  }
  if (kind < 0.9) {
    return {
      ...common,
      source: "Shim",
      event_type: "Connect",
      payload: {
        call: "connect",
        fd: 3 + (file % 60),
        ...(file % 2 === 0
          ? {
            family: "AF_UNIX" as const,
            address: `/run/user/1000/containers/podman/machine/podman-api-${file}-listener.sock`,
          }
          : {
            family: "AF_INET6" as const,
            address: `2001:db8:${(file % 65535).toString(16)}::${session + 1}`,
            port: 443,
          }),
      },
    };
  }
  if (kind < 0.95) {
    return {
      ...common,
      source: "Shim",
      event_type: "Deny",
      payload: {
        call: "openat",
        action: "Open",
        target: `/home/agent/.config/gcloud/legacy_credentials/agent-${file}/adc.json`,
        rule: "deny-read-secrets: ~/.ssh/**",
        errno: 13,
        enforced: true,
      },
    };
  }
  return {
    ...common,
    source: "Runner",
    event_type: "Exit",
    payload: { pid, exit_code: file % 3, duration_ms: Math.round(random() * 1e6) / 1000 },
  };
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/**
 * Encodes events as newline-terminated JSON lines and deals them round-robin
 * into one contiguous buffer per client.
 *
 * @example
 * ```ts
 * import { encodeForClients, generateEvents } from "./events.ts";
 * const [first, second] = encodeForClients(generateEvents(10), 2);
 * ```
 */
export function encodeForClients(events: readonly AuditEvent[], clients: number): Uint8Array[] {
  if (clients < 1) throw new Error(`clients must be at least 1, got ${clients}`);
  const encoder = new TextEncoder();
  const parts: Uint8Array[][] = Array.from({ length: clients }, () => []);
  events.forEach((event, i) =>
    parts[i % clients].push(encoder.encode(JSON.stringify(event) + "\n"))
  );
  return parts.map(concat);
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
