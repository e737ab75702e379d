//! A JSON writer into a fixed buffer. It never allocates and never writes past the buffer.
//! Strings are escaped (invalid UTF-8 becomes U+FFFD) and cut when they would cross the
//! string limit; a cut sets `truncated`, which the event encoder reports as `truncated: true`.
const std = @import("std");
const sys = @import("sys.zig");

/// Bytes kept free after the last string for the structure that closes an event
/// (closing brackets, `truncated`, `seq`, `dropped`, newline).
pub const tail_reserve: usize = 192;

/// "00" to "99": numbers are written two digits at a time.
const digit_pairs: [200]u8 = blk: {
    var table: [200]u8 = undefined;
    for (0..100) |k| {
        table[2 * k] = '0' + k / 10;
        table[2 * k + 1] = '0' + k % 10;
    }
    break :blk table;
};

/// The two decimal digits of `value` (below 100).
pub inline fn digitPair(value: u64) [2]u8 {
    const k: usize = @intCast(value % 100);
    return digit_pairs[2 * k ..][0..2].*;
}

/// Writes `value` in decimal at the start of `out`; returns the number of digits.
pub fn formatUint(out: *[20]u8, value: u64) usize {
    var digits: [20]u8 = undefined;
    var n = value;
    var i: usize = digits.len;
    // Two digits per division: every event carries several numbers.
    while (n >= 100 and i >= 2) {
        i -= 2;
        digits[i..][0..2].* = digitPair(n % 100);
        n /= 100;
    }
    if (n >= 10) {
        i -= 2;
        digits[i..][0..2].* = digitPair(n);
    } else {
        i -= 1;
        digits[i] = @intCast('0' + n);
    }
    const len = digits.len - i;
    sys.copyBytes(out, digits[i..].ptr, len);
    return len;
}

