/**
 * Completeness against the kernel's view: every successful execve and every connect that
 * `strace -f` sees in real programs (git, a gcc compile, python spawning children and
 * connecting) is in the session log with the same argv or destination. Excepted, by name: the
 * first execve (strace starting the command, before the shim is loaded), connects glibc makes
 * internally (nscd), and the shim's own connections to the collector.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { startTestCollector, type StoredLine } from "../support/collector.ts";
import {
  eventsOf,
  payloadOf,
  requireProgram,
  shimEnv,
  waitForShimEvents,
} from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";

interface Traced {
  execs: string[][];
  connects: { family: string; address: string; port?: number }[];
}

/** Reads one C string literal as strace prints it, starting at text[i] === '"'. */
function cString(text: string, start: number): { value: string; end: number } {
  const bytes: number[] = [];
  let i = start + 1;
  while (i < text.length && text[i] !== '"') {
    if (text[i] !== "\\") {
      bytes.push(...new TextEncoder().encode(text[i]));
      i++;
      continue;
    }
    const c = text[i + 1];
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '"': 34, "\\": 92 };
    if (c in simple) {
      bytes.push(simple[c]);
      i += 2;
    } else if (c === "x") {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 4;
    } else {
      const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
      bytes.push(parseInt(octal, 8));
      i += 1 + octal.length;
    }
  }
  return { value: new TextDecoder().decode(new Uint8Array(bytes)), end: i + 1 };
}

/** argv of `execve("path", ["a", "b"], ...` lines. */
function parseArgv(call: string): string[] {
  let i = call.indexOf("[", call.indexOf('",') + 1) + 1;
  const argv: string[] = [];
  while (call[i] === '"') {
    const s = cString(call, i);
    argv.push(s.value);
    i = s.end;
    if (call.startsWith(", ", i)) i += 2;
  }
  return argv;
}

/** Joins `<unfinished ...>` / `<... resumed>` halves, then collects successful calls. */
function parseTrace(text: string): Traced {
  const pending = new Map<string, string>();
  const calls: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, pid, rest] = m;
    if (rest.endsWith("<unfinished ...>")) {
      pending.set(pid, rest.slice(0, -"<unfinished ...>".length));
    } else if (rest.startsWith("<...")) {
      calls.push((pending.get(pid) ?? "") + rest.replace(/^<\.\.\. \w+ resumed>/, ""));
      pending.delete(pid);
    } else {
      calls.push(rest);
    }
  }
  const traced: Traced = { execs: [], connects: [] };
  for (const call of calls) {
    if (call.startsWith("execve(") && / = 0$/.test(call)) traced.execs.push(parseArgv(call));
    if (call.startsWith("connect(")) {
      const family = /sa_family=(AF_\w+)/.exec(call)?.[1] ?? "";
      const port = /sin6?_port=htons\((\d+)\)/.exec(call)?.[1];
      const inet = /inet_addr\("([^"]+)"\)/.exec(call) ??
        /inet_pton\(AF_INET6, "([^"]+)"/.exec(call);
      const unix = /sun_path=(@?"(?:[^"\\]|\\.)*")/.exec(call);
      let address = inet?.[1] ?? "";
      if (unix) {
        const abstract = unix[1].startsWith("@");
        address = (abstract ? "@" : "") + cString(unix[1], abstract ? 1 : 0).value;
      }
      traced.connects.push({ family, address, ...(port ? { port: Number(port) } : {}) });
    }
  }
  return traced;
}

