import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveConfig, servePermissionFlags } from "../../collector/mod.ts";
import { INGEST_WORKER_FILES, serveCommandArgs } from "../../collector/serve_command.ts";
import { startTestCollector } from "../support/collector.ts";

Deno.test("the served collector reports only its socket and its directories as granted", async () => {
  await using collector = await startTestCollector();
  const startup = await collector.waitForLog(/collector listening/);
  const permissions = JSON.parse(startup).permissions;

  assert.deepEqual(permissions, {
    "net(any)": "prompt",
    "net(socket)": "granted",
    "read(/)": "prompt",
    "write(/)": "prompt",
    "write(logDir)": "granted",
    "read(logDir)": "granted",
    run: "prompt",
    ffi: "prompt",
    sys: "prompt",
    env: "prompt",
  });
});

Deno.test("the served command carries no unscoped or broad permission flag", () => {
  const config = resolveConfig({ flags: { socket: "/run/containai/audit.sock", logDir: "/logs" } });
  const flags = serveCommandArgs(config).filter((arg) => arg.startsWith("-"));
  const allows = flags.filter((flag) => flag.startsWith("--allow"));

  assert.deepEqual(allows, [
    "--allow-net=unix:/run/containai/audit.sock",
    `--allow-read=/run/containai,/logs,${INGEST_WORKER_FILES.join(",")}`,
    "--allow-write=/run/containai,/logs",
  ]);
  assert.ok(!flags.some((flag) => flag === "-A" || flag.startsWith("--allow-all")));
});

Deno.test("the only source files the served collector may read are the ingest worker's five", async () => {
  const names = INGEST_WORKER_FILES.map((file) => file.split("/").slice(-2).join("/"));
  assert.deepEqual(names, [
    "collector/ingest_worker.ts",
    "collector/fast_ingest.ts",
    "line_scanner/mod.ts",
    "line_scanner/line_scanner_wasm.ts",
    "protocol/fast_validate.ts",
  ]);
  for (const file of INGEST_WORKER_FILES) assert.ok((await Deno.stat(file)).isFile, file);
});

Deno.test("the served collector's ingest worker may read its own source and nothing else", async () => {
  await using collector = await startTestCollector();
  const line = await collector.waitForLog(/ingest worker running/);

  assert.deepEqual(JSON.parse(line).permissions, {
    "read(own source)": "granted",
    "read(/)": "prompt",
    "write(/)": "prompt",
    net: "prompt",
    run: "prompt",
    ffi: "prompt",
    sys: "prompt",
    env: "prompt",
  });
});

Deno.test("the served collector's ingest workers run the WebAssembly line scanner with those permissions", async () => {
  await using collector = await startTestCollector();
  const line = await collector.waitForLog(/ingest worker running/);

  assert.equal(JSON.parse(line).lineScanner, "ready");
});

Deno.test("a program run with the collector's flags can write in the log dir and nowhere else", async () => {
  const dir = await Deno.makeTempDir({ prefix: "collector-perm-" });
  try {
    const config = resolveConfig({
      flags: { socket: join(dir, "run", "audit.sock"), logDir: join(dir, "logs") },
    });
    await Deno.mkdir(config.logDir);
    await Deno.mkdir(join(dir, "run"));
    const probe = join(dir, "probe.ts");
    await Deno.writeTextFile(
      probe,
      `const attempt = async (f) => { try { await f(); return "allowed"; } catch (e) { return e.name; } };
console.log(JSON.stringify({
  writeLogDir: await attempt(() => Deno.writeTextFile(${
        JSON.stringify(join(config.logDir, "ok"))
      }, "x")),
  writeOutside: await attempt(() => Deno.writeTextFile(${
        JSON.stringify(join(dir, "outside"))
      }, "x")),
  writeEscape: await attempt(() => Deno.writeTextFile(${
        JSON.stringify(join(config.logDir, "..", "escape"))
      }, "x")),
  readEtc: await attempt(() => Deno.readTextFile("/etc/hostname")),
  readOtherSource: await attempt(() => Deno.readTextFile(${
        JSON.stringify(new URL("../../collector/config.ts", import.meta.url).pathname)
      })),
  readWorkerSource: await attempt(() => Deno.readTextFile(${
        JSON.stringify(INGEST_WORKER_FILES[0])
      })),
  run: await attempt(() => new Deno.Command("true").output()),
  env: await attempt(() => Deno.env.get("HOME")),
  netTcp: await attempt(() => Deno.connect({ hostname: "127.0.0.1", port: 9 })),
}));`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-config", ...servePermissionFlags(config), probe],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));

    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
      writeLogDir: "allowed",
      writeOutside: "NotCapable",
      writeEscape: "NotCapable",
      readEtc: "NotCapable",
      readOtherSource: "NotCapable",
      readWorkerSource: "allowed",
      run: "NotCapable",
      env: "NotCapable",
      netTcp: "NotCapable",
    });
    await assert.rejects(Deno.lstat(join(dir, "outside")), Deno.errors.NotFound);
    await assert.rejects(Deno.lstat(join(dir, "escape")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("paths with a comma are refused with a message, since permission flags cannot hold them", () => {
  const config = resolveConfig({ flags: { socket: "/tmp/a,b/audit.sock", logDir: "/logs" } });
  assert.throws(() => servePermissionFlags(config), /contains a comma/);
});
