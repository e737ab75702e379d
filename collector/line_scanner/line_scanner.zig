//! The ingest worker's line scanner, compiled to wasm32-freestanding (ReleaseSafe).
//!
//! It reads received lines as UTF-8 bytes and VOUCHES for a line only when both hold:
//! 1. `JSON.parse` of the line succeeds and protocol/fast_validate.ts's `isCertainlyValidEvent`
//!    accepts the value (same rules, string lengths in UTF-16 code units), and
//! 2. the line is canonical: `JSON.stringify(JSON.parse(line))` gives the same bytes back (no
//!    whitespace, no duplicate keys, integers without sign of zero, fraction or exponent,
//!    string escapes only where and how JSON.stringify writes them).
//! For a vouched line the stored record is the line without its final `}` plus
//! `,"received_at":"<stamp>"`, exactly what fast_ingest.ts's `fastAccept` would store. Every
//! other line is DECLINED and goes through the JavaScript path unchanged, so a doubt always
//! resolves to "decline": that is only slower, never wrong.
//!
//! TIGER_STYLE: fixed buffers in the module's memory, no allocation, no recursion (the schema
//! fixes the nesting; events carrying `probe`, the one free-form object, are declined), every
//! loop bounded by the line's length or a buffer's capacity.
const std = @import("std");

/// Largest piece of lines scanned in one go; the worker gives longer ones to the JS path.
const input_capacity = 128 * 1024;
/// A record is its line plus at most `,"received_at":""` and the stamp (< 64 bytes); pieces
/// with many short lines decline the lines that no longer fit.
const output_capacity = input_capacity + 64 * 1024;
/// Lines reported per `scan` call; the caller calls again from where it stopped.
const item_capacity = 2048;
const item_fields = 3;
/// Distinct session ids remembered per job; lines of further sessions are declined.
const session_capacity = 64;
const session_bytes_max = 128;
const stamp_capacity = 64;
/// Item kind of a declined line (vouched lines carry their session's index instead).
const kind_declined: i32 = -1;

const max_safe_integer: i64 = (1 << 53) - 1;
const max_int32: i64 = (1 << 31) - 1;
const max_uint32: i64 = (1 << 32) - 1;

var input: [input_capacity]u8 = @splat(0);
var output: [output_capacity]u8 = @splat(0);
var items: [item_capacity * item_fields]i32 = @splat(0);
var stamp: [stamp_capacity]u8 = @splat(0);
var session_ids: [session_capacity][session_bytes_max]u8 = @splat(@splat(0));
var session_lengths: [session_capacity]u8 = @splat(0);
var session_count: u32 = 0;
var item_count: u32 = 0;
var output_length: u32 = 0;

export fn inputPointer() [*]u8 {
    return &input;
}
export fn inputCapacity() u32 {
    return input_capacity;
}
export fn outputPointer() [*]u8 {
    return &output;
}
export fn itemsPointer() [*]i32 {
    return &items;
}
export fn stampPointer() [*]u8 {
    return &stamp;
}
export fn sessionPointer(index: u32) [*]u8 {
    return &session_ids[@min(index, session_capacity - 1)];
}
export fn sessionLength(index: u32) u32 {
    if (index >= session_count) return 0;
    return session_lengths[index];
}
export fn itemCount() u32 {
    return item_count;
}
export fn outputLength() u32 {
    return output_length;
}

/// Forgets the sessions of the previous job.
export fn reset() void {
    session_count = 0;
}

/// Scans the lines (`\n`-separated, empty ones skipped) of `input[start..end)`, with the receive
/// time `stamp[0..stamp_length)`. Fills `items` (kind, start, end per line: for a vouched line
/// its session index and its record's span in `output`; for a declined one `kind_declined` and
/// its span in `input`) and returns where it stopped: `end`, or the start of the first line
/// left for the next call when `items` is full. Invalid arguments return `start` (no progress),
/// which the caller treats as a failure of the scanner: its lines then take the JS path.
export fn scan(start: u32, end: u32, stamp_length: u32) u32 {
    item_count = 0;
    output_length = 0;
    if (end > input_capacity or start > end or stamp_length > stamp_capacity) return start;
    const suffix_length: u32 = @as(u32, "\"received_at\":\"".len) + 2 + stamp_length;
    var position: u32 = start;
    while (position < end) {
        if (item_count == item_capacity) break;
        const line_end: u32 = if (std.mem.indexOfScalarPos(u8, input[0..end], position, '\n')) |at|
            @intCast(at)
        else
            end;
        if (line_end > position) {
            scanLine(position, line_end, stamp_length, suffix_length);
        }
        position = line_end + 1;
    }
    return @min(position, end);
}

