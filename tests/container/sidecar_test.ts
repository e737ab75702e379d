/**
 * Test 3 of the plan, for real: the image is built with podman (offline: local debootstrap base,
 * toolchains from the host), compose.yaml is brought up with podman-compose 1.6.0 (collector
 * sidecar, then the example agent running `ls` and `cat` under the runner), and the session log
 * on the host holds the Runner and Shim events. Skips only when podman cannot run containers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  buildImage,
  composeContainer,
  DOCKER_SEMANTICS_RUN_ARGS,
  findPodmanCompose,
  podman,
  podmanCompose,
  podmanUnavailableReason,
} from "../../container/mod.ts";

const IMAGE = "localhost/containai-audit:test";
const COLLECTOR_UID = 10001;
const SOCKET = "/run/containai/audit.sock";

const unavailable = await podmanUnavailableReason();
if (unavailable !== undefined) {
  console.warn(`tests/container: skipping the container launch test: ${unavailable}`);
}

type Stored = Record<string, unknown> & {
  metadata: { session_id: string; agent: string };
  source: string;
  event_type: string;
  payload: Record<string, unknown>;
};

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function sessionFiles(logDir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(logDir)) {
    if (/^session-.+\.jsonl$/.test(entry.name)) names.push(entry.name);
  }
  return names.sort();
}

async function readEvents(path: string): Promise<Stored[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line));
}

/**
 * The paths, among `paths`, that the container's user can write (probed inside the container):
 * a directory where it can create a file, or a regular file it can open for appending. Other
 * kinds (the /dev/null masks podman puts over /proc files) hold nothing and are not probed.
 */
async function writablePaths(container: string, paths: string[]): Promise<string[]> {
  const probe = [
    "for p do",
    '  if [ -d "$p" ]; then (: > "$p/.containai-write-probe") 2>/dev/null &&',
    '    rm -f "$p/.containai-write-probe" && echo "$p"',
    '  elif [ -f "$p" ]; then (: >> "$p") 2>/dev/null && echo "$p"; fi',
    "done; exit 0",
  ].join("\n");
  const { stdout } = await podman(["exec", container, "sh", "-c", probe, "sh", ...paths]);
  return stdout.split("\n").filter((line) => line.length > 0);
}

/** Mount points of the container, from its /proc/self/mountinfo (octal escapes decoded). */
async function mountPoints(container: string): Promise<string[]> {
  const { stdout } = await podman(["exec", container, "cat", "/proc/self/mountinfo"]);
  return stdout.split("\n").filter((line) => line.length > 0).map((line) =>
    line.split(" ")[4].replace(
      /\\([0-7]{3})/g,
      (_, octal) => String.fromCharCode(parseInt(octal, 8)),
    )
  );
}

