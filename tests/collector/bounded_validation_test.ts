import assert from "node:assert/strict";
import { z } from "zod";
import { ingestText } from "../../collector/ingest.ts";
import { validateEvent } from "../../protocol/mod.ts";
import { execEvent } from "./helpers.ts";

const RECEIVED_AT = "2025-12-01T12:00:00.000Z";

function openEvent(flags: unknown[]): Record<string, unknown> {
  const { payload: _, ...envelope } = execEvent("bounded", 0);
  return {
    ...envelope,
    event_type: "Open",
    payload: { call: "open", path: "/etc/hosts", flags, fd: 3 },
  };
}

function execWith(fields: Record<string, unknown>, sessionId = "bounded"): Record<string, unknown> {
  const event = execEvent(sessionId, 0);
  return { ...event, payload: { ...event.payload, ...fields } };
}

/** What the collector's reject record would say if zod judged the whole, untrimmed event. */
function zodReject(event: unknown): { path: string; message: string } {
  const result = validateEvent(event);
  assert.ok(!result.ok);
  const issue = result.issues.find((i) => i.path.startsWith("metadata.session_id")) ??
    result.issues[0];
  return { path: issue.path, message: issue.message };
}

const everyOther = (n: number) => Array.from({ length: n }, (_, i) => i % 2 ? 5 : "a");
const lastBad = (n: number) => Array.from({ length: n }, (_, i) => i === n - 1 ? null : "a");

const cases: Array<[string, unknown]> = [
  ["argv: every other element bad", execWith({ argv: everyOther(5000) })],
  ["argv: only the last element bad", execWith({ argv: lastBad(5000) })],
  ["argv: short, bad elements", execWith({ argv: everyOther(10) })],
  ["env: bad after 300 good ones", execWith({ env: [...lastBad(300), ...everyOther(900)] })],
  ["argv and env both bad", execWith({ argv: everyOther(900), env: everyOther(900) })],
  ["bad argv and a bad session id", execWith({ argv: everyOther(900) }, "../x")],
  ["bad argv and an unknown payload key", execWith({ argv: everyOther(900), extra: 1 })],
  ["flags: strings failing the pattern", openEvent(Array.from({ length: 900 }, () => "o_rdonly"))],
  ["flags: a non-string among good ones", openEvent([...Array(500).fill("O_RDONLY"), 7])],
];

for (const [name, event] of cases) {
  Deno.test(`the reject of an event with long bad arrays is zod's for the whole event (${name})`, () => {
    const outcome = ingestText(JSON.stringify(event), RECEIVED_AT);

    assert.ok(!outcome.ok);
    assert.deepEqual({ path: outcome.path, message: outcome.message }, zodReject(event));
  });
}

Deno.test("judging an event with 95,000 bad argv elements builds a few zod issues, not one each", () => {
  const line = JSON.stringify(execWith({ argv: everyOther(190_000) }));
  let issues = 0;
  z.config({
    customError: () => {
      issues++;
      return undefined;
    },
  });
  try {
    const outcome = ingestText(line, RECEIVED_AT);

    assert.ok(!outcome.ok);
    assert.equal(outcome.path, "payload.argv.1");
  } finally {
    z.config({ customError: undefined });
  }
  assert.ok(issues < 10, `${issues} issues built`);
});
