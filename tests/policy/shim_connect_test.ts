/**
 * Connect rules under the real shim, against local servers on loopback: enforce refuses the
 * connection with EPERM (what a local firewall rule gives), observe lets it through.
 */
import assert from "node:assert/strict";
import { compileC } from "../support/shim.ts";
import { SENDMMSG_SOURCE } from "../shim/programs.ts";
import { denies, payloadsWhere, policyFixture, PYTHON } from "./fixture.ts";

/** A TCP server on 127.0.0.1 that counts the connections it accepts. */
function startServer(): { port: number; accepted: () => number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const loop = (async () => {
    for await (const conn of listener) {
      accepted++;
      await conn.write(new TextEncoder().encode("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        .catch(() => {});
      conn.close();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => accepted,
    close: async () => {
      listener.close();
      await loop.catch(() => {});
    },
  };
}

Deno.test("enforce: curl to a denied address and port fails and the server sees nothing", async () => {
  const server = startServer();
  try {
    await using fx = await policyFixture(() => ({
      mode: "enforce",
      rules: [{
        name: "no-local-port",
        action: "Connect",
        addresses: ["127.0.0.0/8"],
        ports: [server.port],
      }],
    }));
    const result = await fx.run(
      ["curl", "-sS", "--max-time", "5", `http://127.0.0.1:${server.port}/`],
      { session: "connect-enforce" },
    );
    assert.equal(result.code, 7, result.stderr); // curl: failed to connect
    assert.equal(server.accepted(), 0);
    const events = await fx.waitForDenies("connect-enforce");
    const [deny] = denies(events);
    assert.deepEqual(deny, {
      call: "connect",
      action: "Connect",
      target: `127.0.0.1:${server.port}`,
      rule: "no-local-port",
      errno: 1,
      enforced: true,
    });
  } finally {
    await server.close();
  }
});

Deno.test("a Connect rule leaves other ports alone", async () => {
  const server = startServer();
  try {
    await using fx = await policyFixture(() => ({
      mode: "enforce",
      rules: [{ name: "other-port", action: "Connect", addresses: ["127.0.0.1"], ports: [1] }],
    }));
    const result = await fx.run(
      ["curl", "-sS", "--max-time", "5", `http://127.0.0.1:${server.port}/`],
      { session: "connect-other-port" },
    );
    assert.equal(result.stdout, "ok", result.stderr);
    const events = await fx.collector.waitForEvents(
      "connect-other-port",
      (events) => payloadsWhere(events, "Connect", "port", server.port).length >= 1,
    );
    assert.deepEqual(denies(events), []);
  } finally {
    await server.close();
  }
});

Deno.test("observe: the connection is made and a Deny event is sent beside the Connect", async () => {
  const server = startServer();
  try {
    await using fx = await policyFixture(() => ({
      mode: "observe",
      rules: [{ name: "loopback", action: "Connect", addresses: ["127.0.0.1/32"] }],
    }));
    const result = await fx.run(
      ["curl", "-sS", "--max-time", "5", `http://127.0.0.1:${server.port}/`],
      { session: "connect-observe" },
    );
    assert.equal(result.stdout, "ok", result.stderr);
    assert.equal(server.accepted(), 1);
    // The Deny is sent before the call, the Connect after it: wait for both.
    const events = await fx.collector.waitForEvents(
      "connect-observe",
      (events) =>
        denies(events).length >= 1 &&
        payloadsWhere(events, "Connect", "port", server.port).length >= 1,
    );
    assert.equal(denies(events)[0].enforced, false);
    assert.equal(payloadsWhere(events, "Connect", "port", server.port).length, 1);
  } finally {
    await server.close();
  }
});

Deno.test("an IPv4 rule also covers the address reached through an IPv6 socket", async () => {
  const server = startServer();
  try {
    await using fx = await policyFixture(() => ({
      mode: "enforce",
      rules: [{ name: "v4", action: "Connect", addresses: ["127.0.0.1"] }],
    }));
    const script = `
import socket, sys
s = socket.socket(socket.AF_INET6)
try:
    s.connect(("::ffff:127.0.0.1", int(sys.argv[1])))
    print("connected")
except PermissionError as error:
    print("refused", error.errno)
`;
    const result = await fx.run([PYTHON, "-c", script, String(server.port)], {
      session: "connect-mapped",
    });
    assert.equal(result.stdout, "refused 1\n", result.stderr);
    assert.equal(server.accepted(), 0);
    const [deny] = denies(await fx.waitForDenies("connect-mapped"));
    assert.equal(deny.target, `127.0.0.1:${server.port}`);
  } finally {
    await server.close();
  }
});

Deno.test("enforce: a Unix socket path glob refuses connects to matching sockets", async () => {
  await using fx = await policyFixture((dir) => ({
    mode: "enforce",
    rules: [{ name: "runtime-socket", action: "Connect", unix: [`${dir}/*.sock`] }],
  }));
  const path = `${fx.dir}/runtime.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  let accepted = 0;
  const loop = (async () => {
    for await (const conn of listener) {
      accepted++;
      conn.close();
    }
  })();
  try {
    const script = `
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    print("connected")
except PermissionError as error:
    print("refused", error.errno)
`;
    const result = await fx.run([PYTHON, "-c", script, path], { session: "connect-unix" });
    assert.equal(result.stdout, "refused 1\n", result.stderr);
    assert.equal(accepted, 0);
    const [deny] = denies(await fx.waitForDenies("connect-unix"));
    assert.equal(deny.target, path);
    assert.equal(deny.rule, "runtime-socket");
  } finally {
    listener.close();
    await loop.catch(() => {});
  }
});

Deno.test("enforce: sendto a denied UDP destination fails with EPERM", async () => {
  await using fx = await policyFixture(() => ({
    mode: "enforce",
    rules: [{ name: "no-dns", action: "Connect", addresses: ["127.0.0.1"], ports: [53] }],
  }));
  const script = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("127.0.0.1", 53))
    print("sent")
except PermissionError as error:
    print("refused", error.errno)
`;
  const result = await fx.run([PYTHON, "-c", script], { session: "connect-sendto" });
  assert.equal(result.stdout, "refused 1\n", result.stderr);
  const [deny] = denies(await fx.waitForDenies("connect-sendto"));
  assert.equal(deny.call, "sendto");
  assert.equal(deny.target, "127.0.0.1:53");
});

Deno.test("enforce: sendmmsg sends the datagrams before a denied destination, then fails with EPERM", async () => {
  const program = await compileC(SENDMMSG_SOURCE);
  await using fx = await policyFixture(() => ({
    mode: "enforce",
    rules: [{ name: "no-dot-3", action: "Connect", addresses: ["127.0.0.3"] }],
  }));
  const result = await fx.run([program], { session: "connect-sendmmsg" });
  assert.equal(result.code, 0, result.stderr);
  const port = Number(/^port (\d+)\n/.exec(result.stdout)![1]);
  assert.equal(result.stdout, `port ${port}\nfirst 1 0\nsecond -1 1\nreceived 1\n`);
  const [deny] = denies(await fx.waitForDenies("connect-sendmmsg"));
  assert.equal(deny.call, "sendmmsg");
  assert.equal(deny.target, `127.0.0.3:${port}`);
});
