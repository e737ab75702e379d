import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { startTestCollector } from "../support/collector.ts";
import { baseEnv, collectorFlags, readUntil, runTaskFlags, testShim } from "./helpers.ts";
import { tempDir } from "../support/temp_dir.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** util-linux `script` makes the pseudo-terminal; without it these tests cannot run. */
const SCRIPT_MISSING = (() => {
  try {
    new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
    return false;
  } catch {
    console.warn(
      "pty tests skipped: util-linux `script` is not installed (apt-get install util-linux)",
    );
    return true;
  }
})();

/**
 * A bash script that traps SIGINT and prints `ready`, then waits (up to 30 s, however slow the
 * machine) until the Ctrl-C has arrived, keeps running 0.5 s more so that a second delivery would
 * show, and ends with `last`.
 */
function interruptible(last: string): string {
  return 'trap "echo got-int; got=1" INT; echo ready; i=0; ' +
    'while [ -z "$got" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; ' +
    `sleep 0.5; ${last}`;
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

/**
 * Runs `main.ts run ARGS` inside a pseudo-terminal made by util-linux
 * `script`, whose stdin we type into (it relays keystrokes to the pty).
 * `script` starts `$SHELL -c`; the shell is pinned and `exec`s the runner, so
 * the runner is the terminal's process, as when a user types `run` at a prompt
 * (dash would otherwise stay in between and die of the Ctrl-C itself).
 */
function spawnInPty(args: string[], env: Record<string, string> = baseEnv()): Deno.ChildProcess {
  const runner = [Deno.execPath(), "run", ...runTaskFlags(), MAIN, "run", ...args];
  const command = `exec ${runner.map(shellQuote).join(" ")}`;
  return new Deno.Command("script", {
    args: ["--quiet", "--return", "--command", command, "/dev/null"],
    env: { ...env, TERM: "dumb", SHELL: "/bin/sh" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function type(child: Deno.ChildProcess, text: string): Promise<void> {
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  writer.releaseLock();
}

async function finish(child: Deno.ChildProcess): Promise<number> {
  await child.stdin.close();
  const status = await child.status;
  await child.stderr.cancel();
  return status.code;
}

Deno.test(
  { name: "an interactive program reads the terminal through run", ignore: SCRIPT_MISSING },
  async () => {
    await using collector = await startTestCollector();
    const child = spawnInPty([
      ...(await collectorFlags(collector, "pty-read")),
      "--quiet",
      "--",
      "sh",
      "-c",
      'if [ -t 0 ] && [ -t 1 ]; then echo on-a-tty; fi; printf "name? "; read name; echo "hello $name"',
    ]);
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const prompt = await readUntil(reader, "name? ");
    assertMatch(prompt, /on-a-tty/);
    await type(child, "world\n");
    await readUntil(reader, "hello world");
    reader.releaseLock();
    assertEquals(await finish(child), 0);
    const events = await collector.readSession("pty-read");
    assertEquals(events.findLast((event) => event.source === "Runner")?.event_type, "Exit");
  },
);

Deno.test({
  name: "a Ctrl-C typed on the terminal reaches the command exactly once",
  ignore: SCRIPT_MISSING,
}, async () => {
  await using collector = await startTestCollector();
  const child = spawnInPty([
    ...(await collectorFlags(collector, "pty-int")),
    "--quiet",
    "--",
    "bash",
    "-c",
    interruptible("echo finished"),
  ]);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  await readUntil(reader, "ready");
  await type(child, "\x03");
  const output = await readUntil(reader, "finished");
  reader.releaseLock();
  assertEquals(await finish(child), 0);
  assertEquals(output.match(/got-int/g)?.length, 1, output);
});

Deno.test({
  name: "a Ctrl-C typed on the terminal interrupts the command, not the collector run started",
  ignore: SCRIPT_MISSING,
}, async () => {
  await using temp = await tempDir("runner-pty-home-");
  const home = temp.path;
  const env = baseEnv({
    HOME: home,
    XDG_STATE_HOME: `${home}/state`,
    CONTAINAI_AUDIT_SOCKET: `${home}/nobody-listens.sock`,
  });
  const child = spawnInPty([
    "--session",
    "pty-own-collector",
    "--shim",
    await testShim(),
    "--json",
    "--",
    "bash",
    "-c",
    interruptible("ls / >/dev/null"),
  ], env);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  await readUntil(reader, "ready");
  await type(child, "\x03");
  let rest = await readUntil(reader, "got-int");
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    rest += chunk.value;
  }
  assertEquals(await finish(child), 0);
  const summary = JSON.parse(rest.slice(rest.indexOf("{")));
  assertEquals(summary.log_complete, true);
  assertEquals(summary.counts.Exit, 1);
  assertMatch(summary.programs.join(" "), /\/ls\b/);
});
