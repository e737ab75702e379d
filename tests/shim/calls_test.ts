/**
 * Open and connect hooks: what they report, and that the program sees exactly the results and
 * errno values it sees without the shim, whether the collector is there or not.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { startTestCollector, type StoredLine } from "../support/collector.ts";
import { compileC, eventsOf, payloadOf, runUnderShim, waitForShimEvents } from "../support/shim.ts";
import { tempDir } from "../support/temp_dir.ts";
import { CALLS_SOURCE, FORTIFIED_SOURCE, SENDMMSG_SOURCE } from "./programs.ts";

/** A TCP listener on 127.0.0.1 that accepts and closes connections until disposed. */
function tcpListener(): { port: number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    try {
      for await (const conn of listener) conn.close();
    } catch {
      // Closed by dispose.
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    [Symbol.asyncDispose]: async () => {
      listener.close();
      await accepting;
    },
  };
}

async function runCalls(
  socket: string,
  session: string,
  withShim: boolean,
): Promise<{ stdout: string; dir: string }> {
  const program = await compileC(CALLS_SOURCE);
  const dir = await Deno.makeTempDir({ prefix: "shim-calls-" });
  await using listener = tcpListener();
  const args = [program, dir, String(listener.port)];
  if (withShim) {
    const result = await runUnderShim(args, { socket, session });
    assertEquals(result.code, 0, result.stderr);
    return { stdout: result.stdout, dir };
  }
  const out = await new Deno.Command(args[0], {
    args: args.slice(1),
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    clearEnv: true,
  }).output();
  assertEquals(out.code, 0);
  return { stdout: new TextDecoder().decode(out.stdout), dir };
}

async function callsEvents(): Promise<{ events: StoredLine[]; dir: string }> {
  await using collector = await startTestCollector();
  const { dir } = await runCalls(collector.socket, "calls", true);
  const events = await waitForShimEvents(
    collector,
    "calls",
    (events) => eventsOf(events, "Exec", "posix_spawnp").length >= 2,
  );
  return { events, dir };
}

Deno.test("every hooked call returns the same result and errno as without the shim", async () => {
  await using collector = await startTestCollector();
  const plain = await runCalls(collector.socket, "unused", false);
  const shimmed = await runCalls(collector.socket, "errno", true);
  try {
    assert(plain.stdout.split("\n").length > 35, plain.stdout);
    assertEquals(shimmed.stdout, plain.stdout);
    await waitForShimEvents(collector, "errno", (e) => e.length >= 35);
  } finally {
    await Deno.remove(plain.dir, { recursive: true });
    await Deno.remove(shimmed.dir, { recursive: true });
  }
});