fn scanLine(start: u32, end: u32, stamp_length: u32, suffix_length: u32) void {
    const line = input[start..end];
    const record_length = line.len - 1 + suffix_length;
    const fits = output_length + record_length <= output_capacity;
    var session: Span = .{ .start = 0, .end = 0 };
    const kind: i32 = blk: {
        if (!fits) break :blk kind_declined;
        vouch(line, &session) catch break :blk kind_declined;
        break :blk internSession(line[session.start..session.end]) orelse kind_declined;
    };
    const item = items[item_count * item_fields ..][0..item_fields];
    item_count += 1;
    item[0] = kind;
    if (kind == kind_declined) {
        item[1] = @intCast(start);
        item[2] = @intCast(end);
        return;
    }
    const record = output[output_length..][0..record_length];
    @memcpy(record[0 .. line.len - 1], line[0 .. line.len - 1]);
    const suffix = record[line.len - 1 ..];
    const key = ",\"received_at\":\"";
    @memcpy(suffix[0..key.len], key);
    @memcpy(suffix[key.len..][0..stamp_length], stamp[0..stamp_length]);
    suffix[suffix.len - 1] = '"';
    item[1] = @intCast(output_length);
    item[2] = @intCast(output_length + record_length);
    output_length += @intCast(record_length);
}

/// The index of `id` among this job's sessions (added when new); null when the table is full.
fn internSession(id: []const u8) ?i32 {
    std.debug.assert(id.len >= 1 and id.len <= session_bytes_max);
    var index: u32 = 0;
    while (index < session_count) : (index += 1) {
        if (std.mem.eql(u8, session_ids[index][0..session_lengths[index]], id)) {
            return @intCast(index);
        }
    }
    if (session_count == session_capacity) return null;
    @memcpy(session_ids[session_count][0..id.len], id);
    session_lengths[session_count] = @intCast(id.len);
    session_count += 1;
    return @intCast(session_count - 1);
}

const Decline = error{Decline};

const Span = struct { start: usize, end: usize };

/// A scanned string: its content's span in the line (without the quotes) and what it holds.
const Text = struct {
    start: usize,
    end: usize,
    /// Length in UTF-16 code units, as JavaScript's `length` counts it.
    units: usize,
    /// Whether it contains an escape sequence (then the raw bytes are not the value).
    escaped: bool,
    /// Whether it contains a C0 control character or DEL.
    control: bool,
};

const EventType = enum { open, exec, connect, deny, exit };

const chunk_bytes = 16;
const Chunk = @Vector(chunk_bytes, u8);

/// One bit per byte of `chunk` (lowest bit first) that needs a closer look: outside 0x20..0x7e,
/// or a `"` or `\`.
fn specialBytes(chunk: Chunk) u16 {
    const ones: Chunk = @splat(0xff);
    const zeros: Chunk = @splat(0);
    // 0x20..0x7e are the bytes below 0x5f once 0x20 is subtracted (wrapping).
    const shifted = chunk -% @as(Chunk, @splat(0x20));
    const outside = @select(u8, shifted >= @as(Chunk, @splat(0x5f)), ones, zeros);
    const quote = @select(u8, chunk == @as(Chunk, @splat('"')), ones, zeros);
    const backslash = @select(u8, chunk == @as(Chunk, @splat('\\')), ones, zeros);
    const special: @Vector(chunk_bytes, bool) = (outside | quote | backslash) != zeros;
    return @bitCast(special);
}

/// The bytes `specialBytes` lets pass, one at a time.
const plain_bytes: [256]bool = blk: {
    var table: [256]bool = @splat(false);
    for (0x20..0x7f) |byte| table[byte] = byte != '"' and byte != '\\';
    break :blk table;
};

