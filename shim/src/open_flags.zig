//! open(2) flags as protocol names, and fopen mode strings as open flags.
const std = @import("std");
const builtin = @import("builtin");
const json = @import("json.zig");

const Flag = struct { bit: u32, name: []const u8 };

const arch_bits = switch (builtin.cpu.arch) {
    .aarch64, .aarch64_be, .arm, .armeb => .{
        .directory = 0o40000,
        .nofollow = 0o100000,
        .direct = 0o200000,
        .largefile = 0o400000,
    },
    else => .{
        .directory = 0o200000,
        .nofollow = 0o400000,
        .direct = 0o40000,
        .largefile = 0o100000,
    },
};

pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_DSYNC: u32 = 0o10000;
const O_SYNC_BIT: u32 = 0o4000000;
const O_TMPFILE_BIT: u32 = 0o20000000;
pub const O_DIRECTORY: u32 = arch_bits.directory;

const flags = [_]Flag{
    .{ .bit = O_CREAT, .name = "O_CREAT" },
    .{ .bit = O_EXCL, .name = "O_EXCL" },
    .{ .bit = 0o400, .name = "O_NOCTTY" },
    .{ .bit = O_TRUNC, .name = "O_TRUNC" },
    .{ .bit = O_APPEND, .name = "O_APPEND" },
    .{ .bit = 0o4000, .name = "O_NONBLOCK" },
    .{ .bit = 0o20000, .name = "O_ASYNC" },
    .{ .bit = arch_bits.direct, .name = "O_DIRECT" },
    .{ .bit = arch_bits.largefile, .name = "O_LARGEFILE" },
    .{ .bit = 0o1000000, .name = "O_NOATIME" },
    .{ .bit = O_CLOEXEC, .name = "O_CLOEXEC" },
    .{ .bit = 0o10000000, .name = "O_PATH" },
};

/// The simple flags' bits, and for each bit number its `,"NAME"` (empty when unnamed).
const named_bits: u32 = blk: {
    var bits: u32 = 0;
    var previous: u32 = 0;
    for (flags) |flag| {
        // Visiting set bits lowest first (below) writes them in the table's order only if the
        // table is sorted by bit.
        if (flag.bit <= previous) @compileError("open flag table not sorted by bit");
        previous = flag.bit;
        bits |= flag.bit;
    }
    break :blk bits;
};
const quoted_by_bit: [32][]const u8 = blk: {
    var table = [_][]const u8{""} ** 32;
    for (flags) |flag| table[@ctz(flag.bit)] = ",\"" ++ flag.name ++ "\"";
    break :blk table;
};

/// Whether open's third argument is present: only O_CREAT and O_TMPFILE carry a mode. O_TMPFILE
/// is the tmpfile bit together with O_DIRECTORY (glibc's __OPEN_NEEDS_MODE): the bit alone is an
/// invalid open that glibc passes no mode for, so there is none to read.
pub fn carriesMode(f: c_int) bool {
    const u: u32 = @bitCast(f);
    const tmpfile = O_TMPFILE_BIT | O_DIRECTORY;
    return u & O_CREAT != 0 or u & tmpfile == tmpfile;
}

/// Writes `"flags":[...]`. O_SYNC and O_TMPFILE are composite flags and named as such.
pub fn write(w: *json.Writer, f: c_int) void {
    writeBetween(w, f, "", "");
}

/// Writes `before` `"flags":[...]` `after`, joined with the first and last write.
pub fn writeBetween(
    w: *json.Writer,
    f: c_int,
    comptime before: []const u8,
    comptime after: []const u8,
) void {
    const u: u32 = @bitCast(f);
    const head = before ++ "\"flags\":[";
    switch (u & 3) {
        0 => w.raw(head ++ "\"O_RDONLY\""),
        1 => w.raw(head ++ "\"O_WRONLY\""),
        2 => w.raw(head ++ "\"O_RDWR\""),
        else => w.raw(head ++ "\"O_ACCMODE3\""),
    }
    // Only the set bits are visited: a usual open has one or two.
    var named = u & named_bits;
    while (named != 0) : (named &= named - 1) w.raw(quoted_by_bit[@ctz(named)]);
    var known: u32 = 3 | named_bits;
    if (u & O_SYNC_BIT != 0) {
        w.raw(if (u & O_DSYNC != 0) ",\"O_SYNC\"" else ",\"O_SYNC_ONLY\"");
    } else if (u & O_DSYNC != 0) {
        w.raw(",\"O_DSYNC\"");
    }
    if (u & O_TMPFILE_BIT != 0) {
        w.raw(if (u & O_DIRECTORY != 0) ",\"O_TMPFILE\"" else ",\"O_TMPFILE_ONLY\"");
    } else if (u & O_DIRECTORY != 0) {
        w.raw(",\"O_DIRECTORY\"");
    }
    if (u & arch_bits.nofollow != 0) w.raw(",\"O_NOFOLLOW\"");
    known |= O_SYNC_BIT | O_DSYNC | O_TMPFILE_BIT | O_DIRECTORY | arch_bits.nofollow;
    // Bits without a name are still reported, as O_BIT<n>: visited lowest first by clearing
    // them one at a time, so a usual open (no unknown bit) does no per-bit work at all.
    var unknown = u & ~known;
    while (unknown != 0) : (unknown &= unknown - 1) {
        w.raw(",\"O_BIT");
        w.uint(@ctz(unknown));
        w.byte('"');
    }
    w.raw("]" ++ after);
}