async function crossCheck(
  session: string,
  command: string[],
  options: { cwd?: string; predicate?: (events: StoredLine[]) => boolean } = {},
): Promise<{ traced: Traced; events: StoredLine[] }> {
  requireProgram("strace", "apt-get install strace");
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-strace-");
  const dir = temp.path;
  const trace = join(dir, "trace");
  const env = await shimEnv({ socket: collector.socket, session });
  // strace itself runs without the shim; -E gives the traced command the shim's variables.
  const injected = Object.entries(env).flatMap(([k, v]) => ["-E", `${k}=${v}`]);
  const out = await new Deno.Command("strace", {
    args: [
      "-f",
      "-v",
      "-s",
      "65536",
      "-e",
      "trace=execve,connect",
      "-o",
      trace,
      ...injected,
      "--",
      ...command,
    ],
    cwd: options.cwd,
    env: { PATH: env.PATH, HOME: env.HOME },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const traced = parseTrace(await Deno.readTextFile(trace));
  // The first execve is strace starting the command: the shim is not loaded yet.
  traced.execs.shift();
  // glibc's internal connects (nscd) and the shim's own connections are not program connects.
  traced.connects = traced.connects.filter((c) =>
    c.address !== collector.socket && !c.address.startsWith("/var/run/nscd/") &&
    !c.address.startsWith("/run/nscd/")
  );
  const events = await waitForShimEvents(collector, session, (events) => {
    const seen = new Set(eventsOf(events, "Exec").map((e) => JSON.stringify(payloadOf(e).argv)));
    return traced.execs.every((argv) => seen.has(JSON.stringify(argv))) &&
      eventsOf(events, "Connect").length >= traced.connects.length;
  }, { timeoutMs: 20_000 });
  return { traced, events };
}

function assertAllExecsLogged(traced: Traced, events: StoredLine[]): void {
  const logged = new Set(eventsOf(events, "Exec").map((e) => JSON.stringify(payloadOf(e).argv)));
  const missing = traced.execs.filter((argv) => !logged.has(JSON.stringify(argv)));
  assertEquals(missing, []);
}

function assertAllConnectsLogged(traced: Traced, events: StoredLine[]): void {
  const logged = eventsOf(events, "Connect").map(payloadOf).map((p) =>
    JSON.stringify({ family: p.family, address: p.address, ...(p.port ? { port: p.port } : {}) })
  );
  for (const connect of traced.connects) {
    assert(logged.includes(JSON.stringify(connect)), `${JSON.stringify(connect)} not in log`);
  }
}

Deno.test("strace cross-check: every execve git makes is in the log", async () => {
  await using temp = await tempDir("shim-git-");
  const dir = temp.path;
  const script = "git init -q repo && cd repo && echo x > f && git add f && " +
    "git -c user.name=t -c user.email=t@t commit -qm one && git log --oneline | cat && " +
    "git status --short";
  const { traced, events } = await crossCheck("strace-git", ["/bin/sh", "-c", script], {
    cwd: dir,
  });
  assert(traced.execs.length >= 5, `${traced.execs.length} execs traced`);
  assertAllExecsLogged(traced, events);
});

Deno.test("strace cross-check: every execve of a gcc compile is in the log", async () => {
  await using temp = await tempDir("shim-gcc-");
  const dir = temp.path;
  await Deno.writeTextFile(join(dir, "hello.c"), "int main(void) { return 0; }\n");
  const { traced, events } = await crossCheck("strace-gcc", ["gcc", "-o", "hello", "hello.c"], {
    cwd: dir,
  });
  assert(traced.execs.some((argv) => argv[0].endsWith("cc1")), "cc1 ran");
  assertAllExecsLogged(traced, events);
});

Deno.test("strace cross-check: python's children and connects are in the log", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })().catch(() => {});
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const script = [
      "import os, socket, subprocess",
      "subprocess.run(['true', 'a'])",
      "subprocess.run('echo b | cat > /dev/null', shell=True)",
      `socket.create_connection(('127.0.0.1', ${port})).close()`,
      "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
      "u.connect(('127.0.0.1', 9))",
      "u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)",
      "u6.connect(('::1', 9))",
      "s = socket.socket(socket.AF_UNIX)",
      "s.connect_ex('\\0shim-abstract-test')",
    ].join("\n");
    const { traced, events } = await crossCheck("strace-python", ["python3", "-c", script]);
    assert(traced.connects.length >= 4, JSON.stringify(traced.connects));
    assert(traced.connects.some((c) => c.family === "AF_INET6" && c.address === "::1"));
    assertAllExecsLogged(traced, events);
    assertAllConnectsLogged(traced, events);
  } finally {
    listener.close();
    await accepting;
  }
});