pub const Writer = struct {
    buf: []u8,
    len: usize = 0,
    /// Strings stop here so that the closing structure always fits.
    string_limit: usize,
    /// A string was cut or an array was shortened.
    truncated: bool = false,
    /// Structure did not fit: the event is unusable and must be dropped.
    overflow: bool = false,

    pub fn init(buf: []u8) Writer {
        const limit = if (buf.len > tail_reserve) buf.len - tail_reserve else 0;
        return .{ .buf = buf, .string_limit = limit };
    }

    pub fn written(self: *const Writer) []const u8 {
        return self.buf[0..self.len];
    }

    /// Appends structural bytes (already valid JSON). Marks overflow instead of writing past the
    /// end.
    pub fn raw(self: *Writer, bytes: []const u8) void {
        _ = sys.invariant(self.len <= self.buf.len);
        if (self.overflow) return;
        if (bytes.len > self.buf.len - self.len) {
            self.overflow = true;
            return;
        }
        sys.copyBytes(self.buf[self.len..].ptr, bytes.ptr, bytes.len);
        self.len += bytes.len;
    }

    pub fn byte(self: *Writer, b: u8) void {
        self.raw(&[1]u8{b});
    }

    pub fn uint(self: *Writer, value: u64) void {
        var digits: [20]u8 = undefined;
        const n = formatUint(&digits, value);
        self.raw(digits[0..n]);
    }

    pub fn int(self: *Writer, value: i64) void {
        if (value < 0) {
            self.byte('-');
            self.uint(@as(u64, @intCast(-(value + 1))) + 1);
        } else {
            self.uint(@intCast(value));
        }
    }

    /// `"key":` (keys are plain ASCII literals).
    pub fn key(self: *Writer, comptime name: []const u8) void {
        self.raw("\"" ++ name ++ "\":");
    }

    /// Whether a string written now would have room for at least its quotes.
    pub fn hasRoomForString(self: *const Writer) bool {
        return self.len + 2 <= self.string_limit;
    }

    /// A NUL-terminated C string, escaped, cut at the string limit.
    pub fn cstring(self: *Writer, s: ?[*:0]const u8) void {
        const p = s orelse {
            self.raw("\"\"");
            return;
        };
        self.escaped(p, std.math.maxInt(usize), true);
    }

    /// A byte slice (may contain NULs, which are escaped), cut at the string limit.
    pub fn string(self: *Writer, s: []const u8) void {
        self.escaped(s.ptr, s.len, false);
    }

    fn escaped(self: *Writer, p: [*]const u8, max_len: usize, stop_at_nul: bool) void {
        if (!self.beginString()) return;
        _ = self.append(p, max_len, stop_at_nul);
        self.endString();
    }

    /// Opens a string. When there is no room left it writes `""`, marks the event truncated and
    /// returns false (the caller must not append or end).
    pub fn beginString(self: *Writer) bool {
        if (self.overflow) return false;
        if (self.len + 2 > self.string_limit) {
            self.truncated = true;
            self.raw("\"\"");
            return false;
        }
        self.buf[self.len] = '"';
        self.len += 1;
        return true;
    }

    /// Appends escaped content to an open string; returns false when it had to cut.
    pub fn append(self: *Writer, p: [*]const u8, max_len: usize, stop_at_nul: bool) bool {
        // Keep one byte for the closing quote.
        const end = self.string_limit - 1;
        var i: usize = 0;
        while (i < max_len) {
            const c = p[i];
            if (stop_at_nul and c == 0) break;
            if (isPlain(c)) {
                // A run of bytes that need no escaping is copied at once (per byte, the copy was
                // most of the cost of an Exec event, whose env is long). NUL is not plain, so the
                // run never extends past the end of a C string.
                const run = plainRunEnd(p, i + 1, max_len) - i;
                const room = if (self.len < end) end - self.len else 0;
                const take = @min(run, room);
                sys.copyBytes(self.buf[self.len..].ptr, p + i, take);
                self.len += take;
                i += take;
                if (take < run) {
                    self.truncated = true;
                    return false;
                }
                continue;
            }
            var unit: [6]u8 = undefined;
            var unit_len: usize = 0;
            var consumed: usize = 1;
            if (c < 0x80) {
                unit_len = escapeAscii(c, &unit);
            } else {
                const seq_len = utf8Length(p, i, max_len, stop_at_nul);
                if (seq_len == 0) {
                    @memcpy(unit[0..6], "\\ufffd");
                    unit_len = 6;
                } else {
                    @memcpy(unit[0..seq_len], p[i .. i + seq_len]);
                    unit_len = seq_len;
                    consumed = seq_len;
                }
            }
            if (self.len + unit_len > end) {
                self.truncated = true;
                return false;
            }
            @memcpy(self.buf[self.len .. self.len + unit_len], unit[0..unit_len]);
            self.len += unit_len;
            i += consumed;
        }
        return true;
    }

    /// Writes, as a whole string, what `fill` puts into the free part of the buffer (at most
    /// `max_len` bytes; `fill` returns their number, or null when it could not), provided every
    /// byte is printable ASCII that needs no escape. Returns false, having written nothing, in any
    /// other case (the caller then writes the string the usual way). Needs no copy of the value
    /// elsewhere: for the working directory, this saves a 4 KiB buffer on the stack.
    pub fn plainInPlace(
        self: *Writer,
        max_len: usize,
        context: anytype,
        comptime fill: fn (@TypeOf(context), []u8) ?usize,
    ) bool {
        if (self.overflow or self.len + 2 > self.string_limit) return false;
        const room = @min(self.string_limit - self.len - 2, max_len);
        const out = self.buf[self.len + 1 ..][0..room];
        const n = fill(context, out) orelse return false;
        if (n > out.len) return false;
        for (out[0..n]) |c| {
            if (c < 0x20 or c >= 0x7f or c == '"' or c == '\\') return false;
        }
        self.buf[self.len] = '"';
        self.buf[self.len + 1 + n] = '"';
        self.len += n + 2;
        return true;
    }

    /// Closes a string opened by beginString (room for the quote was kept).
    pub fn endString(self: *Writer) void {
        // append() stops one byte before string_limit, which is below the buffer's end.
        if (!sys.invariant(self.len < self.buf.len)) {
            self.overflow = true;
            return;
        }
        self.buf[self.len] = '"';
        self.len += 1;
    }
};

