//! Event encoding: the protocol-v1 envelope around a payload. The top-level object is left open
//! after the payload; the transport closes it with `seq` (and `dropped`) once it knows them.
const std = @import("std");
const json = @import("json.zig");
const sys = @import("sys.zig");
const config = @import("config.zig");

/// Deny is sent by the policy point (decision.zig) when a rule matches.
pub const EventType = enum { Exec, Open, Connect, Deny };

/// Writes `{"v":1,...,"process":{...},"payload":{` into w, stamped with `now` (wall clock).
/// With a `cache` (the slot's), the parts that rarely change are copied from it instead of being
/// encoded again: output is byte for byte the same either way.
pub fn begin(
    w: *json.Writer,
    event_type: EventType,
    ids: sys.Ids,
    now: std.os.linux.timespec,
    cache: ?*Cache,
) void {
    // The opening and the timestamp in one write.
    var head: [head_len + 30]u8 = undefined;
    head[0..head_len].* = head_text.*;
    const stamp = head[head_len..];
    if (cache) |c| {
        c.formatTimestamp(stamp, now);
        w.raw(&head);
        c.envelope(w, event_type, ids);
    } else {
        formatSecond(stamp[0..20], @max(now.sec, 0));
        formatNanos(stamp[20..30], now.nsec);
        w.raw(&head);
        writeEnvelope(w, event_type, ids);
    }
}

const head_text = "{\"v\":1,\"timestamp\":\"";
const head_len = head_text.len;

