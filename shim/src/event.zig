//! Event encoding: the protocol-v1 envelope around a payload. The top-level object is left open
//! after the payload; the transport closes it with `seq` (and `dropped`) once it knows them.
const std = @import("std");
const json = @import("json.zig");
const sys = @import("sys.zig");
const config = @import("config.zig");

/// Deny is sent by the policy point (decision.zig) when a rule matches.
pub const EventType = enum { Exec, Open, Connect, Deny };

/// Writes `{"v":1,...,"process":{...},"payload":{` into w.
pub fn begin(w: *json.Writer, event_type: EventType, ids: sys.Ids) void {
    w.raw("{\"v\":1,\"timestamp\":\"");
    timestamp(w, if (event_type == .Exec) sys.realtimeBySyscall() else sys.realtime());
    w.raw("\",\"source\":\"Shim\",\"event_type\":\"");
    w.raw(@tagName(event_type));
    w.raw("\",");
    const cfg = &config.current;
    w.raw(cfg.metadata[0..cfg.metadata_len]);
    w.raw(",\"process\":{\"pid\":");
    w.int(ids.pid);
    w.raw(",\"ppid\":");
    w.int(ids.ppid);
    w.raw(",\"tid\":");
    w.int(ids.tid);
    w.raw(",\"uid\":");
    w.uint(ids.uid);
    w.raw(",\"gid\":");
    w.uint(ids.gid);
    w.raw("},\"payload\":{");
}

/// Closes the payload, adding `truncated` when any field was cut.
pub fn endPayload(w: *json.Writer) void {
    if (w.truncated) w.raw(",\"truncated\":true");
    w.byte('}');
}

/// Closes the event: `,"seq":N[,"dropped":M]}\n`. The caller reserved room (json.tail_reserve).
pub fn close(w: *json.Writer, seq: u64, dropped: u64) void {
    w.raw(",\"seq\":");
    w.uint(seq);
    if (dropped > 0) {
        w.raw(",\"dropped\":");
        w.uint(dropped);
    }
    w.raw("}\n");
}

/// RFC 3339 UTC with nanoseconds, e.g. 2026-11-27T00:12:03.123456789Z.
pub fn timestamp(w: *json.Writer, ts: std.os.linux.timespec) void {
    const secs: i64 = @max(ts.sec, 0);
    const days: i64 = @divFloor(secs, 86400);
    const rem: i64 = secs - days * 86400;
    const civil = civilFromDays(days);
    var out: [30]u8 = undefined;
    put(out[0..4], @intCast(civil.year));
    out[4] = '-';
    put(out[5..7], civil.month);
    out[7] = '-';
    put(out[8..10], civil.day);
    out[10] = 'T';
    put(out[11..13], @intCast(@divFloor(rem, 3600)));
    out[13] = ':';
    put(out[14..16], @intCast(@mod(@divFloor(rem, 60), 60)));
    out[16] = ':';
    put(out[17..19], @intCast(@mod(rem, 60)));
    out[19] = '.';
    put(out[20..29], @intCast(std.math.clamp(ts.nsec, 0, 999_999_999)));
    out[29] = 'Z';
    w.raw(&out);
}

/// `value` as exactly `out.len` digits (zero-padded; higher digits dropped), two at a time.
fn put(out: []u8, value: u64) void {
    var v = value;
    var i: usize = out.len;
    while (i >= 2) {
        i -= 2;
        out[i..][0..2].* = json.digitPair(v % 100);
        v /= 100;
    }
    if (i == 1) out[0] = @intCast('0' + v % 10);
}

const Civil = struct { year: u64, month: u64, day: u64 };

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian), for days >= 0.
fn civilFromDays(days: i64) Civil {
    const z: i64 = days + 719468;
    const era: i64 = @divFloor(z, 146097);
    const doe: i64 = z - era * 146097;
    const leap_days = @divFloor(doe, 1460) - @divFloor(doe, 36524) + @divFloor(doe, 146096);
    const leap_adjusted = doe - leap_days;
    const yoe: i64 = @divFloor(leap_adjusted, 365);
    const doy: i64 = doe - (365 * yoe + @divFloor(yoe, 4) - @divFloor(yoe, 100));
    const mp: i64 = @divFloor(5 * doy + 2, 153);
    const d: i64 = doy - @divFloor(153 * mp + 2, 5) + 1;
    const m: i64 = if (mp < 10) mp + 3 else mp - 9;
    const y: i64 = yoe + era * 400 + @as(i64, if (m <= 2) 1 else 0);
    return .{ .year = @intCast(
        std.math.clamp(y, 0, 9999),
    ), .month = @intCast(m), .day = @intCast(d) };
}

test "formats timestamps as RFC 3339 UTC with nanoseconds" {
    var buf: [256]u8 = undefined;
    var w = json.Writer.init(&buf);
    timestamp(&w, .{ .sec = 1_764_201_600 + 86399, .nsec = 5 });
    try std.testing.expectEqualStrings("2025-11-27T23:59:59.000000005Z", w.written());
    w = json.Writer.init(&buf);
    timestamp(&w, .{ .sec = 951_782_400, .nsec = 999_999_999 });
    try std.testing.expectEqualStrings("2000-02-29T00:00:00.999999999Z", w.written());
}