/// The index of the first byte at or after `start` that is not plain (or `max_len`). Sixteen
/// bytes at a time (one SSE2 compare per test on x86_64): a path is read in a few blocks instead
/// of byte by byte (the scan was most of the cost of an Open event). A block is read only when
/// all its bytes lie within one page, so reading past a C string's NUL (which ends the run) never
/// touches another page; near a page's end and at a slice's end it goes byte by byte.
fn plainRunEnd(p: [*]const u8, start: usize, max_len: usize) usize {
    const block = 16;
    var j = start;
    while (j < max_len) {
        // Blocks that end within both the page and the slice.
        const page_room = 4096 - @intFromPtr(p + j) % 4096;
        const limit = j + @min(max_len - j, page_room);
        while (limit - j >= block) {
            const bad = notPlainMask(@as(*align(1) const @Vector(block, u8), @ptrCast(p + j)).*);
            if (bad != 0) return j + @ctz(bad);
            j += block;
        }
        if (j == max_len) break;
        if (!isPlain(p[j])) return j;
        j += 1;
    }
    return j;
}

/// Bit k set when byte k of `v` is not plain.
inline fn notPlainMask(v: @Vector(16, u8)) u16 {
    const V = @Vector(16, u8);
    const control: u16 = @bitCast(v < @as(V, @splat(0x20)));
    const high: u16 = @bitCast(v >= @as(V, @splat(0x7f)));
    const quote: u16 = @bitCast(v == @as(V, @splat('"')));
    const backslash: u16 = @bitCast(v == @as(V, @splat('\\')));
    return control | high | quote | backslash;
}

/// Printable ASCII that JSON takes as it is.
inline fn isPlain(c: u8) bool {
    return c >= 0x20 and c < 0x7f and c != '"' and c != '\\';
}

