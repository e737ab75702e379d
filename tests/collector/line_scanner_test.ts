/**
 * The WebAssembly line scanner against the JavaScript path it stands in for: whenever it vouches
 * for a line, `fastAccept` accepts that line with the identical record and session (and zod
 * accepts the event); it vouches for every line of the benchmark's workload; the committed module
 * is what the Zig source compiles to; the ingest worker's results are the same with and without it.
 */
import assert from "node:assert/strict";
import { fastAccept } from "../../collector/fast_ingest.ts";
import {
  ITEM_FIELDS,
  KIND_UNDECIDED_RAW,
  KIND_UNDECIDED_TEXT,
  processJob,
} from "../../collector/ingest_worker.ts";
import { LineScanner } from "../../collector/line_scanner/mod.ts";
import { compileLineScanner } from "../../collector/line_scanner/build.ts";
import { LINE_SCANNER_WASM_BASE64 } from "../../collector/line_scanner/line_scanner_wasm.ts";
import { validateEvent } from "../../protocol/mod.ts";
import { generateEvents } from "../../bench/events.ts";
import { seededRandom } from "../../bench/seeded_random.ts";
import type { IngestResult } from "../../collector/ingest_pipeline.ts";

type Json = Record<string, unknown>;

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const RECEIVED_AT = "2026-01-02T03:04:05.678Z";
const scanner = new LineScanner();

/** One canonical, valid event of each type (the benchmark's generator, fixed seed). */
function sampleEvents(): Json[] {
  const events = generateEvents(200, { seed: 7 }) as unknown as Json[];
  const byType = new Map<unknown, Json>();
  for (const event of events) byType.set(event.event_type, event);
  assert.equal(byType.size, 5);
  return [...byType.values()];
}

function sample(type: string): Json {
  return structuredClone(sampleEvents().find((event) => event.event_type === type) as Json);
}

/**
 * The scanner's verdict on `line`, checked against the JavaScript path: when it vouches, the
 * line is valid UTF-8, fastAccept accepts it with the same record and session, zod accepts it.
 */
function verdict(line: Uint8Array | string): "vouched" | "declined" {
  const bytes = typeof line === "string" ? encoder.encode(line) : line;
  const vouched = scanner.vouch(bytes, RECEIVED_AT);
  if (vouched === undefined) return "declined";
  const text = strict.decode(bytes);
  const accepted = fastAccept(text, RECEIVED_AT);
  assert.ok(accepted !== undefined, `vouched for a line fastAccept does not accept: ${text}`);
  assert.deepEqual(vouched.record, encoder.encode(accepted.record), text);
  assert.equal(vouched.sessionId, accepted.sessionId, text);
  assert.ok(validateEvent(JSON.parse(text)).ok, `vouched for a line zod rejects: ${text}`);
  return "vouched";
}

/** `event` as JSON with `edit` applied to the text. */
function edited(event: Json, edit: (json: string) => string): string {
  const json = JSON.stringify(event);
  const result = edit(json);
  assert.notEqual(result, json, "the edit must change the line");
  return result;
}

Deno.test("rebuilding line_scanner.zig gives exactly the committed WebAssembly module", async () => {
  const rebuilt = await compileLineScanner();
  const committed = Uint8Array.from(atob(LINE_SCANNER_WASM_BASE64), (c) => c.charCodeAt(0));
  assert.deepEqual(rebuilt, committed, "run `deno task build:scanner` and commit the result");
});

Deno.test("every line of the benchmark's workload is vouched for, with fastAccept's record and session", () => {
  const counts = new Map<unknown, number>();
  for (const seed of [1, 2, 3]) {
    for (const event of generateEvents(2000, { seed, sessions: 8 }) as unknown as Json[]) {
      assert.equal(verdict(JSON.stringify(event)), "vouched", JSON.stringify(event));
      counts.set(event.event_type, (counts.get(event.event_type) ?? 0) + 1);
    }
  }
  assert.deepEqual([...counts.keys()].sort(), ["Connect", "Deny", "Exec", "Exit", "Open"]);
  for (const count of counts.values()) assert.ok(count >= 100, `${count} events of a type`);
});

Deno.test("a line with a duplicate key is declined (JSON.parse keeps the last value)", () => {
  const line = edited(
    sample("Open"),
    (json) => json.replace('"source":"Shim"', '"source":"Shim","source":"Runner"'),
  );
  assert.ok(fastAccept(line, RECEIVED_AT) !== undefined, "the JS path accepts it, re-serialized");
  assert.equal(verdict(line), "declined");
});

