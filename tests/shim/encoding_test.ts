/**
 * Event encoding and configuration knobs: size limit with `truncated`, secret redaction (default
 * and configured), open path filters, and the Zig unit tests of the encoder.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { startTestCollector } from "../support/collector.ts";
import { eventsOf, payloadOf, runUnderShim, waitForShimEvents } from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";
import { findZig } from "../../toolchain/mod.ts";

Deno.test("an exec larger than the event size limit is cut, marked truncated and still valid", async () => {
  await using collector = await startTestCollector();
  const long = "x".repeat(100_000);
  const result = await runUnderShim(["/bin/sh", "-c", `/bin/true ${long} after`], {
    socket: collector.socket,
    session: "truncate",
    env: { CONTAINAI_AUDIT_MAX_EVENT_BYTES: "4096" },
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "truncate",
    (e) => eventsOf(e, "Exec").some((x) => payloadOf(x).path === "/bin/true"),
  );
  const exec = eventsOf(events, "Exec").find((x) => payloadOf(x).path === "/bin/true")!;
  const payload = payloadOf(exec);
  assertEquals(payload.truncated, true);
  const argv = payload.argv as string[];
  assertEquals(argv[0], "/bin/true");
  assert(argv[1].length > 1000 && argv[1].length < 4096, `argv[1] has ${argv[1].length} chars`);
  assert(!argv.includes("after"), "arguments after the cut are left out");
  const { received_at: _r, session_seq: _s, ...sent } = exec;
  assert(new TextEncoder().encode(JSON.stringify(sent)).length + 1 <= 4096);
});

Deno.test("a path that is not valid UTF-8 is reported with U+FFFD in a valid event", async () => {
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-utf8-");
  const dir = temp.path;
  // printf writes the raw byte 0xff into the name; the shell opens it for writing.
  const result = await runUnderShim(["/bin/sh", "-c", `: > "${dir}/$(printf 'a\\377b')"`], {
    socket: collector.socket,
    session: "utf8",
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "utf8",
    (e) => eventsOf(e, "Open").some((x) => String(payloadOf(x).path).startsWith(dir)),
  );
  const open = eventsOf(events, "Open").find((x) => String(payloadOf(x).path).startsWith(dir))!;
  assertEquals(payloadOf(open).path, `${dir}/a\ufffdb`);
});

Deno.test("values of secret-looking variables are redacted, other values kept", async () => {
  await using collector = await startTestCollector();
  const result = await runUnderShim(["/bin/sh", "-c", "/bin/true"], {
    socket: collector.socket,
    session: "redact",
    env: {
      GITHUB_TOKEN: "ghp_secret",
      my_Api_Key: "k",
      DB_PASSWORD: "p",
      HTTP_AUTHORIZATION: "Bearer x",
      SESSION_COOKIE: "c",
      PLAIN: "visible",
    },
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "redact",
    (e) => eventsOf(e, "Exec").length >= 1,
  );
  const env = payloadOf(eventsOf(events, "Exec")[0]).env as string[];
  for (const name of ["GITHUB_TOKEN", "my_Api_Key", "DB_PASSWORD", "HTTP_AUTHORIZATION"]) {
    assert(env.includes(`${name}=[REDACTED]`), name);
  }
  assert(env.includes("SESSION_COOKIE=[REDACTED]"));
  assert(env.includes("PLAIN=visible"));
  assert(!JSON.stringify(events).includes("ghp_secret"));
});

Deno.test("CONTAINAI_AUDIT_REDACT replaces the secret-name patterns", async () => {
  await using collector = await startTestCollector();
  const result = await runUnderShim(["/bin/sh", "-c", "/bin/true"], {
    socket: collector.socket,
    session: "redact-custom",
    env: { CONTAINAI_AUDIT_REDACT: "internal,zone", INTERNAL_URL: "u", MY_TOKEN: "t", ZONE: "z" },
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await collector.waitForEvents(
    "redact-custom",
    (e) => eventsOf(e, "Exec").length >= 1,
  );
  const env = payloadOf(eventsOf(events, "Exec")[0]).env as string[];
  assert(env.includes("INTERNAL_URL=[REDACTED]"));
  assert(env.includes("ZONE=[REDACTED]"));
  assert(env.includes("MY_TOKEN=t"));
});

Deno.test("CONTAINAI_AUDIT_REDACT patterns may be separated by a comma and spaces", async () => {
  await using collector = await startTestCollector();
  const result = await runUnderShim(["/bin/sh", "-c", "/bin/true"], {
    socket: collector.socket,
    session: "redact-spaces",
    env: { CONTAINAI_AUDIT_REDACT: "internal, zone ", INTERNAL_URL: "u", ZONE_ID: "z" },
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await collector.waitForEvents(
    "redact-spaces",
    (e) => eventsOf(e, "Exec").length >= 1,
  );
  const env = payloadOf(eventsOf(events, "Exec")[0]).env as string[];
  assert(env.includes("INTERNAL_URL=[REDACTED]"));
  assert(env.includes("ZONE_ID=[REDACTED]"), env.join(" "));
});

Deno.test("CONTAINAI_AUDIT_OPEN_EXCLUDE leaves out opens under the listed prefixes", async () => {
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-exclude-");
  const dir = temp.path;
  await Deno.writeTextFile(join(dir, "kept"), "");
  const result = await runUnderShim(
    ["/bin/sh", "-c", `cat /etc/hostname /proc/self/status ${join(dir, "kept")} > /dev/null`],
    {
      socket: collector.socket,
      session: "exclude",
      env: { CONTAINAI_AUDIT_OPEN_EXCLUDE: "/etc/:/proc/" },
    },
  );
  assertEquals(result.code, 0, result.stderr);
  const events = await collector.waitForEvents(
    "exclude",
    (e) => eventsOf(e, "Open").some((x) => payloadOf(x).path === join(dir, "kept")),
  );
  const paths = eventsOf(events, "Open").map((x) => String(payloadOf(x).path));
  assert(!paths.some((p) => p.startsWith("/etc/") || p.startsWith("/proc/")), paths.join());
  assert(paths.includes("/dev/null"));
});

Deno.test("the shim's Zig unit tests pass (JSON escaping, timestamps, flags, addresses, env)", async () => {
  const zig = await findZig();
  const out = await new Deno.Command(zig.program, {
    args: [...zig.prefix, "build", "test", "--summary", "all"],
    cwd: new URL("../../shim/", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  assert(out.success, text);
  assert(/\d+\/\d+ tests passed/.test(text), text);
});
