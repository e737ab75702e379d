/**
 * The fast validator against zod, the source of truth: on a large corpus of valid events of every
 * type and on systematic mutations of them, both must agree on valid or invalid for every case.
 * The fast validator may only ever say "valid" where zod does; everything else is a mismatch too,
 * because it would send valid events down the slow path unnoticed.
 */
import assert from "node:assert/strict";
import {
  type AuditEvent,
  FAST_SESSION_ID_PATTERN,
  FAST_TIMESTAMP_PATTERN,
  isCertainlyValidEvent,
  SESSION_ID_PATTERN,
  TIMESTAMP_PATTERN,
  validateEvent,
} from "../../protocol/mod.ts";
import { VALID_EVENTS } from "./fixtures.ts";
import { seededRandom } from "../../bench/seeded_random.ts";

type Json = Record<string, unknown>;
type Path = readonly string[];

/** Compares both validators on every case; returns the disagreements (at most 20). */
function disagreements(cases: Iterable<[string, unknown]>): string[] {
  const found: string[] = [];
  let count = 0;
  for (const [name, value] of cases) {
    count++;
    const fast = isCertainlyValidEvent(value);
    const zod = validateEvent(value).ok;
    if (fast !== zod && found.length < 20) {
      found.push(`${name}: fast says ${fast}, zod says ${zod}: ${safeJson(value)}`);
    }
  }
  assert(count > 0, "no cases were checked");
  return found;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 300) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Valid events of every type with every combination of their optional fields. */