Deno.test("a duplicate key inside the payload is declined", () => {
  const line = edited(sample("Open"), (json) => json.replace('"fd":', '"fd":4,"fd":'));
  assert.equal(verdict(line), "declined");
});

Deno.test("escapes JSON.stringify writes itself are vouched for", () => {
  const event = sample("Open");
  (event.payload as Json).path = 'a"b\\c\nd\te\u001bf\u007fg\u2028h/i';
  assert.equal(verdict(JSON.stringify(event)), "vouched");
});

Deno.test("escapes JSON.stringify would not write are declined", () => {
  const open = sample("Open");
  const forms = ["\\/", "\\u0041", "\\u001B", "\\u000a", "\\u00e9", "\\ud83d\\ude00", "\\ud800"];
  for (const form of forms) {
    const line = edited(open, (json) => json.replace('"path":"', `"path":"${form}`));
    assert.ok(fastAccept(line, RECEIVED_AT) !== undefined, form);
    assert.equal(verdict(line), "declined", form);
  }
});

Deno.test("whitespace anywhere outside strings is declined", () => {
  const open = sample("Open");
  for (
    const edit of [
      (j: string) => ` ${j}`,
      (j: string) => `${j} `,
      (j: string) => j.replace(":", ": "),
    ]
  ) {
    const line = edited(open, edit);
    assert.ok(fastAccept(line, RECEIVED_AT) !== undefined);
    assert.equal(verdict(line), "declined");
  }
});

Deno.test("the agent's length counts UTF-16 units: 64 astral characters pass, one more unit does not", () => {
  const event = sample("Exec");
  const metadata = event.metadata as Json;
  metadata.agent = "\u{1F600}".repeat(64);
  assert.equal((metadata.agent as string).length, 128);
  assert.equal(verdict(JSON.stringify(event)), "vouched");
  metadata.agent = `${"\u{1F600}".repeat(64)}x`;
  assert.equal(fastAccept(JSON.stringify(event), RECEIVED_AT), undefined);
  assert.equal(verdict(JSON.stringify(event)), "declined");
  metadata.agent = "é".repeat(128);
  assert.equal(verdict(JSON.stringify(event)), "vouched");
});

Deno.test("call names of 64 UTF-16 units pass and of 65 are declined, astral or not", () => {
  const event = sample("Deny");
  const payload = event.payload as Json;
  for (
    const [call, expected] of [
      ["\u{10348}".repeat(32), "vouched"],
      [`${"\u{10348}".repeat(32)}a`, "declined"],
      ["x".repeat(64), "vouched"],
      ["x".repeat(65), "declined"],
      ["", "declined"],
    ]
  ) {
    payload.call = call;
    assert.equal(verdict(JSON.stringify(event)), expected, call);
  }
});

Deno.test("an agent name with a control character is declined, escaped or raw DEL", () => {
  const event = sample("Exec");
  for (const agent of ["a\u001bb", "a\nb", "a\u007fb"]) {
    (event.metadata as Json).agent = agent;
    assert.equal(verdict(JSON.stringify(event)), "declined", agent);
  }
  (event.metadata as Json).agent = 'quote " and \\ backslash';
  assert.equal(verdict(JSON.stringify(event)), "vouched");
});

Deno.test("integers at the edges of their ranges are vouched for inside and declined outside", () => {
  const cases: Array<[type: string, path: string[], inside: number, outside: number]> = [
    ["Open", ["process", "uid"], 2 ** 32 - 1, 2 ** 32],
    ["Open", ["process", "pid"], 2 ** 31 - 1, 2 ** 31],
    ["Open", ["process", "pid"], 1, 0],
    ["Open", ["seq"], Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1],
    ["Connect", ["payload", "port"], 65535, 65536],
    ["Open", ["payload", "mode"], 0o7777, 0o10000],
    ["Open", ["payload", "dirfd"], -Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER - 1],
    ["Deny", ["payload", "errno"], 0, -1],
    ["Deny", ["payload", "errno"], 4095, 4096],
    ["Exit", ["payload", "exit_code"], 255, 256],
  ];
  for (const [type, path, inside, outside] of cases) {
    const event = sample(type);
    let target = event;
    for (const key of path.slice(0, -1)) target = target[key] as Json;
    const last = path[path.length - 1];
    target[last] = inside;
    assert.equal(verdict(JSON.stringify(event)), "vouched", `${path.join(".")}=${inside}`);
    target[last] = outside;
    assert.equal(verdict(JSON.stringify(event)), "declined", `${path.join(".")}=${outside}`);
  }
});