Deno.test("results and errno are unchanged when the collector is absent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shim-absent-" });
  const socket = join(dir, "no-collector.sock");
  const plain = await runCalls(socket, "unused", false);
  const shimmed = await runCalls(socket, "absent", true);
  try {
    assertEquals(shimmed.stdout, plain.stdout);
  } finally {
    for (const d of [dir, plain.dir, shimmed.dir]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("open reports flags, mode and fd; a failed open reports errno", async () => {
  const { events, dir } = await callsEvents();
  try {
    const opens = eventsOf(events, "Open", "open").map(payloadOf);
    assertEquals(opens[0], {
      call: "open",
      path: join(dir, "file"),
      flags: ["O_WRONLY", "O_CREAT", "O_TRUNC"],
      mode: 0o600,
      fd: opens[0].fd,
    });
    assert(typeof opens[0].fd === "number" && opens[0].fd >= 3);
    assertEquals(opens[1], {
      call: "open",
      path: join(dir, "no/such/file"),
      flags: ["O_RDONLY"],
      errno: 2,
    });
    for (const call of ["open64", "openat", "openat64", "creat", "creat64"]) {
      const calls = eventsOf(events, "Open", call).map(payloadOf);
      assertEquals(calls.length, 2, call);
      assert(typeof calls[0].fd === "number", call);
      assertEquals(calls[1].errno, 2, call);
    }
    assertEquals(eventsOf(events, "Open", "creat").map(payloadOf)[0].mode, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fopen and freopen report the open flags their mode string means", async () => {
  const { events, dir } = await callsEvents();
  try {
    const fopens = eventsOf(events, "Open", "fopen").map(payloadOf);
    assertEquals(fopens[0].flags, ["O_RDONLY"]);
    assertEquals(fopens[1].errno, 2);
    const fopen64 = eventsOf(events, "Open", "fopen64").map(payloadOf);
    assertEquals(fopen64[0].flags, ["O_RDWR", "O_CREAT", "O_APPEND"]);
    assertEquals(fopen64[0].mode, 0o666);
    const freopens = eventsOf(events, "Open", "freopen").map(payloadOf);
    assertEquals(freopens[0].flags, ["O_WRONLY", "O_CREAT", "O_TRUNC"]);
    assertEquals(freopens[1].errno, 2);
    assertEquals(eventsOf(events, "Open", "freopen64").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connect, sendto and sendmsg report the destination and the outcome", async () => {
  const { events, dir } = await callsEvents();
  try {
    const connects = eventsOf(events, "Connect").map(payloadOf);
    const byCall = (call: string) => connects.filter((p) => p.call === call);
    const [tcp, unix] = byCall("connect");
    assertEquals(tcp.family, "AF_INET");
    assertEquals(tcp.address, "127.0.0.1");
    assert(typeof tcp.port === "number" && tcp.port > 0);
    assertEquals(tcp.errno, undefined);
    assertEquals(unix.family, "AF_UNIX");
    assertEquals(unix.address, join(dir, "no/such/file"));
    assertEquals(unix.errno, 2);
    for (const call of ["sendto", "sendmsg"]) {
      const [ok, failed] = byCall(call);
      assertEquals([ok.family, ok.address, ok.port, ok.errno], [
        "AF_INET",
        "127.0.0.1",
        tcp.port,
        undefined,
      ]);
      assertEquals(failed.family, "AF_UNIX");
      assert(typeof failed.errno === "number", call);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("_FORTIFY_SOURCE open entry points are reported", async () => {
  const program = await compileC(FORTIFIED_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-fortify-");
  const dir = temp.path;
  const file = join(dir, "f");
  await Deno.writeTextFile(file, "x");
  const result = await runUnderShim([program, file, "0"], {
    socket: collector.socket,
    session: "fortify",
  });
  assertEquals(result.code, 0, result.stderr);
  const calls = ["__open_2", "__open64_2", "__openat_2", "__openat64_2"];
  const events = await waitForShimEvents(
    collector,
    "fortify",
    (events) => calls.every((call) => eventsOf(events, "Open", call).length === 1),
  );
  for (const call of calls) {
    assertEquals(payloadOf(eventsOf(events, "Open", call)[0]).path, file);
  }
});

/** `bad_pointers`: opens and connects through unreadable pointers, printing `name rc errno`. */
const BAD_POINTERS_SOURCE = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#define BAD ((void *)1)
#define SHOW(name, call) do { errno = 77; long rc = (long)(call); \\
  printf("%s %ld %d\\n", name, rc, errno); } while (0)
int main(void) {
  SHOW("open", open(BAD, O_RDONLY));
  SHOW("openat", openat(AT_FDCWD, BAD, O_RDONLY));
  SHOW("creat", creat(BAD, 0600));
  SHOW("fopen", fopen(BAD, "r") != NULL);
  int tcp = socket(AF_INET, SOCK_STREAM, 0);
  SHOW("connect", connect(tcp, BAD, 16));
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  SHOW("sendto", sendto(udp, "x", 1, 0, BAD, 16));
  struct iovec iov = {"x", 1};
  struct msghdr msg = {.msg_name = BAD, .msg_namelen = 16, .msg_iov = &iov, .msg_iovlen = 1};
  SHOW("sendmsg", sendmsg(udp, &msg, 0));
  return 0;
}
`;

Deno.test("opens and connects through an unreadable pointer fail with EFAULT as without the shim", async () => {
  const program = await compileC(BAD_POINTERS_SOURCE);
  const plain = await new Deno.Command(program, { stdout: "piped", stderr: "piped" }).output();
  const expected = new TextDecoder().decode(plain.stdout);
  assertEquals(expected.split("\n").filter((line) => line.endsWith(" -1 14")).length, 6);
  await using collector = await startTestCollector();
  const shimmed = await runUnderShim([program], { socket: collector.socket, session: "efault" });
  assertEquals([shimmed.code, shimmed.stdout], [0, expected], shimmed.stderr);
});

/**
 * `fopen_modes FILE MODE...`: fopen()s FILE with each MODE in turn and prints, per stream, the
 * access mode and close-on-exec flag its descriptor really has: `RDONLY|WRONLY|RDWR [CLOEXEC]`.
 */
const FOPEN_MODES_SOURCE = `
#include <fcntl.h>
#include <stdio.h>
int main(int argc, char **argv) {
  const char *names[] = {"RDONLY", "WRONLY", "RDWR", "?"};
  for (int i = 2; i < argc; i++) {
    FILE *f = fopen(argv[1], argv[i]);
    if (!f) { printf("failed\\n"); continue; }
    int fl = fcntl(fileno(f), F_GETFL), fd = fcntl(fileno(f), F_GETFD);
    printf("%s%s\\n", names[fl & 3], fd & FD_CLOEXEC ? " CLOEXEC" : "");
    fclose(f);
  }
  return 0;
}
`;

Deno.test("fopen events name the access mode and O_CLOEXEC the stream's descriptor has", async () => {
  const program = await compileC(FOPEN_MODES_SOURCE);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-fopen-modes-");
  const file = join(temp.path, "f");
  await Deno.writeTextFile(file, "x");
  // glibc reads at most six characters after the first: the last two modes open read-only.
  const modes = ["r+", "re", "r,ccs=UTF-8", "r     +", "r      +", "rbbbbbbe"];
  const result = await runUnderShim([program, file, ...modes], {
    socket: collector.socket,
    session: "fopen-modes",
  });
  assertEquals(result.code, 0, result.stderr);
  const actual = result.stdout.trim().split("\n");
  assertEquals(actual, ["RDWR", "RDONLY CLOEXEC", "RDONLY", "RDWR", "RDONLY", "RDONLY"]);
  const events = await waitForShimEvents(
    collector,
    "fopen-modes",
    (events) => eventsOf(events, "Open", "fopen").length === modes.length,
  );
  const reported = eventsOf(events, "Open", "fopen").map((e) => {
    const flags = payloadOf(e).flags as string[];
    return [flags[0].slice(2), ...(flags.includes("O_CLOEXEC") ? ["CLOEXEC"] : [])].join(" ");
  });
  assertEquals(reported, actual);
});

Deno.test("sendmmsg reports each datagram's destination, as sendmsg does", async () => {
  const program = await compileC(SENDMMSG_SOURCE);
  await using collector = await startTestCollector();
  const result = await runUnderShim([program], { socket: collector.socket, session: "sendmmsg" });
  assertEquals(result.code, 0, result.stderr);
  const port = Number(/^port (\d+)\n/.exec(result.stdout)![1]);
  assertEquals(result.stdout, `port ${port}\nfirst 2 0\nreceived 2\n`);
  const events = await waitForShimEvents(
    collector,
    "sendmmsg",
    (events) => eventsOf(events, "Connect", "sendmmsg").length >= 2,
  );
  assertEquals(
    eventsOf(events, "Connect", "sendmmsg").map(payloadOf).map((p) => [p.address, p.port, p.errno]),
    [["127.0.0.1", port, undefined], ["127.0.0.3", port, undefined]],
  );
});

Deno.test("an open with the tmpfile bit but not O_DIRECTORY reports no mode: glibc reads none", async () => {
  // 020000000 without O_DIRECTORY is not O_TMPFILE: the kernel refuses it (EINVAL), and glibc's
  // open does not read a mode argument for it, whatever the caller passed.
  const program = await compileC(`
#include <fcntl.h>
int main(int argc, char **argv) { return open(argv[1], 020000000 | O_RDWR, 0600) == -1 ? 0 : 1; }
`);
  await using collector = await startTestCollector();
  await using temp = await tempDir("shim-tmpfile-bit-");
  const result = await runUnderShim([program, temp.path], {
    socket: collector.socket,
    session: "tmpfile-bit",
  });
  assertEquals(result.code, 0, result.stderr);
  const events = await waitForShimEvents(
    collector,
    "tmpfile-bit",
    (events) => eventsOf(events, "Open", "open").length >= 1,
  );
  assertEquals(payloadOf(eventsOf(events, "Open", "open")[0]), {
    call: "open",
    path: temp.path,
    flags: ["O_RDWR", "O_TMPFILE_ONLY"],
    errno: 22,
  });
});