function validCorpus(count: number): Json[] {
  const random = seededRandom(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const maybe = (): boolean => random() < 0.5;
  const events: Json[] = [];
  for (let i = 0; i < count; i++) {
    const fraction = "123456789".slice(0, Math.floor(random() * 10));
    const event: Json = {
      v: 1,
      timestamp: `20${10 + (i % 90)}-${pick(["01", "09", "10", "12"])}-${
        pick(["01", "09", "19", "29", "31"])
      }T${pick(["00", "09", "19", "23"])}:${pick(["00", "59"])}:${pick(["00", "59", "60"])}${
        fraction ? `.${fraction}` : ""
      }Z`,
      source: pick(["Shim", "Runner"]),
      metadata: {
        session_id: pick(["s", "sess-01", "A.b_c-9", "9".repeat(128), "x".repeat(64)]),
        agent: pick(["claude-code", "a", "é 😀", "x".repeat(128), "tab-free\u0080"]),
      },
      process: {
        pid: pick([1, 4242, 2 ** 31 - 1]),
        ppid: pick([0, 1, 2 ** 31 - 1]),
        tid: pick([1, 77, 2 ** 31 - 1]),
        uid: pick([0, 1000, 2 ** 32 - 1]),
        gid: pick([0, 1000, 2 ** 32 - 1]),
      },
      seq: pick([0, 1, i, Number.MAX_SAFE_INTEGER]),
    };
    if (maybe()) event.dropped = pick([0, 3, Number.MAX_SAFE_INTEGER]);
    const type = (["Exec", "Open", "Connect", "Deny", "Exit"] as const)[i % 5];
    event.event_type = type;
    event.payload = validPayload(type, { pick, maybe });
    if (maybe()) {
      // Key order must not matter: reverse the envelope's keys.
      const reversed: Json = {};
      for (const key of Object.keys(event).reverse()) reversed[key] = event[key];
      events.push(reversed);
    } else {
      events.push(event);
    }
  }
  return events;
}

/** Random choices of the corpus generator. */
interface Chooser {
  pick: <T>(items: readonly T[]) => T;
  maybe: () => boolean;
}

function validPayload(type: AuditEvent["event_type"], { pick, maybe }: Chooser): Json {
  const truncate = (payload: Json): Json => {
    if (maybe()) payload.truncated = true;
    return payload;
  };
  const call = pick(["x", "openat", "c".repeat(64)]);
  switch (type) {
    case "Exec": {
      const payload: Json = {
        call,
        path: pick(["", "/usr/bin/ls", "ünïcode/😀"]),
        argv: pick([[], ["ls"], ["a", "", "b c"]]),
        env: pick([[], ["PATH=/usr/bin"], ["A=1", "B="]]),
        cwd: pick(["", "/workspace"]),
      };
      if (maybe()) payload.dirfd = pick([-100, 0, 3, -Number.MAX_SAFE_INTEGER]);
      if (maybe()) payload.errno = pick([1, 2, 4095]);
      if (maybe()) payload.probe = pick([{}, { kernel: "6.1", seccomp: { a: [1, null] } }]);
      if (maybe()) payload.capture = { mode: pick(["m", "x".repeat(64)]), reason: "" };
      return truncate(payload);
    }
    case "Open": {
      const payload: Json = {
        call,
        path: pick(["", "notes.txt"]),
        flags: pick([[], ["O_RDONLY"], ["O_WRONLY", "O_CREAT", "O_TMPFILE_1"]]),
      };
      if (maybe()) payload.mode = pick([0, 0o644, 0o7777]);
      if (maybe()) payload.dirfd = pick([-100, 3]);
      if (maybe()) payload.fd = pick([0, 5, 2 ** 31 - 1]);
      else payload.errno = pick([1, 13, 4095]);
      return truncate(payload);
    }
    case "Connect": {
      const family = pick(["AF_INET", "AF_INET6", "AF_UNIX", "AF_10", "AF_NETLINK"]);
      const payload: Json = { call, fd: pick([0, 7]), family, address: pick(["", "::1"]) };
      if (family === "AF_INET" || family === "AF_INET6" || maybe()) {
        payload.port = pick([0, 443, 65535]);
      }
      if (maybe()) payload.errno = pick([1, 115]);
      return truncate(payload);
    }
    case "Deny":
      return truncate({
        call,
        action: pick(["Exec", "Open", "Connect"]),
        target: pick(["", "/run/agent-secrets/key"]),
        rule: pick(["", "secrets"]),
        errno: pick([0, 1, 13, 4095]),
        enforced: maybe(),
      });
    case "Exit": {
      const payload: Json = { pid: pick([1, 2 ** 31 - 1]), duration_ms: pick([0, 812.5, 1e300]) };
      if (maybe()) payload.exit_code = pick([0, 1, 255]);
      else payload.signal = pick([1, 9, 64]);
      return truncate(payload);
    }
  }
}

/** Values every field is replaced with in turn: wrong types, boundaries, junk. */
const REPLACEMENTS: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  1.5,
  0.1,
  9,
  63,
  64,
  65,
  255,
  256,
  443,
  4095,
  4096,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  -Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER - 2,
  1e300,
  Infinity,
  -Infinity,
  NaN,
  "",
  "1",
  "a",
  "x".repeat(64),
  "x".repeat(65),
  "x".repeat(128),
  "x".repeat(129),
  "x".repeat(1024),
  "x".repeat(1025),
  "a\u0000b",
  "a\nb",
  "a\u001fb",
  "a\u007fb",
  "\u0080",
  "é",
  "😀",
  "\ud800",
  "Shim",
  "Runner",
  "Collector",
  "Exec",
  "Open",
  "Connect",
  "Deny",
  "Exit",
  "AF_INET",
  "AF_INET6",
  "AF_UNIX",
  "AF_10",
  "AF_inet",
  "AF_",
  "AF_1A",
  "O_RDONLY",
  "o_rdonly",
  "2025-12-01T12:00:00Z",
  [],
  [""],
  ["O_RDONLY"],
  ["O_RDONLY", "O-X"],
  [1],
  [null],
  [["nested"]],
  {},
  { a: 1 },
  { mode: "m", reason: "r" },
  { session_id: "s", agent: "a" },
  { pid: 1, ppid: 0, tid: 1, uid: 0, gid: 0 },
  { deep: { deeper: [{ deepest: {} }] } },
];

/** Keys added to every object in turn (strict objects must refuse unknown keys). */
const EXTRA_KEYS: readonly string[] = [
  "extra",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "0",
  "",
  "V",
  "payload ",
  "received_at",
  "session_seq",
  "signal",
  "fd",
  "errno",
  "port",
  "exit_code",
];

/** Paths of every field and every object in `value` (the root excluded). */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== "object") return [];
  const paths: Path[] = [];
  for (const key of Object.keys(value)) {
    const path = [...prefix, key];
    paths.push(path);
    paths.push(...pathsOf((value as Json)[key], path));
  }
  return paths;
}

function objectPathsOf(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
  const paths: Path[] = [prefix];
  for (const key of Object.keys(value)) {
    paths.push(...objectPathsOf((value as Json)[key], [...prefix, key]));
  }
  return paths;
}

