/**
 * CIDR ranges as the policy stores them: 16 address bytes and a prefix length.
 * IPv4 ranges become IPv4-mapped IPv6 ranges (`::ffff:a.b.c.d`, prefix + 96), so
 * one comparison covers an IPv4 connect and the same address reached through a
 * dual-stack IPv6 socket.
 *
 * @module
 */

/** A parsed range: `bytes` is the network address (host bits zero), `prefix` 0..128. */
export interface Cidr {
  /** The network address as 16 bytes (IPv4 mapped into ::ffff:0:0/96). */
  bytes: Uint8Array;
  /** The number of leading bits that must match, 0..128. */
  prefix: number;
}

/**
 * Parses `"10.0.0.0/8"`, `"fd00::/8"`, or a bare address (a single host). Returns
 * the range, or a message saying what is wrong.
 *
 * @example
 * ```ts
 * import { parseCidr } from "./cidr.ts";
 * parseCidr("169.254.169.254"); // { bytes: ::ffff:a9fe:a9fe, prefix: 128 }
 * parseCidr("10.0.0.0/33"); // "prefix length of 10.0.0.0/33 must be 0..32"
 * ```
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseIpv4(addressText);
  const v6 = v4 === undefined ? parseIpv6(addressText) : undefined;
  if (v4 === undefined && v6 === undefined) {
    return `"${text}" is not an IPv4 or IPv6 address or CIDR range (e.g. "10.0.0.0/8", ` +
      `"fd00::/8", "169.254.169.254")`;
  }
  const width = v4 !== undefined ? 32 : 128;
  let prefix = width;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) {
      return `prefix length of ${text} must be 0..${width}`;
    }
    prefix = Number(prefixText);
  }
  const bytes = new Uint8Array(16);
  if (v4 !== undefined) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(v4, 12);
    prefix += 96;
  } else {
    bytes.set(v6!);
  }
  return { bytes: maskTo(bytes, prefix), prefix };
}

/**
 * Whether the 16-byte address (IPv4 already mapped) lies in the range.
 *
 * @example
 * ```ts
 * import { cidrContains, parseCidr, parseAddress } from "./cidr.ts";
 * cidrContains(parseCidr("10.0.0.0/8") as Cidr, parseAddress("10.1.2.3")!); // true
 * ```
 */
export function cidrContains(range: Cidr, address: Uint8Array): boolean {
  const masked = maskTo(address, range.prefix);
  return masked.every((byte, i) => byte === range.bytes[i]);
}

/**
 * An IPv4 or IPv6 address as 16 bytes (IPv4 mapped), or undefined when it is not one.
 *
 * @example
 * ```ts
 * import { parseAddress } from "./cidr.ts";
 * parseAddress("127.0.0.1"); // ::ffff:7f00:1 as bytes
 * ```
 */
export function parseAddress(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) {
    const bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(v4, 12);
    return bytes;
  }
  return parseIpv6(text);
}

function maskTo(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bytes[i] & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    // Leading zeros are refused: inet_aton reads them as octal, a classic source of confusion.
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}