Deno.test("integers JSON.stringify writes differently (-0, fraction, exponent) are declined", () => {
  const open = sample("Open");
  for (const form of ["-0", "3.0", "3e0", "30E-1"]) {
    const line = edited(open, (json) => json.replace(/"fd":\d+/, `"fd":${form}`));
    assert.ok(fastAccept(line, RECEIVED_AT) !== undefined, form);
    assert.equal(verdict(line), "declined", form);
  }
});

Deno.test("an integer with a leading zero (not JSON) is declined", () => {
  const line = edited(sample("Open"), (json) => json.replace(/"fd":\d+/, `"fd":03`));
  assert.equal(verdict(line), "declined");
});

Deno.test("durations are vouched for exactly when their text is what JSON.stringify writes", () => {
  const exit = sample("Exit");
  const vouched = ["0", "12", "0.5", "123.456", "0.000001", "12345678901234.5", "999999999999999"];
  const declined = ["0.0000001", "1.50", "1.0", "1e3", "00.5", "-0", "0.1234567890123456"];
  for (const form of [...vouched, ...declined]) {
    const line = edited(
      exit,
      (json) => json.replace(/"duration_ms":[0-9.]+/, `"duration_ms":${form}`),
    );
    const expected = vouched.includes(form) ? "vouched" : "declined";
    assert.equal(verdict(line), expected, form);
  }
});

/** Timestamps around the edges of the protocol's pattern, and whether zod accepts them. */
const TIMESTAMPS: Array<[string, boolean]> = [
  ["2025-12-01T23:59:60Z", true],
  ["2025-12-01T23:59:61Z", false],
  ["2025-12-31T00:00:00.123456789Z", true],
  ["2025-12-31T00:00:00.1234567890Z", false],
  ["2025-12-31T00:00:00.Z", false],
  ["2025-13-01T00:00:00Z", false],
  ["2025-00-01T00:00:00Z", false],
  ["2025-12-32T00:00:00Z", false],
  ["2025-12-00T00:00:00Z", false],
  ["2025-12-01T24:00:00Z", false],
  ["2025-12-01T00:60:00Z", false],
  ["2025-12-01T00:00:00z", false],
  ["2025-12-01 00:00:00Z", false],
  ["2025-12-01T00:00:00+00:00", false],
];

Deno.test("timestamps are vouched for exactly when the protocol's pattern matches", () => {
  const event = sample("Deny");
  for (const [timestamp, valid] of TIMESTAMPS) {
    event.timestamp = timestamp;
    assert.equal(verdict(JSON.stringify(event)), valid ? "vouched" : "declined", timestamp);
  }
});

/** Session ids around the edges of the protocol's pattern, and whether zod accepts them. */
const SESSION_IDS: Array<[string, boolean]> = [
  ["a", true],
  ["A9._-z", true],
  ["x".repeat(128), true],
  ["x".repeat(129), false],
  [".hidden", false],
  ["-dash", false],
  ["a/b", false],
  ["", false],
  ["caf\u00e9", false],
];

Deno.test("session ids are vouched for exactly when the protocol's pattern matches", () => {
  const event = sample("Open");
  for (const [id, valid] of SESSION_IDS) {
    (event.metadata as Json).session_id = id;
    const expected = valid ? "vouched" : "declined";
    assert.equal(verdict(JSON.stringify(event)), expected, id);
  }
});

Deno.test("families and flags are vouched for exactly when their patterns match", () => {
  const connect = sample("Connect");
  const payload = connect.payload as Json;
  payload.port = 1;
  for (
    const [family, valid] of [["AF_UNIX", true], ["AF_10", true], ["AF_unix", false], [
      "AF_",
      false,
    ], ["af_inet", false]]
  ) {
    payload.family = family;
    assert.equal(verdict(JSON.stringify(connect)), valid ? "vouched" : "declined", `${family}`);
  }
  delete payload.port;
  for (const [family, valid] of [["AF_INET", false], ["AF_INET6", false], ["AF_INET7", true]]) {
    payload.family = family;
    assert.equal(verdict(JSON.stringify(connect)), valid ? "vouched" : "declined", `${family}`);
  }
  const open = sample("Open");
  for (
    const [flags, valid] of [[[], true], [["O_RDONLY", "O_2_X"], true], [["O_"], false], [[
      "o_RDONLY",
    ], false], [["O_a"], false]]
  ) {
    (open.payload as Json).flags = flags;
    assert.equal(verdict(JSON.stringify(open)), valid ? "vouched" : "declined", `${flags}`);
  }
});

