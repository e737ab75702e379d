import assert from "node:assert/strict";
import { runIngest } from "../../bench/ingest.ts";
import { type IngestTarget, SOCAT_TARGET } from "../../bench/ingest_targets.ts";
import { startServer } from "../../bench/server.ts";

const quiet = (): void => {};

async function installed(program: string): Promise<boolean> {
  try {
    return (await new Deno.Command(program, { args: ["-V"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "an ingest run through socat counts every line the clients sent",
  ignore: !(await installed("socat")),
  fn: async () => {
    const result = await runIngest({
      events: 2000,
      clients: 4,
      rounds: 1,
      targets: [SOCAT_TARGET],
      log: quiet,
    });
    assert.equal(result.rows.length, 1);
    assert.equal(result.rows[0][0], SOCAT_TARGET.name);
    assert.ok(Number(result.rows[0][1].replaceAll(",", "")) > 0);
  },
});

Deno.test({
  name: "a server that loses lines fails the run with how many arrived",
  ignore: !(await installed("socat")),
  fn: async () => {
    const lossy: IngestTarget = {
      ...SOCAT_TARGET,
      name: "lossy",
      // Accepts everything and stores nothing.
      start: ({ socket }) =>
        Promise.resolve(
          startServer("socat", { args: ["-u", `UNIX-LISTEN:${socket},fork`, "/dev/null"] }),
        ),
    };
    await assert.rejects(
      runIngest({ events: 500, clients: 2, rounds: 1, targets: [lossy], stallMs: 300, log: quiet }),
      /lossy failed in round 1: only 0 of 500 lines arrived \(no progress for 0\.3 s\)/,
    );
  },
});

Deno.test("a server that exits before serving fails the run with its output", async () => {
  const broken: IngestTarget = {
    ...SOCAT_TARGET,
    name: "broken",
    start: () =>
      Promise.resolve(startServer("sh", { args: ["-c", "echo cannot bind >&2; exit 3"] })),
  };
  await assert.rejects(
    runIngest({ events: 100, clients: 1, rounds: 1, targets: [broken], log: quiet }),
    /broken failed to start: exited before serving .*cannot bind/s,
  );
});

Deno.test({
  name: "the syslog-ng configuration of the benchmark passes syslog-ng's syntax check",
  ignore: !(await installed("syslog-ng")),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const template = await Deno.readTextFile(
        new URL("../../bench/syslog-ng.conf", import.meta.url),
      );
      const config = `${dir}/syslog-ng.conf`;
      await Deno.writeTextFile(
        config,
        template.replaceAll("@SOCKET@", `${dir}/s`).replaceAll("@LOG_DIR@", dir),
      );
      const out = await new Deno.Command("syslog-ng", {
        args: ["--syntax-only", "--cfgfile", config],
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