/** A deep copy of `event` with the value at `path` replaced (or removed, for `REMOVE`). */
const REMOVE = Symbol("remove");
function withValue(event: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(event);
  let parent = copy as Json;
  for (const key of path.slice(0, -1)) parent = parent[key] as Json;
  const last = path[path.length - 1];
  if (value === REMOVE) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    parent[last] = value;
  }
  return copy;
}

const BASES: Json[] = [
  ...Object.values(VALID_EVENTS).map((event) => structuredClone(event) as unknown as Json),
  ...validCorpus(40),
];

Deno.test("the fast validator accepts every fixture event, as zod does", () => {
  for (const [type, event] of Object.entries(VALID_EVENTS)) {
    assert(validateEvent(event).ok, `fixture ${type} must be valid`);
    assert(isCertainlyValidEvent(JSON.parse(JSON.stringify(event))), `fixture ${type}`);
  }
});

Deno.test("the fast validator and zod agree on 5,000 valid events of every type", () => {
  const corpus = validCorpus(5000);
  const types = new Set(corpus.map((event) => event.event_type));
  assert.equal(types.size, 5);
  const cases = corpus.map((event, i): [string, unknown] => [`valid #${i}`, event]);
  assert.deepEqual(disagreements(cases), []);
  assert(corpus.every((event) => validateEvent(event).ok), "the corpus must be valid");
});

Deno.test("the fast validator and zod agree when any field is removed", () => {
  const cases: Array<[string, unknown]> = [];
  for (const [i, base] of BASES.entries()) {
    for (const path of pathsOf(base)) {
      cases.push([`base ${i} without ${path.join(".")}`, withValue(base, path, REMOVE)]);
    }
  }
  assert.deepEqual(disagreements(cases), []);
});

Deno.test("the fast validator and zod agree when any field gets a wrong or boundary value", () => {
  const cases: Array<[string, unknown]> = [];
  for (const [i, base] of BASES.slice(0, 15).entries()) {
    for (const path of pathsOf(base)) {
      for (const [j, value] of REPLACEMENTS.entries()) {
        cases.push([`base ${i} ${path.join(".")} = #${j}`, withValue(base, path, value)]);
      }
    }
  }
  assert(cases.length > 10_000, `only ${cases.length} cases`);
  assert.deepEqual(disagreements(cases), []);
});

Deno.test("the fast validator and zod agree when any object gets an extra key", () => {
  const cases: Array<[string, unknown]> = [];
  for (const [i, base] of BASES.entries()) {
    for (const path of objectPathsOf(base)) {
      for (const key of EXTRA_KEYS) {
        const where = path.length === 0 ? "the event" : path.join(".");
        cases.push([`base ${i} ${where} + ${key}`, withValue(base, [...path, key], 1)]);
      }
    }
  }
  assert.deepEqual(disagreements(cases), []);
});

Deno.test("the fast validator and zod agree on non-objects and on the event itself replaced", () => {
  const cases = REPLACEMENTS.map((value, i): [string, unknown] => [`root #${i}`, value]);
  cases.push(["undefined", undefined], ["a string", "{}"]);
  assert.deepEqual(disagreements(cases), []);
});

Deno.test("the fast validator and zod agree on session ids and agent names", () => {
  const ids = [
    "",
    ".",
    "..",
    "../x",
    "a/b",
    "a\\b",
    "\u0000",
    "a\u0000",
    ".a",
    "-a",
    "_a",
    "a.",
    "a..b",
    "a-b_c.d",
    "A",
    "9",
    "a\n",
    "a ",
    " a",
    "é",
    "١",
    "a".repeat(128),
    "a".repeat(129),
    "a".repeat(300),
    "ａ",
  ];
  const agents = ["", "a", "a\tb", "a\u001bb", "\u007f", "\u0085", "x".repeat(129), "\ud83d"];
  const cases: Array<[string, unknown]> = [];
  for (const base of BASES.slice(0, 5)) {
    for (const id of ids) {
      cases.push([
        `session_id ${JSON.stringify(id)}`,
        withValue(base, ["metadata", "session_id"], id),
      ]);
    }
    for (const agent of agents) {
      cases.push([`agent ${JSON.stringify(agent)}`, withValue(base, ["metadata", "agent"], agent)]);
    }
  }
  assert.deepEqual(disagreements(cases), []);
});