Deno.test("an unknown key is declined at every level", () => {
  const exec = sample("Exec");
  for (
    const [anchor, extra] of [["{", '"extra":1,'], ['"metadata":{', '"x":"y",'], [
      '"payload":{',
      '"z":true,',
    ]]
  ) {
    const line = edited(exec, (json) => json.replace(anchor, `${anchor}${extra}`));
    assert.equal(verdict(line), "declined", extra);
  }
});

Deno.test("a payload of another event type is declined", () => {
  const open = sample("Open");
  open.payload = sample("Exec").payload;
  assert.equal(fastAccept(JSON.stringify(open), RECEIVED_AT), undefined);
  assert.equal(verdict(JSON.stringify(open)), "declined");
});

Deno.test("a payload before event_type is declined (the JS path decides it)", () => {
  const { payload, ...rest } = sample("Open");
  const line = JSON.stringify({ payload, ...rest });
  assert.ok(fastAccept(line, RECEIVED_AT) !== undefined);
  assert.equal(verdict(line), "declined");
});

Deno.test("an Exec event with a probe object is declined (its keys may be reordered)", () => {
  const exec = sample("Exec");
  (exec.payload as Json).probe = { kernel: "6.1" };
  assert.ok(fastAccept(JSON.stringify(exec), RECEIVED_AT) !== undefined);
  assert.equal(verdict(JSON.stringify(exec)), "declined");
});

Deno.test("invalid UTF-8 in a string is declined: overlong, surrogate, truncated, above U+10FFFF", () => {
  const open = encoder.encode(JSON.stringify(sample("Open")));
  const at = open.indexOf(0x2f); // the first "/" of the path
  for (
    const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xff]]
  ) {
    const line = new Uint8Array([...open.subarray(0, at), ...bad, ...open.subarray(at)]);
    assert.equal(verdict(line), "declined", bad.join(","));
  }
});

Deno.test("capture's mode and reason are vouched for up to their limits and declined beyond", () => {
  const exec = sample("Exec");
  const payload = exec.payload as Json;
  payload.capture = { mode: "m".repeat(64), reason: "r".repeat(1024) };
  assert.equal(verdict(JSON.stringify(exec)), "vouched");
  payload.capture = { mode: "m".repeat(65), reason: "" };
  assert.equal(verdict(JSON.stringify(exec)), "declined");
  payload.capture = { mode: "m", reason: "r".repeat(1025) };
  assert.equal(verdict(JSON.stringify(exec)), "declined");
});

/** Text snippets a mutation inserts: escapes, unicode, numbers, structure. */
const SNIPPETS = [
  " ",
  "\t",
  "\\u0041",
  "\\n",
  "\\/",
  "\\u001b",
  "\\u001B",
  "\\\\",
  '\\"',
  '"',
  "\\",
  "é",
  "😀",
  "\\ud83d\\ude00",
  "\\ud800",
  "1e3",
  ".5",
  "-0",
  "00",
  "0",
  "9",
  ",",
  ":",
  "{",
  "}",
  "[",
  "]",
  "null",
  "true",
  '"v":1,',
  '"extra":0,',
  "\u2028",
  "\u007f",
  "[[[[[[[[[[]]]]]]]]]]",
];
const EDGE_NUMBERS = [
  "0",
  "-0",
  "1",
  "-1",
  "2147483647",
  "2147483648",
  "4294967295",
  "4294967296",
  "9007199254740991",
  "9007199254740992",
  "65535",
  "65536",
  "4095",
  "4096",
  "255",
  "256",
  "64",
  "65",
  "1.5",
  "1e3",
  "01",
  "0.000001",
  "1e-7",
  "123.450",
  "12345678901234.5",
  "1234567890123456.7",
  "-100",
];
const KEYS = [
  "v",
  "timestamp",
  "source",
  "metadata",
  "process",
  "seq",
  "dropped",
  "event_type",
  "payload",
  "session_id",
  "agent",
  "pid",
  "ppid",
  "tid",
  "uid",
  "gid",
  "call",
  "path",
  "flags",
  "mode",
  "dirfd",
  "fd",
  "errno",
  "truncated",
  "argv",
  "env",
  "cwd",
  "probe",
  "capture",
  "family",
  "address",
  "port",
  "action",
  "target",
  "rule",
  "enforced",
  "exit_code",
  "signal",
  "duration_ms",
  "reason",
  "0",
  "__proto__",
];
const VALUES = [
  "1",
  '"x"',
  "true",
  "false",
  "null",
  "[]",
  "{}",
  '["O_RDONLY"]',
  '{"1":2,"a":3}',
  "-5",
];
const INVALID_UTF8 = [[0x80], [0xc3], [0xc0, 0x80], [0xed, 0xb0, 0x80], [
  0xf8,
  0x88,
  0x80,
  0x80,
  0x80,
]];