/// `name`'s bytes as a little-endian number (the first byte lowest), as `@bitCast` reads them
/// from a chunk; names are at most 15 bytes and hold no zero byte, so equal numbers are equal names.
fn packed_name(comptime name: []const u8) u128 {
    comptime std.debug.assert(name.len >= 1 and name.len < chunk_bytes);
    var word: u128 = 0;
    for (name, 0..) |byte, index| word |= @as(u128, byte) << (index * 8);
    return word;
}

/// Keys of one object kind: parsed and looked up together.
fn Keys(comptime Field: type) type {
    const fields = @typeInfo(Field).@"enum".fields;
    const entries = blk: {
        var list: [fields.len]struct { []const u8, Field } = undefined;
        for (fields, 0..) |field, index| list[index] = .{ field.name, @enumFromInt(field.value) };
        break :blk list;
    };
    return struct {
        const map = std.StaticStringMap(Field).initComptime(entries);

        /// The next member's key (with its `:`) as a field; unknown keys (strict objects) and
        /// keys with escapes are declined. Keys are short: the 16 bytes after the quote are
        /// compared as one number with each field's name, in one pass.
        fn key(p: *Parser) Decline!Field {
            try p.eat('"');
            const line = p.line;
            if (p.at + chunk_bytes > line.len) return slowKey(p);
            const chunk: Chunk = line[p.at..][0..chunk_bytes].*;
            const special = specialBytes(chunk);
            // No quote, backslash or other special byte in 16: longer than every field name.
            if (special == 0) return error.Decline;
            const length = @ctz(special);
            if (line[p.at + length] != '"') return error.Decline;
            const word: u128 = @bitCast(chunk);
            const name = word & ((@as(u128, 1) << (@as(u7, length) * 8)) - 1);
            p.at += length + 1;
            try p.eat(':');
            inline for (fields) |field| {
                if (name == comptime packed_name(field.name)) return @enumFromInt(field.value);
            }
            return error.Decline;
        }

        /// `key` near the end of the line, one byte at a time.
        fn slowKey(p: *Parser) Decline!Field {
            p.at -= 1; // back to the opening quote
            return map.get(try p.key()) orelse error.Decline;
        }
        /// Records `value` in `seen`; a second occurrence (JSON.parse would keep the last value
        /// at the first one's place) is not canonical.
        fn mark(seen: *u32, value: Field) Decline!void {
            const mask = bit(value);
            if (seen.* & mask != 0) return error.Decline;
            seen.* |= mask;
        }
        fn bit(value: Field) u32 {
            return @as(u32, 1) << @intFromEnum(value);
        }
    };
}

const EnvelopeField = enum { v, timestamp, source, metadata, process, seq, dropped, event_type, payload };
const MetadataField = enum { session_id, agent };
const ProcessField = enum { pid, ppid, tid, uid, gid };
const OpenField = enum { call, path, flags, mode, dirfd, fd, errno, truncated };
const ExecField = enum { call, path, argv, env, cwd, dirfd, errno, capture, truncated };
const CaptureField = enum { mode, reason };
const ConnectField = enum { call, fd, family, address, port, errno, truncated };
const DenyField = enum { call, action, target, rule, errno, enforced, truncated };
const ExitField = enum { pid, exit_code, signal, duration_ms, truncated };

/// Succeeds only for canonical lines `isCertainlyValidEvent` accepts; `session` gets the
/// session id's span.
fn vouch(line: []const u8, session: *Span) Decline!void {
    var parser = Parser{ .line = line };
    try parser.event(session);
    if (parser.at != line.len) return error.Decline;
}