Deno.test({
  name: "compose.yaml under podman-compose 1.6.0: the collector sidecar logs an agent's ls and cat",
  ignore: unavailable !== undefined,
  async fn(t) {
    await findPodmanCompose(); // fails, saying how to install it, before anything is started
    await buildImage(IMAGE);
    const project = `containai-test-${crypto.randomUUID().slice(0, 8)}`;
    const logDir = await Deno.makeTempDir({ prefix: "containai-container-logs-" });
    await Deno.chown(logDir, COLLECTOR_UID, COLLECTOR_UID);
    const env = { ...Deno.env.toObject(), CONTAINAI_IMAGE: IMAGE, CONTAINAI_LOG_DIR: logDir };
    try {
      // Only the collector gets Docker's read_only/ipc meaning; the agent keeps /dev/shm.
      await podmanCompose(["up", "-d", "collector"], {
        project,
        env,
        podmanRunArgs: DOCKER_SEMANTICS_RUN_ARGS,
      });
      const collector = await composeContainer(project, "collector");
      await waitFor("the collector's socket", async () => {
        const test = await podman(["exec", collector, "test", "-S", SOCKET], {
          allowFailure: true,
        });
        return test.code === 0 ? true : undefined;
      });

      await t.step("the collector container runs every process as uid 10001", async () => {
        const { stdout } = await podman(["top", collector, "user", "huser", "args"]);
        const rows = stdout.trim().split("\n").slice(1);
        assert.ok(rows.length >= 2, `expected the launcher and the served collector:\n${stdout}`);
        for (const row of rows) assert.match(row, /^containai\s+/, row);
        const status = await podman(["exec", collector, "cat", "/proc/1/status"]);
        assert.match(status.stdout, new RegExp(`^Uid:\\s+${COLLECTOR_UID}\\s`, "m"));
      });

      await t.step("the socket volume is containai's, 0770, and the socket 0660", async () => {
        const { stdout } = await podman([
          "exec",
          collector,
          "stat",
          "--format",
          "%n %U:%G %a",
          "/run/containai",
          SOCKET,
        ]);
        assert.deepEqual(stdout.trim().split("\n"), [
          "/run/containai containai:containai 770",
          `${SOCKET} containai:containai 660`,
        ]);
      });

      await t.step(
        "the collector container has a read-only root, no network and no capabilities",
        async () => {
          const format = "{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.NetworkMode}}";
          const inspect = await podman(["inspect", "--format", format, collector]);
          assert.equal(inspect.stdout.trim(), "true none");
          const status = (await podman(["exec", collector, "cat", "/proc/1/status"])).stdout;
          for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
            assert.match(status, new RegExp(`^${set}:\\s+0{16}$`, "m"), `${set} not empty`);
          }
          assert.match(status, /^NoNewPrivs:\s+1$/m);
          const links = await podman(["exec", collector, "ls", "/sys/class/net"]);
          assert.deepEqual(links.stdout.trim().split(/\s+/), ["lo"]);
        },
      );

      await t.step(
        "the collector can create files only in /mnt/logs and its socket volume",
        async () => {
          const mounts = await mountPoints(collector);
          const candidates = [
            ...new Set([
              ...mounts,
              "/",
              "/etc",
              "/tmp",
              "/var/tmp",
              "/run",
              "/home",
              "/opt/containai/app",
              "/opt/containai/deno-dir",
              "/usr/lib",
              "/usr/local/bin",
              "/dev/shm",
            ]),
          ];
          // /dev/mqueue holds POSIX message queues of the container's private IPC namespace:
          // kernel objects in memory that vanish with the container, not files.
          const writable = (await writablePaths(collector, candidates))
            .filter((dir) => dir !== "/dev/mqueue");
          assert.deepEqual(writable.sort(), ["/mnt/logs", "/run/containai"]);
        },
      );

      await t.step(
        "the served collector holds only its socket, its two dirs and read of its workers' code",
        async () => {
          const { stdout } = await podman([
            "exec",
            collector,
            "sh",
            "-c",
            "cat /proc/[0-9]*/cmdline | tr '\\0' ' '; echo",
          ]);
          const served = stdout.split(/(?=deno run)/).find((line) => line.includes("serve.ts"));
          assert.ok(served, `no served collector among the processes:\n${stdout}`);
          const permissions = served.split(" ").filter((arg) => arg.startsWith("--allow"));
          assert.deepEqual(permissions, [
            `--allow-net=unix:${SOCKET}`,
            "--allow-read=/run/containai,/mnt/logs," +
            "/opt/containai/app/collector/ingest_worker.ts," +
            "/opt/containai/app/collector/fast_ingest.ts," +
            "/opt/containai/app/collector/line_scanner/mod.ts," +
            "/opt/containai/app/collector/line_scanner/line_scanner_wasm.ts," +
            "/opt/containai/app/protocol/fast_validate.ts",
            "--allow-write=/run/containai,/mnt/logs",
          ]);
          assert.ok(served.includes("--cached-only"), served);
        },
      );

      await t.step(
        "ls and cat run under the runner in the agent container reach the host's session log",
        async () => {
          const command = "ls /opt/containai/app >/dev/null && cat /etc/os-release >/dev/null";
          await podmanCompose(["run", "-T", "--rm", "agent", "sh", "-c", command], {
            project,
            env,
          });
          const [file] = await waitFor("one session file", async () => {
            const files = await sessionFiles(logDir);
            return files.length === 1 ? files : undefined;
          });
          const events = await waitFor("the runner's Exit event", async () => {
            const events = await readEvents(join(logDir, file));
            const done = events.some((e) => e.source === "Runner" && e.event_type === "Exit");
            return done ? events : undefined;
          });
          const sessionId = file.slice("session-".length, -".jsonl".length);
          for (const event of events) assert.equal(event.metadata.session_id, sessionId);
          const [first] = events;
          assert.deepEqual([first.source, first.event_type], ["Runner", "Exec"]);
          assert.deepEqual(first.payload.argv, ["sh", "-c", command]);
          const shimExecs = events.filter((e) => e.source === "Shim" && e.event_type === "Exec")
            .map((e) => String(e.payload.path));
          assert.ok(shimExecs.some((path) => path.endsWith("/ls")), shimExecs.join(", "));
          assert.ok(shimExecs.some((path) => path.endsWith("/cat")), shimExecs.join(", "));
          const opened = events.filter((e) => e.source === "Shim" && e.event_type === "Open")
            .map((e) => String(e.payload.path));
          assert.ok(opened.includes("/etc/os-release"), opened.join(", "));
          const exit = events.find((e) => e.source === "Runner" && e.event_type === "Exit");
          assert.equal(exit?.payload.exit_code, 0);
        },
      );

      await t.step("the agent command's exit status passes through the runner", async () => {
        const run = await podmanCompose(["run", "-T", "--rm", "agent", "sh", "-c", "exit 3"], {
          project,
          env,
          allowFailure: true,
        });
        assert.equal(run.code, 3, run.stderr);
      });

      await t.step(
        "the example policy, enforced in the agent container, denies reading /run/agent-secrets",
        async () => {
          const secrets = await Deno.makeTempDir({ prefix: "containai-agent-secrets-" });
          try {
            await Deno.writeTextFile(join(secrets, "token"), "s3cr3t\n");
            await Deno.chmod(secrets, 0o755);
            await Deno.chmod(join(secrets, "token"), 0o644);
            const catSecret = async (runner: string) =>
              await podmanCompose([
                "run",
                "-T",
                "--rm",
                "--volume",
                `${secrets}:/run/agent-secrets:ro`,
                "--entrypoint",
                `containai-run ${runner} --`,
                "agent",
                "cat",
                "/run/agent-secrets/token",
              ], { project, env, allowFailure: true });
            const open = await catSecret("--session policy-off");
            assert.equal(open.code, 0, open.stderr);
            assert.equal(open.stdout.trim(), "s3cr3t");
            const policy = "/opt/containai/app/examples/policy.jsonc";
            const denied = await catSecret(`--session policy-on --policy ${policy}`);
            assert.notEqual(denied.code, 0);
            assert.ok(!denied.stdout.includes("s3cr3t"), denied.stdout);
            const events = await waitFor("the shim's Deny event", async () => {
              const path = join(logDir, "session-policy-on.jsonl");
              const events = await readEvents(path).catch(() => []);
              return events.some((e) => e.event_type === "Deny") ? events : undefined;
            });
            const deny = events.find((e) => e.event_type === "Deny");
            assert.equal(deny?.source, "Shim");
            assert.equal(deny?.payload.action, "Open");
            assert.equal(deny?.payload.target, "/run/agent-secrets/token");
            assert.equal(deny?.payload.rule, "agent-secrets");
            assert.equal(deny?.payload.enforced, true);
          } finally {
            await Deno.remove(secrets, { recursive: true });
          }
        },
      );

      await t.step("stopping the collector container drains it and exits 0", async () => {
        await podmanCompose(["stop", "--timeout", "20", "collector"], { project, env });
        const { stdout } = await podman(["inspect", "--format", "{{.State.ExitCode}}", collector]);
        assert.equal(stdout.trim(), "0");
      });
    } finally {
      await podmanCompose(["down", "--volumes", "--timeout", "5"], {
        project,
        env,
        allowFailure: true,
      });
      await Deno.remove(logDir, { recursive: true });
    }
  },
});
