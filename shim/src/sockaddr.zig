//! Socket address decoding for Connect events (and the policy layer): family name, address text
//! as inet_ntop prints it, port, and Unix socket paths (abstract ones as "@name").
const std = @import("std");
const json = @import("json.zig");

pub const AF_UNIX: u16 = 1;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

pub const Decoded = struct {
    family: u16,
    /// Address text (IPv4/IPv6) in `text`, or a Unix path (bytes, may hold NULs when abstract).
    text: [64]u8 = undefined,
    text_len: usize = 0,
    unix_path: []const u8 = "",
    abstract: bool = false,
    port: ?u16 = null,
};

/// Decodes `len` bytes at `addr`. Returns null when there is not even a family.
pub fn decode(addr: ?*const anyopaque, len: u32) ?Decoded {
    const p: [*]const u8 = @ptrCast(addr orelse return null);
    if (len < 2) return null;
    var d: Decoded = .{ .family = std.mem.readInt(u16, p[0..2], .little) };
    switch (d.family) {
        AF_INET => {
            d.port = 0;
            if (len >= 8) {
                d.port = std.mem.readInt(u16, p[2..4], .big);
                d.text_len = ipv4(p[4..8], &d.text, 0);
            }
        },
        AF_INET6 => {
            d.port = 0;
            if (len >= 24) {
                d.port = std.mem.readInt(u16, p[2..4], .big);
                d.text_len = ipv6(p[8..24], &d.text);
            }
        },
        AF_UNIX => {
            const max: usize = @min(len, 110) - 2;
            const path = p[2 .. 2 + max];
            if (max > 0 and path[0] == 0) {
                d.abstract = true;
                d.unix_path = path[1..];
            } else {
                const end = std.mem.indexOfScalar(u8, path, 0) orelse max;
                d.unix_path = path[0..end];
            }
        },
        else => {},
    }
    return d;
}

fn familyName(family: u16) ?[]const u8 {
    return switch (family) {
        0 => "AF_UNSPEC",
        AF_UNIX => "AF_UNIX",
        AF_INET => "AF_INET",
        AF_INET6 => "AF_INET6",
        16 => "AF_NETLINK",
        17 => "AF_PACKET",
        40 => "AF_VSOCK",
        else => null,
    };
}

/// Writes `"family":...,"address":...[,"port":...]`.
pub fn write(w: *json.Writer, d: *const Decoded) void {
    w.raw("\"family\":\"");
    if (familyName(d.family)) |name| {
        w.raw(name);
    } else {
        w.raw("AF_");
        w.uint(d.family);
    }
    w.raw("\",\"address\":");
    if (d.family == AF_UNIX) {
        if (w.beginString()) {
            if (!d.abstract or w.append("@", 1, false)) {
                _ = w.append(d.unix_path.ptr, d.unix_path.len, false);
            }
            w.endString();
        }
    } else {
        w.string(d.text[0..d.text_len]);
    }
    if (d.port) |port| {
        w.raw(",\"port\":");
        w.uint(port);
    }
}

fn ipv4(b: *const [4]u8, out: *[64]u8, start: usize) usize {
    var n = start;
    for (b, 0..) |octet, i| {
        if (i > 0) {
            out[n] = '.';
            n += 1;
        }
        var digits: [3]u8 = undefined;
        var v = octet;
        var k: usize = 0;
        while (true) {
            digits[k] = '0' + v % 10;
            k += 1;
            v /= 10;
            if (v == 0) break;
        }
        while (k > 0) {
            k -= 1;
            out[n] = digits[k];
            n += 1;
        }
    }
    return n;
}

/// IPv6 text exactly as glibc's inet_ntop writes it (longest zero run compressed, embedded IPv4
/// for v4-mapped and v4-compatible addresses), so events compare equal to strace output.
fn ipv6(b: *const [16]u8, out: *[64]u8) usize {
    var words: [8]u16 = undefined;
    for (&words, 0..) |*word, i| word.* = @as(u16, b[2 * i]) << 8 | b[2 * i + 1];
    var best_base: ?usize = null;
    var best_len: usize = 0;
    var cur_base: ?usize = null;
    var cur_len: usize = 0;
    for (words, 0..) |word, i| {
        if (word == 0) {
            if (cur_base == null) {
                cur_base = i;
                cur_len = 1;
            } else {
                cur_len += 1;
            }
        } else if (cur_base != null) {
            if (best_base == null or cur_len > best_len) {
                best_base = cur_base;
                best_len = cur_len;
            }
            cur_base = null;
        }
    }
    if (cur_base != null and (best_base == null or cur_len > best_len)) {
        best_base = cur_base;
        best_len = cur_len;
    }
    if (best_base != null and best_len < 2) best_base = null;

    const hex = "0123456789abcdef";
    var n: usize = 0;
    var i: usize = 0;
    while (i < 8) {
        if (best_base) |base| {
            if (i >= base and i < base + best_len) {
                if (i == base) {
                    out[n] = ':';
                    n += 1;
                }
                i += 1;
                continue;
            }
        }
        if (i != 0) {
            out[n] = ':';
            n += 1;
        }
        const v4_tail = best_len == 6 or (best_len == 5 and words[5] == 0xffff);
        if (i == 6 and best_base == 0 and v4_tail) {
            return ipv4(b[12..16], out, n);
        }
        const word = words[i];
        var started = false;
        var shift: u5 = 12;
        while (true) : (shift -= 4) {
            const nibble: u4 = @truncate(word >> @as(u4, @intCast(shift)));
            if (nibble != 0 or started or shift == 0) {
                out[n] = hex[nibble];
                n += 1;
                started = true;
            }
            if (shift == 0) break;
        }
        i += 1;
    }
    if (best_base) |base| {
        if (base + best_len == 8) {
            out[n] = ':';
            n += 1;
        }
    }
    return n;
}

fn expectIpv6(bytes: [16]u8, text: []const u8) !void {
    var out: [64]u8 = undefined;
    const n = ipv6(&bytes, &out);
    try std.testing.expectEqualStrings(text, out[0..n]);
}

test "formats IPv6 like inet_ntop" {
    try expectIpv6(.{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, "::1");
    try expectIpv6(.{0} ** 16, "::");
    try expectIpv6(
        .{ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1 },
        "2001:db8::1:0:0:1",
    );
    try expectIpv6(.{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 }, "::ffff:127.0.0.1");
    try expectIpv6(.{ 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, "fe80::");
}

test "decodes AF_INET and abstract AF_UNIX addresses" {
    const in = [_]u8{ 2, 0, 0x1f, 0x90, 10, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0 };
    const d = decode(&in, in.len).?;
    try std.testing.expectEqual(@as(?u16, 8080), d.port);
    try std.testing.expectEqualStrings("10.0.0.7", d.text[0..d.text_len]);
    const un = [_]u8{ 1, 0, 0, 'a', 'b' };
    var buf: [512]u8 = undefined;
    var w = json.Writer.init(&buf);
    write(&w, &decode(&un, un.len).?);
    try std.testing.expectEqualStrings("\"family\":\"AF_UNIX\",\"address\":\"@ab\"", w.written());
}