/// open flags equivalent to an fopen mode string ("r", "w+", "ae", "wx", ...), as glibc maps them.
pub fn fromFopenMode(mode: ?[*:0]const u8) c_int {
    const m = mode orelse return 0;
    var f: u32 = switch (m[0]) {
        'r' => 0,
        'w' => 1 | O_CREAT | O_TRUNC,
        'a' => 1 | O_CREAT | O_APPEND,
        else => return 0,
    };
    // glibc reads at most the six characters after the first (`_IO_new_file_fopen`), stopping
    // at the end or at ",ccs=": a `+`, `x` or `e` further on changes nothing.
    var i: usize = 1;
    while (i < 7 and m[i] != 0 and m[i] != ',') : (i += 1) {
        switch (m[i]) {
            '+' => f = (f & ~@as(u32, 3)) | 2,
            'x' => f |= O_EXCL,
            'e' => f |= O_CLOEXEC,
            else => {},
        }
    }
    return @bitCast(f);
}

test "names access mode and flags" {
    var buf: [512]u8 = undefined;
    var w = json.Writer.init(&buf);
    write(&w, @bitCast(@as(u32, 1 | O_CREAT | O_TRUNC | O_CLOEXEC)));
    try std.testing.expectEqualStrings(
        "\"flags\":[\"O_WRONLY\",\"O_CREAT\",\"O_TRUNC\",\"O_CLOEXEC\"]",
        w.written(),
    );
}

test "names every simple flag in table order, alone and all together" {
    var buf: [1024]u8 = undefined;
    var expected_buf: [1024]u8 = undefined;
    var all: u32 = 0;
    for (flags) |flag| {
        all |= flag.bit;
        var w = json.Writer.init(&buf);
        write(&w, @bitCast(flag.bit));
        const expected = try std.fmt.bufPrint(
            &expected_buf,
            "\"flags\":[\"O_RDONLY\",\"{s}\"]",
            .{flag.name},
        );
        try std.testing.expectEqualStrings(expected, w.written());
    }
    var w = json.Writer.init(&buf);
    write(&w, @bitCast(all));
    var e = json.Writer.init(&expected_buf);
    e.raw("\"flags\":[\"O_RDONLY\"");
    for (flags) |flag| {
        e.raw(",\"");
        e.raw(flag.name);
        e.raw("\"");
    }
    e.raw("]");
    try std.testing.expectEqualStrings(e.written(), w.written());
}

test "names bits without a protocol name as O_BIT<n>, lowest first" {
    var buf: [512]u8 = undefined;
    var w = json.Writer.init(&buf);
    write(&w, @bitCast(@as(u32, 2 | 0o40000000 | 0x80000000)));
    try std.testing.expectEqualStrings(
        "\"flags\":[\"O_RDWR\",\"O_BIT23\",\"O_BIT31\"]",
        w.written(),
    );
}

test "a mode argument comes with O_CREAT or the whole O_TMPFILE, as glibc reads it" {
    try std.testing.expect(carriesMode(@bitCast(O_CREAT)));
    try std.testing.expect(carriesMode(@bitCast(2 | O_TMPFILE_BIT | O_DIRECTORY)));
    try std.testing.expect(!carriesMode(@bitCast(2 | O_TMPFILE_BIT)));
    try std.testing.expect(!carriesMode(@bitCast(O_DIRECTORY)));
}

test "reads an fopen mode no further than glibc does" {
    try std.testing.expectEqual(@as(c_int, 2), fromFopenMode("r     +"));
    try std.testing.expectEqual(@as(c_int, 0), fromFopenMode("r      +"));
    try std.testing.expectEqual(@as(c_int, 0), fromFopenMode("rbbbbbbe"));
}

test "maps fopen modes to open flags" {
    try std.testing.expectEqual(@as(c_int, 2 | O_CREAT | O_APPEND), fromFopenMode("a+"));
    try std.testing.expectEqual(@as(c_int, 0), fromFopenMode("rb"));
    try std.testing.expectEqual(
        @as(c_int, @bitCast(1 | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC)),
        fromFopenMode("wxe"),
    );
}