const Parser = struct {
    line: []const u8,
    at: usize = 0,

    fn peek(p: *Parser) Decline!u8 {
        if (p.at >= p.line.len) return error.Decline;
        return p.line[p.at];
    }

    fn eat(p: *Parser, byte: u8) Decline!void {
        if ((try p.peek()) != byte) return error.Decline;
        p.at += 1;
    }

    fn tryEat(p: *Parser, byte: u8) bool {
        if (p.at < p.line.len and p.line[p.at] == byte) {
            p.at += 1;
            return true;
        }
        return false;
    }

    fn literal(p: *Parser, word: []const u8) Decline!void {
        if (!std.mem.startsWith(u8, p.line[p.at..], word)) return error.Decline;
        p.at += word.len;
    }

    fn boolean(p: *Parser) Decline!void {
        if ((try p.peek()) == 't') return p.literal("true");
        return p.literal("false");
    }

    /// `{` then either `}` (returns false) or nothing more (returns true: members follow).
    fn objectStart(p: *Parser) Decline!bool {
        try p.eat('{');
        return !p.tryEat('}');
    }

    /// After a member: true when another follows (`,`), false at the object's `}`.
    fn objectNext(p: *Parser) Decline!bool {
        if (p.tryEat(',')) return true;
        try p.eat('}');
        return false;
    }

    /// A member's key and its `:`. Keys with escapes are never known keys: declined.
    fn key(p: *Parser) Decline![]const u8 {
        const text = try p.string();
        if (text.escaped) return error.Decline;
        try p.eat(':');
        return p.line[text.start..text.end];
    }

    /// A canonical JSON string: valid UTF-8, escapes only as JSON.stringify writes them.
    fn string(p: *Parser) Decline!Text {
        try p.eat('"');
        const line = p.line;
        const start = p.at;
        var text = Text{ .start = start, .end = start, .units = 0, .escaped = false, .control = false };
        // Bytes beyond the UTF-16 units they stand for (escapes, multi-byte sequences).
        var extra: usize = 0;
        // Each round advances by at least one byte or ends the string: at most line.len rounds.
        var rounds: usize = 0;
        while (rounds < line.len) : (rounds += 1) {
            // Skip printable ASCII other than `"` and `\` (most of every string): 16 bytes at a
            // time up to the first other byte; byte by byte in the line's last 15 bytes.
            while (p.at + chunk_bytes <= line.len) {
                const special = specialBytes(line[p.at..][0..chunk_bytes].*);
                if (special != 0) {
                    p.at += @ctz(special);
                    break;
                }
                p.at += chunk_bytes;
            } else {
                while (p.at < line.len and plain_bytes[line[p.at]]) p.at += 1;
            }
            if (p.at >= line.len) return error.Decline;
            const byte = line[p.at];
            if (byte == '"') {
                text.end = p.at;
                text.units = text.end - start - extra;
                p.at += 1;
                return text;
            }
            if (byte == '\\') {
                extra += try p.escape(&text);
            } else if (byte < 0x80) {
                if (byte != 0x7f) return error.Decline; // raw control: not JSON
                text.control = true;
                p.at += 1;
            } else {
                extra += try p.multiByte();
            }
        }
        return error.Decline;
    }

    /// The escapes JSON.stringify writes: `\"` `\\` `\b` `\f` `\n` `\r` `\t`, and `\u00xx` in
    /// lower case for the other controls below 0x20. Any other escape is not canonical.
    /// Returns the bytes beyond the one UTF-16 unit the escape stands for.
    fn escape(p: *Parser, text: *Text) Decline!usize {
        if (p.at + 1 >= p.line.len) return error.Decline;
        text.escaped = true;
        const next = p.line[p.at + 1];
        switch (next) {
            '"', '\\' => {},
            'b', 'f', 'n', 'r', 't' => text.control = true,
            'u' => {
                if (p.at + 6 > p.line.len) return error.Decline;
                const hex = p.line[p.at + 2 .. p.at + 6];
                if (hex[0] != '0' or hex[1] != '0') return error.Decline;
                if (hex[2] != '0' and hex[2] != '1') return error.Decline;
                const low: u8 = switch (hex[3]) {
                    '0'...'9' => hex[3] - '0',
                    'a'...'f' => hex[3] - 'a' + 10,
                    else => return error.Decline,
                };
                const code = (hex[2] - '0') * 16 + low;
                // JSON.stringify writes these five with their short escapes.
                if (code == 0x08 or code == 0x09 or code == 0x0a or code == 0x0c or code == 0x0d) {
                    return error.Decline;
                }
                text.control = true;
                p.at += 6;
                return 5;
            },
            else => return error.Decline,
        }
        p.at += 2;
        return 1;
    }

    /// One multi-byte UTF-8 sequence, strictly (no overlong forms, surrogates or values above
    /// U+10FFFF); returns its bytes beyond its UTF-16 length (one unit, or two for 4 bytes).
    fn multiByte(p: *Parser) Decline!usize {
        const line = p.line;
        const lead = line[p.at];
        var length: usize = 0;
        var low: u8 = 0x80;
        var high: u8 = 0xbf;
        switch (lead) {
            0xc2...0xdf => length = 2,
            0xe0 => {
                length = 3;
                low = 0xa0;
            },
            0xe1...0xec, 0xee...0xef => length = 3,
            0xed => {
                length = 3;
                high = 0x9f;
            },
            0xf0 => {
                length = 4;
                low = 0x90;
            },
            0xf1...0xf3 => length = 4,
            0xf4 => {
                length = 4;
                high = 0x8f;
            },
            else => return error.Decline,
        }
        if (p.at + length > line.len) return error.Decline;
        const second = line[p.at + 1];
        if (second < low or second > high) return error.Decline;
        var index: usize = 2;
        while (index < length) : (index += 1) {
            const continuation = line[p.at + index];
            if (continuation < 0x80 or continuation > 0xbf) return error.Decline;
        }
        p.at += length;
        return if (length == 4) 2 else length - 1;
    }

    /// A string whose bytes are its value (no escapes): the patterned and enumerated fields.
    fn plainString(p: *Parser) Decline![]const u8 {
        const text = try p.string();
        if (text.escaped) return error.Decline;
        return p.line[text.start..text.end];
    }

    /// A string of `min` to `max` UTF-16 code units.
    fn stringOfLength(p: *Parser, min: usize, max: usize) Decline!Text {
        const text = try p.string();
        if (text.units < min or text.units > max) return error.Decline;
        return text;
    }

    /// An integer in [min, max] as JSON.stringify writes it: no `-0`, no leading zeros, no
    /// fraction or exponent, at most 16 digits (safe integers only).
    fn integer(p: *Parser, min: i64, max: i64) Decline!i64 {
        const negative = p.tryEat('-');
        const first = p.at;
        var value: i64 = 0;
        var digits: usize = 0;
        while (p.at < p.line.len and digits <= 16) : (digits += 1) {
            const byte = p.line[p.at];
            if (byte < '0' or byte > '9') break;
            value = value * 10 + (byte - '0');
            p.at += 1;
        }
        if (digits == 0 or digits > 16) return error.Decline;
        if (p.line[first] == '0' and (digits > 1 or negative)) return error.Decline;
        if (p.at < p.line.len) {
            const after = p.line[p.at];
            if (after == '.' or after == 'e' or after == 'E') return error.Decline;
        }
        if (value > max_safe_integer) return error.Decline;
        if (negative) value = -value;
        if (value < min or value > max) return error.Decline;
        return value;
    }

    /// A non-negative number JSON.stringify writes byte for byte as received: an integer, or a
    /// decimal fraction without trailing zeros, at most 15 significant digits (every such
    /// decimal is the shortest one that reads back as the same double, which is what
    /// Number.prototype.toString writes) and at least 1e-6 (smaller ones it writes with an
    /// exponent).
    fn duration(p: *Parser) Decline!void {
        const first = p.at;
        var digits: usize = 0;
        while (p.at < p.line.len and digits <= 15) : (digits += 1) {
            const byte = p.line[p.at];
            if (byte < '0' or byte > '9') break;
            p.at += 1;
        }
        if (digits == 0 or digits > 15) return error.Decline;
        const zero_integer = p.line[first] == '0';
        if (zero_integer and digits > 1) return error.Decline;
        if (p.tryEat('.')) {
            var significant: usize = if (zero_integer) 0 else digits;
            var leading_zeros: usize = 0;
            var fraction: usize = 0;
            var last: u8 = '0';
            while (p.at < p.line.len and fraction <= 21) : (fraction += 1) {
                const byte = p.line[p.at];
                if (byte < '0' or byte > '9') break;
                if (significant == 0 and byte == '0') {
                    leading_zeros += 1;
                } else {
                    significant += 1;
                }
                last = byte;
                p.at += 1;
            }
            if (fraction == 0 or last == '0') return error.Decline;
            if (significant > 15 or leading_zeros > 5) return error.Decline;
        }
        if (p.at < p.line.len) {
            const after = p.line[p.at];
            if (after == 'e' or after == 'E' or (after >= '0' and after <= '9')) {
                return error.Decline;
            }
        }
    }

    /// The top-level object. `payload` must come after `event_type` (producers send it so);
    /// in the other order the line is declined.
    fn event(p: *Parser, session: *Span) Decline!void {
        const K = Keys(EnvelopeField);
        var seen: u32 = 0;
        var event_type: ?EventType = null;
        if (!try p.objectStart()) return error.Decline;
        while (true) {
            const field = try K.key(p);
            try K.mark(&seen, field);
            switch (field) {
                .v => _ = try p.integer(1, 1),
                .timestamp => if (!isTimestamp(try p.plainString())) return error.Decline,
                .source => {
                    const value = try p.plainString();
                    if (!eql(value, "Shim") and !eql(value, "Runner")) return error.Decline;
                },
                .metadata => try p.metadataObject(session),
                .process => try p.processObject(),
                .seq, .dropped => _ = try p.integer(0, max_safe_integer),
                .event_type => event_type = try eventType(try p.plainString()),
                .payload => switch (event_type orelse return error.Decline) {
                    .open => try p.openPayload(),
                    .exec => try p.execPayload(),
                    .connect => try p.connectPayload(),
                    .deny => try p.denyPayload(),
                    .exit => try p.exitPayload(),
                },
            }
            if (!try p.objectNext()) break;
        }
        const required = ~K.bit(.dropped) & (K.bit(.payload) * 2 - 1);
        if (seen & required != required) return error.Decline;
    }

    fn metadataObject(p: *Parser, session: *Span) Decline!void {
        const K = Keys(MetadataField);
        var seen: u32 = 0;
        if (!try p.objectStart()) return error.Decline;
        while (true) {
            const field = try K.key(p);
            try K.mark(&seen, field);
            switch (field) {
                .session_id => {
                    const start = p.at + 1;
                    if (!isSessionId(try p.plainString())) return error.Decline;
                    session.* = .{ .start = start, .end = p.at - 1 };
                },
                .agent => {
                    const text = try p.stringOfLength(1, 128);
                    if (text.control) return error.Decline;
                },
            }
            if (!try p.objectNext()) break;
        }
        if (seen != 3) return error.Decline;
    }

    fn processObject(p: *Parser) Decline!void {
        const K = Keys(ProcessField);
        var seen: u32 = 0;
        if (!try p.objectStart()) return error.Decline;
        while (true) {
            const field = try K.key(p);
            try K.mark(&seen, field);
            _ = switch (field) {
                .pid, .tid => try p.integer(1, max_int32),
                .ppid => try p.integer(0, max_int32),
                .uid, .gid => try p.integer(0, max_uint32),
            };
            if (!try p.objectNext()) break;
        }
        if (seen != 31) return error.Decline;
    }

    fn openPayload(p: *Parser) Decline!void {
        const K = Keys(OpenField);
        var seen: u32 = 0;
        if (!try p.objectStart()) return error.Decline;
        while (true) {
            const field = try K.key(p);
            try K.mark(&seen, field);
            switch (field) {
                .call => _ = try p.stringOfLength(1, 64),
                .path => _ = try p.string(),
                .flags => try p.openFlags(),
                .mode => _ = try p.integer(0, 0o7777),
                .dirfd => _ = try p.integer(-max_safe_integer, max_safe_integer),
                .fd => _ = try p.integer(0, max_int32),
                .errno => _ = try p.integer(1, 4095),
                .truncated => try p.literal("true"),
            }
            if (!try p.objectNext()) break;
        }
        const required = K.bit(.call) | K.bit(.path) | K.bit(.flags);
        if (seen & required != required) return error.Decline;
        // Exactly one outcome: fd (success) or errno (failure).
        if ((seen & K.bit(.fd) != 0) == (seen & K.bit(.errno) != 0)) return error.Decline;
    }

    fn openFlags(p: *Parser) Decline!void {
        try p.eat('[');
        if (p.tryEat(']')) return;
        while (p.at < p.line.len) {
            if (!isOpenFlag(try p.plainString())) return error.Decline;
            if (p.tryEat(',')) continue;
            return p.eat(']');
        }
        return error.Decline;
    }

    fn stringArray(p: *Parser) Decline!void {
        try p.eat('[');
        if (p.tryEat(']')) return;
        while (p.at < p.line.len) {
            _ = try p.string();
            if (p.tryEat(',')) continue;
            return p.eat(']');
        }
        return error.Decline;
    }

    /// Events with `probe` (free-form JSON, whose canonical form depends on V8 putting
    /// integer-like keys first) are declined as an unknown key: the JS path decides them.
    fn execPayload(p: *Parser) Decline!void {
        const K = Keys(ExecField);
        var seen: u32 = 0;
        if (!try p.objectStart()) return error.Decline;
        while (true) {
            const field = try K.key(p);
            try K.mark(&seen, field);
            switch (field) {
                .call => _ = try p.stringOfLength(1, 64),
                .path, .cwd => _ = try p.string(),
                .argv, .env => try p.stringArray(),
                .dirfd => _ = try p.integer(-max_safe_integer, max_safe_integer),
                .errno => _ = try p.integer(1, 4095),
                .capture => try p.captureObject(),
                .truncated => try p.literal("true"),
            }
            if (!try p.objectNext()) break;
        }
        const required = K.bit(.call) | K.bit(.path) | K.bit(.argv) | K.bit(.env) | K.bit(.cwd);
        if (seen & required != required) return error.Decline;
    }

    fn captureObject(p: *Parser) Decline!void {
        const K = Keys(CaptureField);
        var seen: u32 = 0;
        if (!try p.objectStart()) return error.Decline;
        while (true) {
            const field = try K.key(p);
            try K.mark(&seen, field);
            _ = switch (field) {
                .mode => try p.stringOfLength(1, 64),
                .reason => try p.stringOfLength(0, 1024),
            };
            if (!try p.objectNext()) break;
        }
        if (seen != 3) return error.Decline;
    }

    fn connectPayload(p: *Parser) Decline!void {
        const K = Keys(ConnectField);
        var seen: u32 = 0;
        var inet = false;
        if (!try p.objectStart()) return error.Decline;
        while (true) {
            const field = try K.key(p);
            try K.mark(&seen, field);
            switch (field) {
                .call => _ = try p.stringOfLength(1, 64),
                .fd => _ = try p.integer(0, max_int32),
                .family => {
                    const family = try p.plainString();
                    if (!isFamily(family)) return error.Decline;
                    inet = eql(family, "AF_INET") or eql(family, "AF_INET6");
                },
                .address => _ = try p.string(),
                .port => _ = try p.integer(0, 65535),
                .errno => _ = try p.integer(1, 4095),
                .truncated => try p.literal("true"),
            }
            if (!try p.objectNext()) break;
        }
        const required = K.bit(.call) | K.bit(.fd) | K.bit(.family) | K.bit(.address);
        if (seen & required != required) return error.Decline;
        // The port is required for AF_INET and AF_INET6.
        if (inet and seen & K.bit(.port) == 0) return error.Decline;
    }

    fn denyPayload(p: *Parser) Decline!void {
        const K = Keys(DenyField);
        var seen: u32 = 0;
        if (!try p.objectStart()) return error.Decline;
        while (true) {
            const field = try K.key(p);
            try K.mark(&seen, field);
            switch (field) {
                .call => _ = try p.stringOfLength(1, 64),
                .action => {
                    const action = try p.plainString();
                    if (!eql(action, "Exec") and !eql(action, "Open") and !eql(action, "Connect")) {
                        return error.Decline;
                    }
                },
                .target, .rule => _ = try p.string(),
                .errno => _ = try p.integer(0, 4095),
                .enforced => try p.boolean(),
                .truncated => try p.literal("true"),
            }
            if (!try p.objectNext()) break;
        }
        const required = K.bit(.truncated) - 1; // every field before it
        if (seen & required != required) return error.Decline;
    }

    fn exitPayload(p: *Parser) Decline!void {
        const K = Keys(ExitField);
        var seen: u32 = 0;
        if (!try p.objectStart()) return error.Decline;
        while (true) {
            const field = try K.key(p);
            try K.mark(&seen, field);
            switch (field) {
                .pid => _ = try p.integer(1, max_int32),
                .exit_code => _ = try p.integer(0, 255),
                .signal => _ = try p.integer(1, 64),
                .duration_ms => try p.duration(),
                .truncated => try p.literal("true"),
            }
            if (!try p.objectNext()) break;
        }
        const required = K.bit(.pid) | K.bit(.duration_ms);
        if (seen & required != required) return error.Decline;
        // Exactly one of exit_code and signal.
        if ((seen & K.bit(.exit_code) != 0) == (seen & K.bit(.signal) != 0)) return error.Decline;
    }
};

