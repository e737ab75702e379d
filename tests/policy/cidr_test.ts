import assert from "node:assert/strict";
import { type Cidr, cidrContains, parseAddress, parseCidr } from "../../policy/cidr.ts";

function range(text: string): Cidr {
  const parsed = parseCidr(text);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

function contains(cidr: string, address: string): boolean {
  const bytes = parseAddress(address);
  if (bytes === undefined) throw new Error(`not an address: ${address}`);
  return cidrContains(range(cidr), bytes);
}

Deno.test("an IPv4 range contains exactly the addresses under its prefix", () => {
  assert.equal(contains("10.0.0.0/8", "10.255.1.2"), true);
  assert.equal(contains("10.0.0.0/8", "11.0.0.1"), false);
  assert.equal(contains("169.254.169.254", "169.254.169.254"), true);
  assert.equal(contains("169.254.169.254", "169.254.169.253"), false);
  assert.equal(contains("0.0.0.0/0", "8.8.8.8"), true);
});

Deno.test("an IPv4 range also covers the IPv4-mapped IPv6 form of its addresses", () => {
  assert.equal(contains("127.0.0.0/8", "::ffff:127.0.0.1"), true);
  assert.equal(contains("127.0.0.0/8", "::1"), false);
});

Deno.test("IPv6 ranges parse with :: compression and an embedded IPv4 tail", () => {
  assert.equal(contains("fd00::/8", "fd12:3456::1"), true);
  assert.equal(contains("fd00::/8", "fe80::1"), false);
  assert.equal(contains("::/0", "2001:db8::1"), true);
  assert.equal(contains("::1", "0:0:0:0:0:0:0:1"), true);
  assert.equal(contains("64:ff9b::/96", "64:ff9b::8.8.8.8"), true);
});

Deno.test("host bits below the prefix are cleared", () => {
  assert.deepEqual(range("10.1.2.3/8"), range("10.0.0.0/8"));
});

Deno.test("malformed ranges get a message saying what a range looks like", () => {
  for (const bad of ["10.0.0", "10.0.0.256", "010.0.0.1", "1::2::3", "fe80::1%eth0", "x"]) {
    assert.match(parseCidr(bad) as string, /is not an IPv4 or IPv6 address/, bad);
  }
  assert.equal(parseCidr("10.0.0.0/33"), "prefix length of 10.0.0.0/33 must be 0..32");
  assert.equal(parseCidr("::/129"), "prefix length of ::/129 must be 0..128");
});