/// Everything between the timestamp and the payload's fields: the same for every event of one
/// type, thread and set of credentials.
fn writeEnvelope(w: *json.Writer, event_type: EventType, ids: sys.Ids) void {
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

/// What the last event written in one slot encoded, kept for the next event in that slot (most
/// often the same thread's next event). Only the slot's holder reads or writes it, so it needs no
/// lock; a fork or vfork child, another thread or a set*id call changes the key and the entry is
/// encoded again. All fields start zero (static memory in .bss: no page is touched before use).
pub const Cache = struct {
    /// The envelope's key, valid while `envelope_filled`.
    envelope_filled: bool = false,
    event_type: EventType = .Exec,
    ids: sys.Ids = .{ .pid = 0, .ppid = 0, .tid = 0, .uid = 0, .gid = 0 },
    config_generation: u32 = 0,
    envelope_len: u16 = 0,
    /// Holds what `envelope` writes: at most about 100 bytes besides the metadata.
    envelope_bytes: [config.metadata_cap + 256]u8 = [_]u8{0} ** (config.metadata_cap + 256),
    /// `YYYY-MM-DDTHH:MM:SS.` of second `second`, valid while `second_filled`.
    second_filled: bool = false,
    second: i64 = 0,
    second_prefix: [20]u8 = [_]u8{0} ** 20,

    /// The 30 bytes of `timestamp`, the second's part from the cache.
    fn formatTimestamp(self: *Cache, out: *[30]u8, ts: std.os.linux.timespec) void {
        const secs: i64 = @max(ts.sec, 0);
        if (!self.second_filled or self.second != secs) {
            self.second_filled = false;
            formatSecond(&self.second_prefix, secs);
            self.second = secs;
            self.second_filled = true;
        }
        out[0..20].* = self.second_prefix;
        formatNanos(out[20..30], ts.nsec);
    }

    fn envelope(self: *Cache, w: *json.Writer, event_type: EventType, ids: sys.Ids) void {
        const generation = config.generation.load(.acquire);
        const hit = self.envelope_filled and self.event_type == event_type and
            self.config_generation == generation and self.ids.pid == ids.pid and
            self.ids.ppid == ids.ppid and self.ids.tid == ids.tid and
            self.ids.uid == ids.uid and self.ids.gid == ids.gid;
        if (!hit) {
            self.envelope_filled = false;
            var cw = json.Writer.init(&self.envelope_bytes);
            writeEnvelope(&cw, event_type, ids);
            if (cw.overflow) {
                // Cannot happen (the buffer has room for the largest metadata), but an envelope
                // that did not fit is written directly rather than cut.
                writeEnvelope(w, event_type, ids);
                return;
            }
            self.envelope_len = @intCast(cw.len);
            self.event_type = event_type;
            self.ids = ids;
            self.config_generation = generation;
            self.envelope_filled = true;
        }
        w.raw(self.envelope_bytes[0..self.envelope_len]);
    }
};

/// Closes the payload, adding `truncated` when any field was cut.
pub fn endPayload(w: *json.Writer) void {
    if (w.truncated) w.raw(",\"truncated\":true");
    w.byte('}');
}

/// Closes the event: `,"seq":N[,"dropped":M]}\n`. The caller reserved room (json.tail_reserve).
pub fn close(w: *json.Writer, seq: u64, dropped: u64) void {
    if (dropped == 0) {
        // The usual case in one write.
        const lead = ",\"seq\":";
        var out: [lead.len + 20 + 2]u8 = undefined;
        out[0..lead.len].* = lead.*;
        const n = json.formatUint(out[lead.len..][0..20], seq);
        out[lead.len + n ..][0..2].* = "}\n".*;
        w.raw(out[0 .. lead.len + n + 2]);
        return;
    }
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
    var out: [30]u8 = undefined;
    formatSecond(out[0..20], @max(ts.sec, 0));
    formatNanos(out[20..30], ts.nsec);
    w.raw(&out);
}

/// `YYYY-MM-DDTHH:MM:SS.` of `secs` (>= 0) since the epoch, UTC.
fn formatSecond(out: *[20]u8, secs: i64) void {
    const days: i64 = @divFloor(secs, 86400);
    const rem: i64 = secs - days * 86400;
    const civil = civilFromDays(days);
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
}

/// `NNNNNNNNNZ`: the nanoseconds as nine digits and the UTC designator.
fn formatNanos(out: *[10]u8, nsec: isize) void {
    put(out[0..9], @intCast(std.math.clamp(nsec, 0, 999_999_999)));
    out[9] = 'Z';
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

test "the slot cache writes the same envelope bytes as encoding afresh" {
    // Changes of second, type, pid, ppid, tid and credentials in turn, each followed by a repeat:
    // every event begun through the cache must equal the one begun without it.
    const base: sys.Ids = .{ .pid = 41, .ppid = 1, .tid = 41, .uid = 1000, .gid = 1000 };
    var changed = [_]sys.Ids{base} ** 5;
    changed[0].pid = 42;
    changed[1].ppid = 7;
    changed[2].tid = 43;
    changed[3].uid = 0;
    changed[4].gid = 5;
    const Step = struct { event_type: EventType, ids: sys.Ids, sec: i64 };
    const steps = [_]Step{
        .{ .event_type = .Open, .ids = base, .sec = 1_764_201_600 },
        .{ .event_type = .Open, .ids = base, .sec = 1_764_201_600 },
        .{ .event_type = .Open, .ids = base, .sec = 1_764_201_601 },
        .{ .event_type = .Connect, .ids = base, .sec = 1_764_201_601 },
        .{ .event_type = .Open, .ids = changed[0], .sec = 1_764_201_661 },
        .{ .event_type = .Open, .ids = changed[1], .sec = 1_764_201_661 },
        .{ .event_type = .Deny, .ids = changed[2], .sec = 1_764_205_200 },
        .{ .event_type = .Open, .ids = changed[3], .sec = 1_764_205_200 },
        .{ .event_type = .Open, .ids = changed[4], .sec = 1_764_288_000 },
        .{ .event_type = .Open, .ids = changed[4], .sec = 1_764_288_000 },
    };
    var cache: Cache = .{};
    for (steps, 0..) |step, k| {
        const now: std.os.linux.timespec = .{ .sec = step.sec, .nsec = @intCast(k * 1_000_003) };
        var fresh_buf: [1024]u8 = undefined;
        var cached_buf: [1024]u8 = undefined;
        var fresh = json.Writer.init(&fresh_buf);
        var cached = json.Writer.init(&cached_buf);
        begin(&fresh, step.event_type, step.ids, now, null);
        begin(&cached, step.event_type, step.ids, now, &cache);
        try std.testing.expectEqualStrings(fresh.written(), cached.written());
    }
}

test "the slot cache encodes the envelope again after the configuration is reloaded" {
    var cache: Cache = .{};
    const ids: sys.Ids = .{ .pid = 9, .ppid = 1, .tid = 9, .uid = 0, .gid = 0 };
    const now: std.os.linux.timespec = .{ .sec = 1_764_201_600, .nsec = 0 };
    var buf: [2048]u8 = undefined;
    var w = json.Writer.init(&buf);
    begin(&w, .Open, ids, now, &cache);
    const env_a = [_:null]?[*:0]const u8{"CONTAINAI_SESSION_ID=first"};
    config.load(&config.current, &env_a, "/s/libauditshim.so");
    w = json.Writer.init(&buf);
    begin(&w, .Open, ids, now, &cache);
    try std.testing.expect(std.mem.indexOf(u8, w.written(), "\"first\"") != null);
    const env_b = [_:null]?[*:0]const u8{"CONTAINAI_SESSION_ID=second"};
    config.load(&config.current, &env_b, "/s/libauditshim.so");
    w = json.Writer.init(&buf);
    begin(&w, .Open, ids, now, &cache);
    try std.testing.expect(std.mem.indexOf(u8, w.written(), "\"second\"") != null);
    try std.testing.expect(std.mem.indexOf(u8, w.written(), "\"first\"") == null);
}

test "closes an event with seq, and dropped only when events were dropped" {
    var buf: [512]u8 = undefined;
    var w = json.Writer.init(&buf);
    close(&w, 0, 0);
    close(&w, 18_446_744_073_709_551_615, 0);
    close(&w, 12, 3);
    try std.testing.expectEqualStrings(
        ",\"seq\":0}\n,\"seq\":18446744073709551615}\n,\"seq\":12,\"dropped\":3}\n",
        w.written(),
    );
}