fn eventType(value: []const u8) Decline!EventType {
    if (eql(value, "Open")) return .open;
    if (eql(value, "Exec")) return .exec;
    if (eql(value, "Connect")) return .connect;
    if (eql(value, "Deny")) return .deny;
    if (eql(value, "Exit")) return .exit;
    return error.Decline;
}

fn eql(a: []const u8, b: []const u8) bool {
    return std.mem.eql(u8, a, b);
}

fn isDigit(byte: u8) bool {
    return byte >= '0' and byte <= '9';
}

fn isUpperOrDigit(byte: u8) bool {
    return (byte >= 'A' and byte <= 'Z') or isDigit(byte);
}

fn isAlphanumeric(byte: u8) bool {
    return isUpperOrDigit(byte) or (byte >= 'a' and byte <= 'z');
}

/// `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`
fn isSessionId(value: []const u8) bool {
    if (value.len < 1 or value.len > session_bytes_max) return false;
    if (!isAlphanumeric(value[0])) return false;
    for (value[1..]) |byte| {
        if (!isAlphanumeric(byte) and byte != '.' and byte != '_' and byte != '-') return false;
    }
    return true;
}

/// `^O_[A-Z0-9_]+$`
fn isOpenFlag(value: []const u8) bool {
    if (value.len < 3 or !std.mem.startsWith(u8, value, "O_")) return false;
    for (value[2..]) |byte| {
        if (!isUpperOrDigit(byte) and byte != '_') return false;
    }
    return true;
}

