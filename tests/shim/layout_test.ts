/**
 * The release library's layout (shim/layout.ld, docs/shim.md "Library layout"): it is loaded into
 * every process and its hooks run in every fork child, so the pages it touches there are few and
 * together, without giving up the hardening of the default layout.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { buildShim } from "../../toolchain/mod.ts";
import {
  DF_BIND_NOW,
  DT_FLAGS,
  type Elf,
  PF_W,
  PF_X,
  PT_GNU_RELRO,
  PT_GNU_STACK,
  PT_LOAD,
  readElf,
} from "../support/elf.ts";
import { runUnderShim } from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";
import { startTestCollector } from "../support/collector.ts";

/** The kernel maps up to this many bytes of a file around a page fault (fault_around_bytes). */
const FAULT_AROUND_WINDOW = 64 * 1024;
const PAGE = 4096;

// The release build, whatever SHIM_TEST_LIBRARY points the other tests at: the layout is a
// property of `deno task build`.
let release: Promise<Elf> | undefined;
function releaseLibrary(): Promise<Elf> {
  release ??= buildShim({ quiet: true }).then(async (path) => readElf(await Deno.readFile(path)));
  return release;
}

/** The symbols named `prefix` or `prefix.*` / `prefix__*` (Zig's names for statics, generics). */
function symbolsStartingWith(
  elf: Elf,
  prefix: string,
): { name: string; start: number; end: number }[] {
  const found = elf.symbols
    .filter((s) =>
      s.name === prefix || s.name.startsWith(`${prefix}.`) ||
      s.name.startsWith(`${prefix}__`)
    )
    .map((s) => ({ name: s.name, start: s.value, end: s.value + Math.max(s.size, 1) }));
  assert(found.length > 0, `no symbol ${prefix} in the library`);
  return found;
}

Deno.test("the shim has two loadable segments, one read-only and executable, one writable", async () => {
  const elf = await releaseLibrary();
  const loads = elf.segments.filter((s) => s.type === PT_LOAD);
  assertEquals(loads.map((s) => s.flags & (PF_W | PF_X)), [PF_X, PF_W]);
});

Deno.test("the shim keeps RELRO over its relocated data, immediate binding and a non-executable stack", async () => {
  const elf = await releaseLibrary();
  const relro = elf.segments.find((s) => s.type === PT_GNU_RELRO);
  assert(relro, "no PT_GNU_RELRO");
  for (const name of [".data.rel.ro", ".init_array", ".dynamic", ".got", ".got.plt"]) {
    const section = elf.sections.find((s) => s.name === name);
    if (!section) continue;
    assert(
      section.addr >= relro.vaddr && section.addr + section.size <= relro.vaddr + relro.memSize,
      `${name} is outside RELRO`,
    );
  }
  const flags = elf.dynamic.find(([tag]) => tag === DT_FLAGS);
  assert(flags && (flags[1] & DF_BIND_NOW) !== 0, "no BIND_NOW");
  const stack = elf.segments.find((s) => s.type === PT_GNU_STACK);
  assert(stack && (stack.flags & PF_X) === 0, "no PT_GNU_STACK, or an executable stack");
});

Deno.test("what a process start and an exec from a fork child read lies in the first 64 KiB", async () => {
  const elf = await releaseLibrary();
  // The loader's symbol lookups, the read-only data and the PLT.
  for (const name of [".dynsym", ".gnu.hash", ".dynstr", ".rela.dyn", ".rodata", ".plt"]) {
    const section = elf.sections.find((s) => s.name === name);
    assert(section, `no ${name}`);
    assert(section.addr + section.size <= FAULT_AROUND_WINDOW, `${name} ends past 64 KiB`);
  }
  // The constructor, the fork handlers and the path of an execve from a fork child.
  const code = [
    "lifecycle.constructor",
    "lifecycle.start",
    "lifecycle.forkPrepare",
    "lifecycle.forkParent",
    "lifecycle.forkChild",
    "real.visitObject",
    "policy.init",
    "execve",
    "envp.inspect",
    "decision.decideExecAt",
    "report.emit",
    "event.begin",
    "event.close",
    "json.Writer.append",
    "transport.send",
    "transport.sendAll",
    "process_id.current",
  ];
  for (const name of code) {
    for (const symbol of symbolsStartingWith(elf, name)) {
      assert(symbol.end <= FAULT_AROUND_WINDOW, `${symbol.name} ends past 64 KiB`);
    }
  }
});

Deno.test("the state written at process start and in a fork child shares one page, outside RELRO", async () => {
  const elf = await releaseLibrary();
  const state = [
    "lifecycle.state",
    "real.fns",
    "sys.errno_offset",
    "transport.conn_fd",
    "process_id.owner",
    "containai_shim_shared_vm",
    "process_id.page",
    "transport.seq",
    "transport.dropped",
    "transport.lock_word",
    "transport.fork_pending",
    "slots.owners",
    "policy.state",
  ].flatMap((name) => symbolsStartingWith(elf, name));
  const pages = new Set(
    state.flatMap((s) => [Math.floor(s.start / PAGE), Math.floor((s.end - 1) / PAGE)]),
  );
  assertEquals(pages.size, 1, `state on pages ${[...pages].map((p) => p.toString(16))}`);
  const relro = elf.segments.find((s) => s.type === PT_GNU_RELRO)!;
  const [page] = pages;
  assert(page * PAGE >= relro.vaddr + relro.memSize, "the state page is inside RELRO");
});

const CANCEL_SOURCE = `
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void cleanup(void *arg) { (void)arg; fputs("cleanup ran\\n", stderr); }
static void *worker(void *path) {
  pthread_cleanup_push(cleanup, 0);
  open((const char *)path, O_RDONLY); /* blocks: a FIFO without a writer */
  pthread_cleanup_pop(0);
  return 0;
}
int main(int argc, char **argv) {
  (void)argc;
  pthread_t thread;
  pthread_create(&thread, 0, worker, argv[1]);
  usleep(200000);
  pthread_cancel(thread);
  void *result;
  pthread_join(thread, &result);
  printf("cancelled=%d\\n", result == PTHREAD_CANCELED);
  return 0;
}
`;

Deno.test("a thread cancelled inside a hooked open unwinds through the shim and runs its cleanup", async () => {
  await using temp = await tempDir("shim-cancel-");
  // gcc, not zig cc: with -fexceptions the cleanup handler runs only if the unwinder (glibc's
  // libgcc_s) finds unwind tables for every frame, the shim's hook included; without them it
  // silently skips the handler.
  const source = `${temp.path}/cancel.c`;
  const program = `${temp.path}/cancel`;
  await Deno.writeTextFile(source, CANCEL_SOURCE);
  const built = await new Deno.Command("gcc", {
    args: ["-O2", "-pthread", "-fexceptions", "-o", program, source],
  }).output();
  assert(built.success, new TextDecoder().decode(built.stderr));
  const fifo = `${temp.path}/fifo`;
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert(made.success, "mkfifo failed");
  await using collector = await startTestCollector();
  const result = await runUnderShim([program, fifo], {
    socket: collector.socket,
    session: "cancel",
  });
  assertEquals(
    [result.code, result.signal, result.stdout, result.stderr],
    [0, null, "cancelled=1\n", "cleanup ran\n"],
  );
});