/** Generates mutated lines from a seed; each is one to three mutations of a valid line. */
function* mutants(count: number, seed: number): Generator<Uint8Array> {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const events = generateEvents(500, { seed }) as unknown as Json[];
  for (const event of sampleEvents()) events.push(event);
  for (let n = 0; n < count; n++) {
    const event = structuredClone(pick(events));
    // Value-level changes first (the line stays canonical: JSON.stringify writes it).
    const valueEdits = Math.floor(random() * 3);
    for (let e = 0; e < valueEdits; e++) mutateValue(event, random, pick, events);
    let line: Uint8Array = encoder.encode(JSON.stringify(event));
    const textEdits = Math.floor(random() * 3);
    for (let e = 0; e < textEdits; e++) line = mutateText(line, random, pick);
    yield line;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function mutateValue(
  event: Json,
  random: () => number,
  pick: <T>(list: readonly T[]) => T,
  events: Json[],
): void {
  const objects: Json[] = [event];
  for (const value of Object.values(event)) {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      objects.push(value as Json);
    }
  }
  const target = pick(objects);
  const keys = Object.keys(target);
  const key = pick(keys);
  const units = pick([0, 1, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025]);
  const unit = pick(["a", "é", "😀", "\u0007", "\u007f", '"']);
  switch (Math.floor(random() * 11)) {
    case 0:
      delete target[key];
      break;
    case 9:
      event.timestamp = pick(TIMESTAMPS)[0];
      break;
    case 10:
      if (isObject(event.metadata)) event.metadata.session_id = pick(SESSION_IDS)[0];
      break;
    case 1:
      event.payload = structuredClone(pick(events).payload);
      break;
    case 2:
      event.event_type = pick(["Open", "Exec", "Connect", "Deny", "Exit", "Other"]);
      break;
    case 3:
      target[key] = Array.from({ length: units }, () => unit).join("").slice(0, units);
      break;
    case 4:
      target[key] = JSON.parse(pick(EDGE_NUMBERS.filter((n) => !/^-?0\d|^-0$/.test(n))));
      break;
    case 5:
      // (Not `__proto__`: assigning it would set the prototype; the text mutations add it.)
      target[pick(KEYS.filter((name) => name !== "__proto__"))] = JSON.parse(pick(VALUES));
      break;
    case 6:
      if (!isObject(event.payload)) break;
      (event.payload as Json).capture = {
        mode: "x".repeat(units % 70),
        reason: unit.repeat(units),
      };
      break;
    case 7:
      if (!isObject(event.payload)) break;
      (event.payload as Json).truncated = pick([true, false, 1]);
      break;
    default: {
      const { [key]: moved, ...rest } = target;
      for (const k of Object.keys(target)) delete target[k];
      Object.assign(target, moved === undefined ? rest : { [key]: moved, ...rest });
    }
  }
}

function mutateText(
  line: Uint8Array,
  random: () => number,
  pick: <T>(list: readonly T[]) => T,
): Uint8Array {
  const at = Math.floor(random() * (line.length + 1));
  const insert = (bytes: ArrayLike<number>, remove = 0) =>
    new Uint8Array([...line.subarray(0, at), ...Array.from(bytes), ...line.subarray(at + remove)]);
  switch (Math.floor(random() * 7)) {
    case 0:
      return insert([Math.floor(random() * 256)], 1); // a byte replaced
    case 1:
      return insert(encoder.encode(pick(SNIPPETS)));
    case 2:
      return line.subarray(0, at); // truncated
    case 3:
      return insert(pick(INVALID_UTF8));
    case 4: {
      // A number replaced by an edge case.
      const text = new TextDecoder().decode(line);
      const numbers = [...text.matchAll(/-?\d+(\.\d+)?/g)];
      if (numbers.length === 0) return line;
      const match = pick(numbers);
      const index = match.index as number;
      return encoder.encode(
        text.slice(0, index) + pick(EDGE_NUMBERS) + text.slice(index + match[0].length),
      );
    }
    case 5: {
      // A key duplicated or added right after an object's opening brace.
      const text = new TextDecoder().decode(line);
      const braces = [...text.matchAll(/\{"/g)];
      if (braces.length === 0) return line;
      const index = (pick(braces).index as number) + 1;
      return encoder.encode(
        `${text.slice(0, index)}"${pick(KEYS)}":${pick(VALUES)},${text.slice(index)}`,
      );
    }
    default:
      return insert([], 1); // a byte removed
  }
}

Deno.test("whenever the scanner vouches for one of 30,000 mutated lines, the JS path stores the same record", () => {
  let vouched = 0;
  let declined = 0;
  let canonicalAccepted = 0;
  for (const seed of [11, 12, 13]) {
    for (const line of mutants(10_000, seed)) {
      if (verdict(line) === "vouched") {
        vouched++;
        continue;
      }
      declined++;
      let text: string | undefined;
      try {
        text = strict.decode(line);
      } catch {
        continue;
      }
      const accepted = fastAccept(text, RECEIVED_AT);
      if (accepted !== undefined && `${accepted.record.split(',"received_at"')[0]}}` === text) {
        canonicalAccepted++;
      }
    }
  }
  console.log(
    `mutants: ${vouched} vouched, ${declined} declined ` +
      `(of those ${canonicalAccepted} canonical lines the JS path accepts)`,
  );
  assert.ok(vouched >= 3000 && declined >= 3000, `${vouched} vouched, ${declined} declined`);
});

/** A result as comparable text: per item its session (or kind), its bytes and its run. */
function describe(result: IngestResult): string[] {
  const lines: string[] = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < result.items.length; i += ITEM_FIELDS) {
    const [kind, start, end, run] = result.items.subarray(i, i + ITEM_FIELDS);
    if (kind === KIND_UNDECIDED_RAW) {
      lines.push(`raw ${run} ${[...result.raws[start]].join(",")}`);
      continue;
    }
    const label = kind === KIND_UNDECIDED_TEXT ? "undecided" : `session ${result.sessions[kind]}`;
    lines.push(`${label} ${run} ${decoder.decode(result.out.subarray(start, end))}`);
  }
  return lines;
}

Deno.test("the ingest worker's result is the same with and without the scanner, in the order received", () => {
  const parts: Uint8Array[] = [];
  const runs: number[] = [];
  let length = 0;
  const huge = sample("Exec");
  (huge.payload as Json).argv = Array.from({ length: 20_000 }, (_, i) => `argument-${i}`);
  const lines: Uint8Array[] = [...mutants(3000, 21)];
  lines.splice(100, 0, encoder.encode(JSON.stringify(huge))); // longer than the scanner's input
  lines.splice(200, 0, new Uint8Array(0), new Uint8Array(0)); // empty lines
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].filter((byte) => byte !== 0x0a);
    parts.push(line, new Uint8Array([0x0a]));
    length += line.length + 1;
    if (i % 250 === 249 || i === lines.length - 1) runs.push(length, RECEIVED_MS + i);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  const job = { id: 1, bytes, runs: new Float64Array(runs) };
  const scanned = describe(processJob(job));
  const javascript = describe(processJob(job, { scanner: false }));
  assert.equal(scanned.length, lines.length - 2);
  assert.deepEqual(scanned, javascript);
});

const RECEIVED_MS = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

Deno.test("a scan past the input buffer makes no progress, so the caller cannot skip lines", () => {
  const stamp = scanner.setStamp(RECEIVED_AT);
  assert.equal(scanner.scan(0, scanner.inputCapacity + 1, stamp), 0);
  assert.equal(scanner.itemCount(), 0);
  assert.equal(scanner.scan(5, 4, stamp), 5);
});