fn escapeAscii(c: u8, out: *[6]u8) usize {
    switch (c) {
        '"' => {
            out[0..2].* = "\\\"".*;
            return 2;
        },
        '\\' => {
            out[0..2].* = "\\\\".*;
            return 2;
        },
        '\n' => {
            out[0..2].* = "\\n".*;
            return 2;
        },
        '\r' => {
            out[0..2].* = "\\r".*;
            return 2;
        },
        '\t' => {
            out[0..2].* = "\\t".*;
            return 2;
        },
        else => {
            const hex = "0123456789abcdef";
            out.* = .{ '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };
            return 6;
        },
    }
}

/// Length of the valid UTF-8 sequence starting at p[i], or 0 when it is invalid.
/// Never reads past a NUL (for C strings) or past max_len.
fn utf8Length(p: [*]const u8, i: usize, max_len: usize, stop_at_nul: bool) usize {
    const c = p[i];
    const len: usize = if (c >= 0xc2 and c <= 0xdf) 2 else if (c >= 0xe0 and c <= 0xef)
        3
    else if (c >= 0xf0 and c <= 0xf4)
        4
    else
        return 0;
    if (max_len - i < len) return 0;
    var k: usize = 1;
    while (k < len) : (k += 1) {
        const b = p[i + k];
        if (stop_at_nul and b == 0) return 0;
        if (b & 0xc0 != 0x80) return 0;
    }
    const b1 = p[i + 1];
    // Overlong, surrogate and beyond-U+10FFFF forms are invalid.
    if (c == 0xe0 and b1 < 0xa0) return 0;
    if (c == 0xed and b1 > 0x9f) return 0;
    if (c == 0xf0 and b1 < 0x90) return 0;
    if (c == 0xf4 and b1 > 0x8f) return 0;
    return len;
}

test "escapes quotes, backslashes and control characters" {
    var buf: [512]u8 = undefined;
    var w = Writer.init(&buf);
    w.cstring("a\"b\\c\n\x01");
    try std.testing.expectEqualStrings("\"a\\\"b\\\\c\\n\\u0001\"", w.written());
    try std.testing.expect(!w.truncated);
}

test "keeps valid UTF-8 and replaces invalid bytes" {
    var buf: [512]u8 = undefined;
    var w = Writer.init(&buf);
    w.cstring("h\xc3\xa9\xff\xe2\x82");
    try std.testing.expectEqualStrings("\"h\xc3\xa9\\ufffd\\ufffd\\ufffd\"", w.written());
}

test "cuts a long string at the limit and marks it truncated" {
    var buf: [tail_reserve + 10]u8 = undefined;
    var w = Writer.init(&buf);
    w.cstring("0123456789abcdef");
    try std.testing.expectEqualStrings("\"01234567\"", w.written());
    try std.testing.expect(w.truncated);
    w.cstring("more");
    try std.testing.expectEqualStrings("\"01234567\"\"\"", w.written());
}

test "writes byte slices with embedded NULs escaped" {
    var buf: [512]u8 = undefined;
    var w = Writer.init(&buf);
    w.string("@a\x00b");
    try std.testing.expectEqualStrings("\"@a\\u0000b\"", w.written());
}

test "writes integers" {
    var buf: [512]u8 = undefined;
    var w = Writer.init(&buf);
    w.int(-100);
    w.byte(' ');
    w.uint(0);
    w.byte(' ');
    w.int(std.math.minInt(i64));
    try std.testing.expectEqualStrings("-100 0 -9223372036854775808", w.written());
}

test "writes integers at every digit-count boundary" {
    var buf: [512]u8 = undefined;
    var w = Writer.init(&buf);
    const values = [_]u64{ 9, 10, 99, 100, 101, 999, 1000, 12345, std.math.maxInt(u64) };
    for (values) |v| {
        w.uint(v);
        w.byte(' ');
    }
    try std.testing.expectEqualStrings(
        "9 10 99 100 101 999 1000 12345 18446744073709551615 ",
        w.written(),
    );
}

test "finds the first byte that needs escaping in any position of a word" {
    // Every byte value at every offset of a 24-byte string, after plain bytes, with plain and
    // non-plain bytes after it: the word scan must stop exactly where the byte test does.
    var buf: [24]u8 = undefined;
    var value: usize = 0;
    while (value < 256) : (value += 1) {
        for (0..buf.len) |at| {
            for (&buf, 0..) |*b, k| b.* = if (k % 3 == 0) '"' else 'a';
            for (buf[0..at]) |*b| b.* = 'a';
            buf[at] = @intCast(value);
            const expected = if (isPlain(@intCast(value))) blk: {
                var k = at + 1;
                while (k < buf.len and isPlain(buf[k])) k += 1;
                break :blk k;
            } else at;
            try std.testing.expectEqual(expected, plainRunEnd(&buf, 0, buf.len));
        }
    }
}

test "the word scan never reads into the page after a C string's NUL" {
    // A string whose NUL is the last byte of a page, followed by a page that cannot be read: a
    // word read across the boundary would crash the test.
    const page = 4096;
    const mem = try std.posix.mmap(
        null,
        2 * page,
        std.posix.PROT.READ | std.posix.PROT.WRITE,
        .{ .TYPE = .PRIVATE, .ANONYMOUS = true },
        -1,
        0,
    );
    defer std.posix.munmap(mem);
    try std.posix.mprotect(mem[page..], std.posix.PROT.NONE);
    for (1..40) |len| {
        const str = mem[page - 1 - len .. page];
        @memset(str[0..len], 'p');
        str[len] = 0;
        try std.testing.expectEqual(len, plainRunEnd(str.ptr, 0, std.math.maxInt(usize)));
        var buf: [256]u8 = undefined;
        var w = Writer.init(&buf);
        w.cstring(@ptrCast(str.ptr));
        try std.testing.expectEqual(len + 2, w.len);
    }
}

test "a plain run ends at the slice's end" {
    const s = "abcdefghijklmnopq";
    try std.testing.expectEqual(@as(usize, 17), plainRunEnd(s, 0, s.len));
    try std.testing.expectEqual(@as(usize, 11), plainRunEnd(s, 3, 11));
}

fn fillWith(value: []const u8, out: []u8) ?usize {
    if (value.len > out.len) return null;
    @memcpy(out[0..value.len], value);
    return value.len;
}

test "writes a plain value in place as a string" {
    var buf: [256]u8 = undefined;
    var w = Writer.init(&buf);
    w.raw("[");
    try std.testing.expect(w.plainInPlace(4096, @as([]const u8, "/home/a b"), fillWith));
    w.raw("]");
    try std.testing.expectEqualStrings("[\"/home/a b\"]", w.written());
}

test "writes nothing in place when the value needs escaping or does not fit" {
    var buf: [256]u8 = undefined;
    var w = Writer.init(&buf);
    w.raw("[");
    try std.testing.expect(!w.plainInPlace(4096, @as([]const u8, "/tmp/\"q\""), fillWith));
    try std.testing.expect(!w.plainInPlace(4096, @as([]const u8, "/tmp/\xc3\xa9"), fillWith));
    try std.testing.expect(!w.plainInPlace(4, @as([]const u8, "/tmp/x"), fillWith));
    try std.testing.expectEqualStrings("[", w.written());
    try std.testing.expect(!w.truncated and !w.overflow);
}
