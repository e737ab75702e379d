import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import {
  chooseCapture,
  classifyWsl,
  probeEnvironment,
  type ProbeResult,
  seccompTrapPossible,
} from "../../ffi/mod.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const PRINT_PROBE = new URL("./fixtures/print_probe.ts", import.meta.url).pathname;
const MISSING_LIBC = "libcontainai-does-not-exist.so.6";

interface FakeProc {
  osrelease?: string;
  version?: string;
  status?: string;
}

/** Builds a simulated /proc tree with only the files the probe reads. */
async function makeProc(files: FakeProc): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "probe-proc-" });
  await Deno.mkdir(`${root}/sys/kernel`, { recursive: true });
  await Deno.mkdir(`${root}/self`);
  if (files.osrelease !== undefined) {
    await Deno.writeTextFile(`${root}/sys/kernel/osrelease`, files.osrelease);
  }
  if (files.version !== undefined) await Deno.writeTextFile(`${root}/version`, files.version);
  if (files.status !== undefined) await Deno.writeTextFile(`${root}/self/status`, files.status);
  return root;
}

async function withProc(files: FakeProc, body: (root: string) => void): Promise<void> {
  const root = await makeProc(files);
  try {
    body(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function statusField(name: string): string {
  const line = Deno.readTextFileSync("/proc/self/status").split("\n")
    .find((entry) => entry.startsWith(`${name}:`));
  assert(line !== undefined, `/proc/self/status has no ${name} line`);
  return line.slice(name.length + 1).trim();
}

Deno.test("a WSL2 kernel in osrelease and /proc/version is detected and keeps the shim", async () => {
  await withProc({
    osrelease: "5.15.153.1-microsoft-standard-WSL2\n",
    version: "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@1) (gcc 11.2.0) #1 SMP\n",
  }, (procRoot) => {
    const probe = probeEnvironment({ procRoot });
    assertEquals(probe.kernel_release, {
      value: "5.15.153.1-microsoft-standard-WSL2",
      source: "proc",
    });
    assertEquals(probe.wsl.value, "wsl2");
    const decision = chooseCapture(probe);
    assertEquals(decision.mode, "shim");
    assertMatch(decision.reason, /^WSL2 kernel/);
    assertEquals(seccompTrapPossible(probe), false);
  });
});

Deno.test("a WSL2 kernel is detected from /proc/version alone when osrelease is missing", async () => {
  await withProc(
    { version: "Linux version 6.6.36.3-microsoft-standard-WSL2 (x) #1 SMP" },
    (procRoot) => {
      const probe = probeEnvironment({ procRoot });
      assertEquals(probe.wsl, { value: "wsl2", source: "proc", detail: "from version" });
      assertEquals(probe.kernel_release.value, "unknown");
      assertMatch((probe.kernel_release as { reason: string }).reason, /osrelease/);
    },
  );
});

Deno.test("a WSL1 kernel release is told apart from WSL2", async () => {
  await withProc({
    osrelease: "4.4.0-19041-Microsoft",
    version:
      "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc 5.4.0) #1237-Microsoft",
  }, (procRoot) => {
    const probe = probeEnvironment({ procRoot });
    assertEquals(probe.wsl.value, "wsl1");
    assertMatch(chooseCapture(probe).reason, /^WSL1 has no seccomp/);
  });
});

Deno.test("a plain Linux kernel is not WSL", () => {
  assertEquals(classifyWsl("6.18.44-fc-v595"), "none");
  assertEquals(
    classifyWsl("Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)"),
    "none",
  );
});

Deno.test("a failed dlopen falls back to self/status for seccomp mode and no_new_privs", async () => {
  await withProc({
    osrelease: "6.1.0-18-amd64",
    version: "Linux version 6.1.0-18-amd64",
    status: "Name:\tagent\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n",
  }, (procRoot) => {
    const probe = probeEnvironment({ procRoot, libc: MISSING_LIBC });
    assertEquals(probe.seccomp_mode, {
      value: "filter",
      source: "proc",
      detail: "self/status Seccomp",
    });
    assertEquals(probe.no_new_privs, {
      value: true,
      source: "proc",
      detail: "self/status NoNewPrivs",
    });
    assertEquals(probe.user_notification.value, "unknown");
    assertMatch((probe.user_notification as { reason: string }).reason, /cannot open libcontainai/);
    assertEquals(probe.filter_install.value, "unknown");
    assertMatch(chooseCapture(probe).reason, /^seccomp user notification unknown \(cannot open/);
  });
});

Deno.test("a failed dlopen with an empty /proc gives unknown everywhere instead of throwing", async () => {
  await withProc({}, (procRoot) => {
    const probe = probeEnvironment({ procRoot, libc: MISSING_LIBC });
    const findings = [
      probe.kernel_release,
      probe.wsl,
      probe.seccomp_mode,
      probe.no_new_privs,
      probe.user_notification,
      probe.filter_install,
    ];
    for (const finding of findings) {
      assertEquals(finding.value, "unknown");
      assert("reason" in finding && finding.reason.length > 0);
    }
    assertEquals(chooseCapture(probe).mode, "shim");
  });
});

Deno.test("an architecture without a known seccomp syscall number gives unknown", () => {
  const probe = probeEnvironment({ arch: "riscv64" });
  assertEquals(probe.user_notification, {
    value: "unknown",
    reason: "no seccomp syscall number known for riscv64",
  });
  assertEquals(probe.filter_install.value, "unknown");
});

Deno.test("seccomp mode and no_new_privs from prctl agree with /proc/self/status", () => {
  const probe = probeEnvironment();
  const modes = ["disabled", "strict", "filter"];
  assertEquals(probe.seccomp_mode.value, modes[Number(statusField("Seccomp"))]);
  assertEquals(probe.seccomp_mode.value === "unknown", false);
  assertEquals(probe.no_new_privs.value, statusField("NoNewPrivs") === "1");
});

Deno.test("probing whether a filter can be installed installs none", () => {
  const before = statusField("Seccomp_filters");
  const probe = probeEnvironment();
  assert(probe.filter_install.value !== "unknown", JSON.stringify(probe.filter_install));
  assertEquals(statusField("Seccomp_filters"), before);
});

async function probeJson(prefix: string[], denoFlags: string[]): Promise<ProbeResult> {
  const [program, ...args] = [...prefix, Deno.execPath(), "run", ...denoFlags, PRINT_PROBE];
  const output = await new Deno.Command(program, { args, stderr: "inherit" }).output();
  assertEquals(output.code, 0);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

const isRoot = Deno.uid() === 0;

Deno.test({
  name: "a process without CAP_SYS_ADMIN or no_new_privs is told it needs no_new_privs",
  ignore: !isRoot,
  async fn() {
    const probe = await probeJson(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], [
      "--allow-ffi",
    ]);
    assertEquals(probe.no_new_privs.value, false);
    assertEquals(probe.filter_install.value, "requires_no_new_privs");
  },
});

Deno.test({
  name: "a process with no_new_privs set may install a filter",
  ignore: !isRoot,
  async fn() {
    const probe = await probeJson([
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "--no-new-privs",
    ], ["--allow-ffi"]);
    assertEquals(probe.no_new_privs, { value: true, source: "prctl" });
    assertEquals(probe.filter_install.value, "allowed");
  },
});

Deno.test("probe without the ffi permission reports unknown with the flag to add", async () => {
  const probe = await probeJson([], []);
  assertEquals(probe.user_notification, {
    value: "unknown",
    reason: "no FFI permission to open libc.so.6 (run with --allow-ffi)",
  });
});

Deno.test("probe --json prints the probe, the capture decision and trap possibility", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", MAIN, "probe", "--json"],
  }).output();
  assertEquals(output.code, 0);
  const report = JSON.parse(new TextDecoder().decode(output.stdout));
  assertEquals(Object.keys(report), ["probe", "capture", "seccomp_trap_possible"]);
  assertEquals(report.capture.mode, "shim");
  assertEquals(report.seccomp_trap_possible, seccompTrapPossible(report.probe));
});

Deno.test("probe prints a table with the capture mode and its reason", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", MAIN, "probe"],
  }).output();
  assertEquals(output.code, 0);
  const text = new TextDecoder().decode(output.stdout);
  assertMatch(text, /^user notification\s+(true|false)\s+seccomp/m);
  assertMatch(text, /^kernel release\s+\S+\s+proc$/m);
  assertMatch(text, /^capture mode: shim$/m);
  assertMatch(text, /^reason: .+LD_PRELOAD shim/m);
});
