import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_CONFIG, resolveConfig } from "../../collector/mod.ts";
import { CONFIG_FLAGS } from "../../collector/config.ts";
import { collectorAnswers, startCollectorProcess } from "../../collector/mod.ts";
import { execEvent, send, toLines } from "./helpers.ts";
import { readJsonLines } from "../support/collector.ts";
import { withTempDir } from "../support/temp_dir.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
/** The permissions of `deno task collect` (deno.json), so the launcher is tested under them. */
const LAUNCHER_FLAGS = ["--allow-env", "--allow-read", "--allow-write", "--allow-run"];

function collect(args: string[], options: { env?: Record<string, string> } = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...LAUNCHER_FLAGS, MAIN, "collect", ...args],
    // Blank unless a test sets them, so the runner's own environment cannot leak in.
    env: { CONTAINAI_AUDIT_SOCKET: "", CONTAINAI_AUDIT_LOG_DIR: "", ...options.env },
    stdout: "piped",
    stderr: "piped",
  });
}

async function printConfig(
  args: string[],
  env: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const out = await collect([...args, "--print-config"], { env }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Runs `collect` with `args`, asserts that it refuses them (exit code 2); returns its stderr. */
async function refusal(args: string[]): Promise<string> {
  const out = await collect(args).output();
  assert.equal(out.code, 2);
  return new TextDecoder().decode(out.stderr);
}

Deno.test("--print-config shows the embedded defaults when nothing is given", async () => {
  assert.deepEqual(await printConfig([]), { ...DEFAULT_CONFIG });
});

Deno.test("flags beat the environment, which beats the config file, which beats the defaults", async () => {
  await withTempDir("collector-config-", async (dir) => {
    const file = join(dir, "collector.jsonc");
    await Deno.writeTextFile(
      file,
      `{
        // JSONC: comments and trailing commas are fine
        "socket": "/from/file.sock",
        "logDir": "/from/file-logs",
        "maxOpenFiles": 32,
        "fsyncIntervalMs": 250,
      }`,
    );
    const config = await printConfig(
      ["--config", file, "--log-dir", "/from/flag-logs", "--fsync-interval-ms", "0"],
      { CONTAINAI_AUDIT_SOCKET: "/from/env.sock", CONTAINAI_AUDIT_LOG_DIR: "/from/env-logs" },
    );

    assert.equal(config.socket, "/from/env.sock");
    assert.equal(config.logDir, "/from/flag-logs");
    assert.equal(config.fsyncIntervalMs, 0);
    assert.equal(config.maxOpenFiles, 32);
    assert.equal(config.maxLineBytes, DEFAULT_CONFIG.maxLineBytes);
  });
});

Deno.test("a config file setting of the wrong type is refused with exit code 2 naming the field", async () => {
  await withTempDir("collector-config-", async (dir) => {
    const file = join(dir, "collector.jsonc");
    await Deno.writeTextFile(file, '{ "maxOpenFiles": "many" }');
    assert.match(await refusal(["--config", file, "--print-config"]), /maxOpenFiles/);
  });
});

Deno.test("an unknown config file setting is refused, so typos do not pass silently", async () => {
  await withTempDir("collector-config-", async (dir) => {
    const file = join(dir, "collector.jsonc");
    await Deno.writeTextFile(file, '{ "maxOpenFile": 3 }');
    assert.match(await refusal(["--config", file, "--print-config"]), /maxOpenFile/);
  });
});

Deno.test("a config file that is not JSONC is refused with the line of the error", async () => {
  await withTempDir("collector-config-", async (dir) => {
    const file = join(dir, "collector.jsonc");
    await Deno.writeTextFile(file, '{\n  "maxOpenFiles": 3\n  "socket": "/x"\n}');
    assert.match(
      await refusal(["--config", file, "--print-config"]),
      /not valid JSONC: .* at line 3/,
    );
  });
});

Deno.test("a non-numeric value for a numeric flag is refused with exit code 2", async () => {
  assert.match(
    await refusal(["--max-connections", "lots", "--print-config"]),
    /--max-connections takes a whole number/,
  );
});

Deno.test("an unknown flag is refused with exit code 2", async () => {
  assert.match(await refusal(["--sockett", "/x"]), /sockett/);
});

Deno.test("main.ts collect serves any given paths, creates them, and exits 0 on a forwarded SIGTERM", async () => {
  await withTempDir("collector-config-", async (dir) => {
    const socket = join(dir, "deep", "run", "audit.sock");
    const logDir = join(dir, "deep", "logs");
    const child = collect(["--socket", socket, "--log-dir", logDir]).spawn();
    const deadline = Date.now() + 10_000;
    while (!(await collectorAnswers(socket))) {
      assert.ok(Date.now() < deadline, "collector did not come up");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await send(socket, toLines([execEvent("via-launcher", 0)]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill("SIGTERM");
    const out = await child.output();

    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const events = await readJsonLines(join(logDir, "session-via-launcher.jsonl"));
    assert.equal(events.length, 1);
    await assert.rejects(Deno.lstat(socket), Deno.errors.NotFound);
  });
});

Deno.test("startCollectorProcess applies a JSONC config file, with its socket and logDir taking precedence", async () => {
  await withTempDir("collector-config-", async (dir) => {
    const configPath = join(dir, "collector.jsonc");
    await Deno.writeTextFile(
      configPath,
      '{ "socketMode": "0600", "socket": "/nowhere/x.sock", "logDir": "/nowhere/logs" }',
    );
    const collector = await startCollectorProcess({
      socket: join(dir, "audit.sock"),
      logDir: join(dir, "logs"),
      configPath,
      onStderr: () => {},
    });
    try {
      assert.equal(collector.socket, join(dir, "audit.sock"));
      assert.equal((await Deno.lstat(collector.socket)).mode! & 0o777, 0o600);
    } finally {
      assert.equal(await collector.stop(), 0);
    }
  });
});

Deno.test("a socket path longer than sockaddr_un allows is refused before anything starts", () => {
  const socket = `/tmp/${"s".repeat(120)}.sock`;
  assert.throws(
    () => resolveConfig({ flags: { socket } }),
    /socket path must be at most 107 bytes/,
  );
});

Deno.test("relative paths are made absolute against the working directory", () => {
  const config = resolveConfig({ flags: { socket: "run/audit.sock", logDir: "logs" } });
  assert.equal(config.socket, join(Deno.cwd(), "run/audit.sock"));
  assert.equal(config.logDir, join(Deno.cwd(), "logs"));
});

Deno.test("--help lists every setting's flag with its default and exits 0", async () => {
  const out = await collect(["--help"]).output();
  const help = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0);
  for (const [flag, key] of CONFIG_FLAGS) {
    assert.match(help, new RegExp(`--${flag} .*\\(default ${DEFAULT_CONFIG[key]}\\)`));
  }
});

Deno.test("a log dir that cannot be created is refused with exit code 1 and a one-line reason", async () => {
  await withTempDir("collector-config-", async (dir) => {
    await Deno.writeTextFile(join(dir, "a-file"), "");
    const logDir = join(dir, "a-file", "logs");

    const out = await collect(["--socket", join(dir, "a.sock"), "--log-dir", logDir]).output();

    assert.equal(out.code, 1);
    assert.equal(
      new TextDecoder().decode(out.stderr),
      `collect: cannot create the log directory ${logDir}: ` +
        `Not a directory (os error 20): mkdir '${logDir}'\n`,
    );
  });
});

Deno.test("a socket dir that cannot be created is refused with exit code 1 and a one-line reason", async () => {
  await withTempDir("collector-config-", async (dir) => {
    await Deno.writeTextFile(join(dir, "a-file"), "");
    const socketDir = join(dir, "a-file", "run");

    const out = await collect(["--socket", join(socketDir, "a.sock"), "--log-dir", dir]).output();

    assert.equal(out.code, 1);
    assert.equal(
      new TextDecoder().decode(out.stderr),
      `collect: cannot create the socket directory ${socketDir}: ` +
        `Not a directory (os error 20): lstat '${socketDir}'\n`,
    );
  });
});