Deno.test("the fast validator and zod agree on timestamps", () => {
  const timestamps = [
    "2025-12-01T12:00:00Z",
    "2025-12-01T12:00:00.1Z",
    "2025-12-01T12:00:00.123456789Z",
    "2025-12-01T12:00:00.1234567890Z",
    "2025-12-01T12:00:00.Z",
    "2025-12-01T12:00:00",
    "2025-12-01T12:00:00z",
    "2025-12-01t12:00:00Z",
    "2025-12-01 12:00:00Z",
    "2025-12-01T12:00:00+00:00",
    "2025-00-01T12:00:00Z",
    "2025-13-01T12:00:00Z",
    "2025-12-00T12:00:00Z",
    "2025-12-32T12:00:00Z",
    "2025-12-01T24:00:00Z",
    "2025-12-01T23:60:00Z",
    "2025-12-01T23:59:60Z",
    "2025-12-01T23:59:61Z",
    " 2025-12-01T12:00:00Z",
    "2025-12-01T12:00:00Z ",
    "2025-12-01T12:00:00Z\n",
    "25-12-01T12:00:00Z",
    "+02025-12-01T12:00:00Z",
    "２025-12-01T12:00:00Z",
  ];
  const cases = timestamps.map((timestamp): [string, unknown] => [
    `timestamp ${JSON.stringify(timestamp)}`,
    withValue(BASES[0], ["timestamp"], timestamp),
  ]);
  assert.deepEqual(disagreements(cases), []);
});

Deno.test("the fast validator and zod agree on the exclusive outcome fields", () => {
  const cases: Array<[string, unknown]> = [];
  const open = VALID_EVENTS.Open as unknown as Json;
  const exit = VALID_EVENTS.Exit as unknown as Json;
  const connect = VALID_EVENTS.Connect as unknown as Json;
  cases.push(["open with fd and errno", withValue(open, ["payload", "errno"], 2)]);
  cases.push(["open with neither", withValue(open, ["payload", "fd"], REMOVE)]);
  cases.push(["exit with code and signal", withValue(exit, ["payload", "signal"], 9)]);
  cases.push(["exit with neither", withValue(exit, ["payload", "exit_code"], REMOVE)]);
  for (const family of ["AF_INET", "AF_INET6", "AF_UNIX", "AF_10", "AF_INET6X"]) {
    const event = withValue(withValue(connect, ["payload", "port"], REMOVE), [
      "payload",
      "family",
    ], family);
    cases.push([`connect ${family} without port`, event]);
  }
  for (const type of ["Exec", "Open", "Connect", "Deny", "Exit"]) {
    for (const other of Object.values(VALID_EVENTS)) {
      cases.push([
        `${type} with the payload of ${other.event_type}`,
        withValue(other, ["event_type"], type),
      ]);
    }
  }
  assert.deepEqual(disagreements(cases), []);
});