/// `^AF_([A-Z0-9]+|\d+)$` (the second branch is part of the first).
fn isFamily(value: []const u8) bool {
    if (value.len < 4 or !std.mem.startsWith(u8, value, "AF_")) return false;
    for (value[3..]) |byte| {
        if (!isUpperOrDigit(byte)) return false;
    }
    return true;
}

/// `^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?Z$`
fn isTimestamp(value: []const u8) bool {
    if (value.len < 20 or value.len > 30) return false;
    const t = value;
    for ([_]usize{ 0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18 }) |index| {
        if (!isDigit(t[index])) return false;
    }
    if (t[4] != '-' or t[7] != '-' or t[10] != 'T' or t[13] != ':' or t[16] != ':') return false;
    const month = (t[5] - '0') * 10 + (t[6] - '0');
    if (month < 1 or month > 12) return false;
    const day = (t[8] - '0') * 10 + (t[9] - '0');
    if (day < 1 or day > 31) return false;
    const hour = (t[11] - '0') * 10 + (t[12] - '0');
    if (hour > 23) return false;
    if (t[14] > '5') return false;
    const second = (t[17] - '0') * 10 + (t[18] - '0');
    if (second > 60) return false;
    if (value.len == 20) return t[19] == 'Z';
    if (t[19] != '.' or t[value.len - 1] != 'Z') return false;
    // 1 to 9 fraction digits between the dot and the Z.
    if (value.len < 22) return false;
    for (t[20 .. value.len - 1]) |byte| {
        if (!isDigit(byte)) return false;
    }
    return true;
}