Deno.test("the fast validator and zod agree on JSON texts with tricky encodings", () => {
  const open = JSON.stringify(VALID_EVENTS.Open);
  const exec = JSON.stringify(VALID_EVENTS.Exec);
  const texts = [
    open.replace('"seq":0', '"seq":-0'),
    open.replace('"seq":0', '"seq":0.0'),
    open.replace('"seq":0', '"seq":1e400'),
    open.replace('"seq":0', '"seq":-1e400'),
    open.replace('"seq":0', '"seq":1e2'),
    open.replace('"seq":0', '"seq":1.0000000000000001'),
    open.replace('"seq":0', '"seq":9007199254740993'),
    open.replace('"fd":5', '"fd":5.0'),
    open.replace('"fd":5', '"fd":-0'),
    open.replace('"mode":420', '"mode":4095.0000000000001'),
    open.replace('"v":1', '"v":1.0'),
    open.replace('"v":1', '"v":true'),
    open.replace('"source":"Shim"', '"source":"\\u0053him"'),
    open.replace('"source":"Shim"', '"source":"Collector","source":"Shim"'),
    open.replace('"source":"Shim"', '"source":"Shim","source":"Collector"'),
    open.replace('"v":1', '"__proto__":{"v":1},"v":1'),
    open.replace('"v":1', '"__proto__":null,"v":1'),
    open.replace('"v":1,', ""),
    open.replace('"v":1,', '"__proto__":{"v":1},'),
    open.replace('"session_id"', '"__proto__":{},"session_id"'),
    open.replace('"pid":4242', '"__proto__":[],"pid":4242'),
    open.replace('"call"', '"__proto__":1,"call"'),
    exec.replace('"cwd"', '"probe":{"__proto__":{"x":1}},"cwd"'),
    exec.replace('"cwd"', '"probe":{"constructor":"x"},"cwd"'),
    exec.replace('"cwd"', '"probe":{"constructor":{"prototype":null}},"cwd"'),
    exec.replace('"cwd"', '"probe":[],"cwd"'),
    exec.replace('"cwd"', '"probe":null,"cwd"'),
    exec.replace('"cwd"', `"probe":${"[".repeat(60)}${"]".repeat(60)},"cwd"`),
    exec.replace('"cwd"', `"probe":{"a":${"[".repeat(60)}${"]".repeat(60)}},"cwd"`),
    exec.replace('"cwd"', '"capture":{"mode":"m","reason":"r","__proto__":1},"cwd"'),
    exec.replace('"ls"', '"l\\u0000s"'),
    exec.replace('"ls"', '"\\ud800"'),
    open.replace('"O_CLOEXEC"', '"O_CLOEXEC\\n"'),
    open.replace('"sess-01"', '"sess-01\\n"'),
    open.replace('"sess-01"', '"sess\\u002d01"'),
    open.replace('"sess-01"', '"sess\\u002f01"'),
  ];
  const cases = texts.map((text, i): [string, unknown] => [`text #${i}`, JSON.parse(text)]);
  assert.deepEqual(disagreements(cases), []);
});

Deno.test("the fast validator and zod agree on 20,000 random multi-field mutations", () => {
  const random = seededRandom(99);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const cases: Array<[string, unknown]> = [];
  for (let i = 0; i < 20_000; i++) {
    let event: unknown = pick(BASES);
    const steps = 1 + Math.floor(random() * 3);
    for (let step = 0; step < steps; step++) {
      const paths = pathsOf(event);
      if (paths.length === 0) break;
      const path = pick(paths);
      const roll = random();
      const value = roll < 0.15 ? REMOVE : roll < 0.25 ? pick(BASES) : pick(REPLACEMENTS);
      event = withValue(event, path, value);
    }
    cases.push([`random #${i}`, event]);
  }
  assert.deepEqual(disagreements(cases), []);
});

// Values JSON.parse cannot produce: the fast validator may be unsure where zod accepts (it then
// asks zod), but must never accept what zod rejects.
Deno.test("the fast validator never accepts a probe that zod rejects as not a plain object", () => {
  class Probe {
    kernel = "6.1";
  }
  const probes: unknown[] = [
    new Probe(),
    new Date(0),
    new Map(),
    { constructor: Probe },
    Object.create(null),
    Object.create({ inherited: true }),
    { constructor: "not a function" },
  ];
  let zodAccepted = 0;
  for (const [i, probe] of probes.entries()) {
    const event = withValue(VALID_EVENTS.Exec, ["payload", "probe"], probe);
    const zod = validateEvent(event).ok;
    if (zod) zodAccepted++;
    assert(zod || !isCertainlyValidEvent(event), `probe #${i}: zod rejects, fast accepts`);
  }
  assert(zodAccepted > 0 && zodAccepted < probes.length, "the cases must include both verdicts");
});

Deno.test("the fast validator's session id and timestamp patterns are schema.ts's", () => {
  assert.equal(FAST_SESSION_ID_PATTERN.source, SESSION_ID_PATTERN.source);
  assert.equal(FAST_SESSION_ID_PATTERN.flags, SESSION_ID_PATTERN.flags);
  assert.equal(FAST_TIMESTAMP_PATTERN.source, TIMESTAMP_PATTERN.source);
  assert.equal(FAST_TIMESTAMP_PATTERN.flags, TIMESTAMP_PATTERN.flags);
});

Deno.test("the fast validator module imports nothing at run time (it runs in a locked-down worker)", async () => {
  const source = await Deno.readTextFile(
    new URL("../../protocol/fast_validate.ts", import.meta.url),
  );
  const imports = source.split("\n").filter((line) =>
    /^\s*(import|export)\b.*\bfrom\s/.test(line) && !/^\s*(import|export) type\b/.test(line)
  );
  assert.deepEqual(imports, []);
});
