//! Policy: the compact form written by policy/compile.ts, read once when the library loads
//! (from the file named in CONTAINAI_POLICY), and the matcher the hooks ask before a call.
//!
//! - Loading uses raw syscalls and a static buffer; the parsed tables point into that buffer.
//!   Hooks never parse anything: they run prefilters and glob matches over the tables.
//! - No CONTAINAI_POLICY: the policy is off and every check returns null at the cost of one load.
//! - CONTAINAI_POLICY set but the file unreadable or malformed: fail closed. Every checked call
//!   is denied and enforced, reported with rule `(policy unavailable)`. A security control that
//!   silently switches itself off when its configuration is damaged or removed would let anyone
//!   who can touch the file turn it off; the runner validates the policy before starting the task,
//!   so a user never meets this state through a typing mistake.
//! - Paths are matched absolute and lexically normalized (`.`, `..`, `//`, trailing `/` removed;
//!   symlinks are not resolved). Relative paths are joined to the working directory or dirfd.
//! - Hooks call check* with a Scratch from `acquireScratch`; nothing here allocates or locks.
const std = @import("std");
const linux = std.os.linux;
const json = @import("json.zig");

pub const env_name = "CONTAINAI_POLICY";
pub const max_file_bytes = 256 * 1024;
pub const max_rules = 1024;
pub const max_globs = 4096;
pub const max_ranges = 1024;
/// The rule name Deny events carry when the policy could not be loaded (fail closed).
pub const unavailable_rule = "(policy unavailable)";

pub const Action = enum(u8) { Exec, Open, Connect };
pub const Mode = enum(u8) { observe, enforce };

pub const access_read: u8 = 1;
pub const access_write: u8 = 2;
pub const access_create: u8 = 4;

/// errno of an enforced denial: EACCES for exec and open, EPERM for connect and sendto/sendmsg
/// (what the kernel returns when a local firewall rule refuses a connection).
pub const EACCES: u16 = 13;
pub const EPERM: u16 = 1;

/// A decision: the call matched `rule`; `enforced` says whether it must be refused.
pub const Match = struct {
    rule: []const u8,
    enforced: bool,
    /// The normalized target the rule matched (path, address:port, or socket path).
    target: []const u8,
    /// The scratch slot `target` may live in; given back by `release`.
    scratch: ?*Scratch = null,
};

const Glob = struct {
    /// Prefilter: the first 16 bytes of the pattern's literal prefix, and which of them count.
    pre0: u64 = 0,
    pre1: u64 = 0,
    mask0: u64 = 0,
    mask1: u64 = 0,
    /// The literal tail after the last wildcard (empty when the pattern ends in one).
    suffix: []const u8 = "",
    pattern: []const u8 = "",
    /// The pattern has no wildcard at all: a plain comparison decides.
    literal: bool = false,
    /// A whole segment every match must contain (e.g. `.ssh` in `**/.ssh/**`), as its bit in
    /// a path's segment filter, under two hashes. 0 when the pattern has no wildcard-free segment
    /// or a prefix of 8 or more bytes (which filters well enough alone).
    segment_bit: u32 = 0,
    segment_bit2: u32 = 0,
    /// The same longest wildcard-free segment as a `segmentKey` (0: none), whatever the prefix:
    /// the exact filter of a `PathIndex`.
    segment_key: u32 = 0,
    /// An argv pattern of an Exec rule (stored among the path globs, never matched as a path).
    argv: bool = false,
    access: u8 = 0,
    rule: u16 = 0,
};

const Rule = struct {
    name: []const u8 = "",
    argv_start: u16 = 0,
    argv_end: u16 = 0,
    cidr_start: u16 = 0,
    cidr_end: u16 = 0,
    port_start: u16 = 0,
    port_end: u16 = 0,
    unix_start: u16 = 0,
    unix_end: u16 = 0,
};

const Cidr = struct { net: u128, mask: u128 };
const PortRange = struct { low: u16, high: u16 };

const Tables = struct {
    mode: Mode = .observe,
    rules: [max_rules]Rule = undefined,
    rule_count: usize = 0,
    globs: [max_globs]Glob = undefined,
    /// The first 4 prefix bytes with their mask, and the segment bits, of every glob side by
    /// side, so the first filters run over eight globs per vector compare (32-bit lanes: native
    /// on baseline x86-64). Padded: a scan may read up to 7 entries past the end.
    pre4s: [max_globs + 8]u32 = undefined,
    mask4s: [max_globs + 8]u32 = undefined,
    segment_bits: [max_globs + 8]u32 = undefined,
    segment_bits2: [max_globs + 8]u32 = undefined,
    /// Whether any glob of the kind has segment bits (then a scan computes the path's filter).
    open_segments: bool = false,
    /// The Open, Exec and Unix-socket globs as bit sets, each when its kind has at most 64 of
    /// them (see `PathIndex`).
    open_index: PathIndex align(64) = .{},
    exec_index: PathIndex align(64) = .{},
    unix_index: PathIndex align(64) = .{},
    exec_segments: bool = false,
    unix_segments: bool = false,
    glob_count: usize = 0,
    cidrs: [max_ranges]Cidr = undefined,
    cidr_count: usize = 0,
    ports: [max_ranges]PortRange = undefined,
    port_count: usize = 0,
    /// Contiguous ranges of `globs` by kind (the loader stores each kind in its own pass).
    open_start: usize = 0,
    open_end: usize = 0,
    exec_start: usize = 0,
    exec_end: usize = 0,
    unix_start: usize = 0,
    unix_end: usize = 0,
    /// Connect rules are `rules[connect_rule_start..connect_rule_end]`.
    connect_rule_start: usize = 0,
    connect_rule_end: usize = 0,
};

/// The globs of one kind as bit sets (bit k: glob `start + k`), so a check combines a few words
/// instead of filtering every glob: the globs a path's first 4 bytes admit (its head bucket and
/// the globs with a shorter literal prefix), and the globs whose required segment (the longest
/// wildcard-free segment of the pattern, which every match contains whole) the path contains,
/// found by an exact key per path segment in a small open-addressing table. Only globs that pass
/// both go through `globHit`; they are taken in glob order, so the first rule still wins. Built
/// only for at most 64 globs of the kind (one word); larger policies take the vector scan.
///
/// Everything a check reads before the survivors lies in this one struct of about 2.4 KiB, hot
/// words first (cache-line aligned): a check follows a system call, after which the caches hold
/// the kernel's lines, and a miss costs more than many instructions. Aligning it to a page
/// instead measured no better (bench/policy_bench.ts, paired rounds).
const PathIndex = extern struct {
    enabled: bool = false,
    /// Whether any glob has a required segment (else paths are not split into segments).
    keyed: bool = false,
    /// Index of the kind's first glob in `Tables.globs`, and one past its last.
    start: usize = 0,
    end: usize = 0,
    /// Globs whose literal prefix is shorter than 4 bytes: admitted whatever the path's head.
    loose: u64 = 0,
    /// Globs without a required segment: they pass the segment filter whatever the path.
    free: u64 = 0,
    head_count: usize = 0,
    /// Bit min(n, 63) set when some required segment is n bytes long: most path segments are
    /// ruled out by their length alone, without a look at the table.
    key_lengths: u64 = 0,
    /// The distinct 4-byte prefixes of the other globs (little-endian), and the globs with each.
    heads: [64]u32 = undefined,
    head_sets: [64]u64 = undefined,
    /// Required segments by `segmentKey`, open addressing (key 0: empty slot), and the globs
    /// requiring each.
    keys: [slots]u32 = [_]u32{0} ** slots,
    key_sets: [slots]u64 = undefined,

    /// Twice the most keys there can be, so a probe ends soon at an empty slot.
    const slots = 128;

    inline fn slotOf(key: u32) usize {
        return @intCast((@as(u64, key) *% 0x9E3779B97F4A7C15) >> 57);
    }

    /// The globs requiring the segment with `key` (0 when none does).
    inline fn segmentSet(self: *const PathIndex, key: u32) u64 {
        var slot = slotOf(key);
        var probes: usize = 0;
        while (probes < slots) : (probes += 1) {
            const k = self.keys[slot];
            if (k == key) return self.key_sets[slot];
            if (k == 0) return 0;
            slot = (slot + 1) % slots;
        }
        return 0;
    }

    /// False if the table is full, which at most 64 keys in 128 slots never are; the caller
    /// then leaves the index disabled rather than trusting that in a release build.
    fn addSegment(self: *PathIndex, key: u32, bit: u64) bool {
        var slot = slotOf(key);
        var probes: usize = 0;
        while (probes < slots) : (probes += 1) {
            if (self.keys[slot] == 0) {
                self.keys[slot] = key;
                self.key_sets[slot] = 0;
            }
            if (self.keys[slot] == key) {
                self.key_sets[slot] |= bit;
                return true;
            }
            slot = (slot + 1) % slots;
        }
        return false;
    }

    /// The globs the first 4 bytes of a path (little-endian word) admit.
    inline fn admitted(self: *const PathIndex, head: u32) u64 {
        for (self.heads[0..self.head_count], self.head_sets[0..self.head_count]) |value, set| {
            if (value == head) return self.loose | set;
        }
        return self.loose;
    }
};

comptime {
    std.debug.assert(@sizeOf(PathIndex) <= 4096);
}

/// Accumulates what a path's segments select: the two-hash filter of the vector scan, or the
/// globs of a `PathIndex` whose required segment is among them.
const SegmentFilter = struct {
    bits: [2]u32 = .{ 0, 0 },

    inline fn add(self: *SegmentFilter, segment: []const u8) void {
        const b = segmentBits(segment);
        self.bits[0] |= b[0];
        self.bits[1] |= b[1];
    }
};

const SegmentSelect = struct {
    index: *const PathIndex,
    /// The globs passing the segment filter so far (starts with those that need none).
    pass: u64,

    fn init(index: *const PathIndex) SegmentSelect {
        // Without keyed globs every glob is free: no segment needs looking up.
        return .{ .index = index, .pass = if (index.keyed) index.free else ~@as(u64, 0) };
    }

    inline fn add(self: *SegmentSelect, segment: []const u8) void {
        if (self.index.key_lengths & lengthBit(segment.len) == 0) return;
        self.pass |= self.index.segmentSet(segmentKey(segment));
    }
};

const State = enum(u8) { unloaded, off, ready, failed };

var state = std.atomic.Value(State).init(.unloaded);
/// The thread loading the policy (0: none yet). Taken before loading, so a signal handler that
/// interrupts the load on the same thread sees it and does not wait for itself.
var loader_tid = std.atomic.Value(i32).init(0);
/// `loader_tid` of a load that found no CONTAINAI_POLICY (no thread id was needed).
const no_policy_loader: i32 = -1;
// Large buffers live in their own section, after the small hot state (performance: see
// slots.zig).
var file_buf: [max_file_bytes]u8 linksection(".bss.large") = undefined;
var tables: Tables linksection(".bss.large") = .{};

// ---------------------------------------------------------------------------------------------
// Loading

/// Reads CONTAINAI_POLICY once. Safe to call from every hook: after the first call it is one
/// atomic load. Another thread that finds the load in progress waits for it; a signal handler
/// interrupting the load on the same thread sees no policy for that one call.
pub fn init() void {
    if (state.load(.acquire) != .unloaded) return;
    // Most processes have no policy: that is settled without a system call, under the marker
    // `no_policy_loader` instead of a thread id.
    if (envValue(env_name) == null) {
        if (loader_tid.cmpxchgStrong(0, no_policy_loader, .acq_rel, .acquire) == null) {
            state.store(.off, .release);
            return;
        }
    }
    const tid = linux.gettid();
    if (loader_tid.cmpxchgStrong(0, tid, .acq_rel, .acquire) == null) {
        state.store(loadFromEnv(), .release);
        return;
    }
    while (state.load(.acquire) == .unloaded) {
        // A signal handler interrupting its own thread's load (or a "no policy" answer that is
        // being stored) sees no policy for this one call instead of waiting for itself.
        const loader = loader_tid.load(.acquire);
        if (loader == tid or loader == no_policy_loader) return;
        _ = linux.sched_yield();
    }
}

/// Whether hooks need to ask: false when no policy is configured.
pub inline fn active() bool {
    init();
    return @intFromEnum(state.load(.acquire)) >= @intFromEnum(State.ready);
}

/// After fork the child keeps the parent's tables (same memory image); nothing to do. After an
/// exec the new image loads the policy again from the same file.
fn loadFromEnv() State {
    const path = envValue(env_name) orelse return .off;
    if (path[0] == 0) return .off;
    const len = readFile(path) orelse return .failed;
    return if (parse(file_buf[0..len], &tables)) .ready else .failed;
}

fn envValue(comptime name: []const u8) ?[*:0]const u8 {
    var i: usize = 0;
    const envp = std.c.environ;
    while (envp[i]) |entry| : (i += 1) {
        var k: usize = 0;
        while (k < name.len and entry[k] == name[k]) k += 1;
        if (k == name.len and entry[k] == '=') return entry + name.len + 1;
    }
    return null;
}

fn readFile(path: [*:0]const u8) ?usize {
    // O_NONBLOCK and a regular-file check: a FIFO or device put in its place must not hang or
    // feed the start-up of every program; it fails closed like any other unreadable policy.
    const flags: linux.O = .{ .ACCMODE = .RDONLY, .CLOEXEC = true, .NONBLOCK = true };
    const rc = linux.openat(linux.AT.FDCWD, path, flags, 0);
    if (errnoOf(rc) != 0) return null;
    const fd: i32 = @intCast(rc);
    defer _ = linux.close(fd);
    var st: linux.Stat = undefined;
    if (errnoOf(linux.fstat(fd, &st)) != 0 or st.mode & linux.S.IFMT != linux.S.IFREG) return null;
    var len: usize = 0;
    while (true) {
        if (len == file_buf.len) return null; // larger than the compiler allows: not ours
        const n = linux.read(fd, file_buf[len..].ptr, file_buf.len - len);
        const e = errnoOf(n);
        if (e == @intFromEnum(linux.E.INTR)) continue;
        if (e != 0) return null;
        if (n == 0) return len;
        len += n;
    }
}

fn errnoOf(rc: usize) u16 {
    const signed: isize = @bitCast(rc);
    if (signed < 0 and signed > -4096) return @intCast(-signed);
    return 0;
}

/// Parses the compact form into `t`. Returns false on any deviation from the format: a
/// truncated, padded or hand-edited file is never half-applied.
pub fn parse(text: []const u8, t: *Tables) bool {
    t.* = .{};
    var header = Cursor{ .text = text };
    if (!header.word("CAIPOLICY") or !header.space() or !header.word("1") or !header.space())
        return false;
    if (header.word("enforce")) {
        t.mode = .enforce;
    } else if (header.word("observe")) {
        t.mode = .observe;
    } else return false;
    if (!header.space()) return false;
    const count = header.number() orelse return false;
    if (count > max_rules or !header.newline()) return false;
    const body = header.pos;
    // Three passes store each kind contiguously, in rule order, so a check scans only its kind.
    const kinds = [_]u8{ 'O', 'X', 'C' };
    for (kinds) |kind| {
        var c = Cursor{ .text = text, .pos = body };
        const glob_start = t.glob_count;
        const rule_start = t.rule_count;
        var seen: usize = 0;
        while (seen < count) : (seen += 1) {
            if (!record(&c, t, kind)) return false;
        }
        if (!c.word("END") or !c.newline() or c.pos != text.len) return false;
        switch (kind) {
            'O' => {
                t.open_start = glob_start;
                t.open_end = t.glob_count;
                t.open_segments = anySegments(t, glob_start, t.glob_count);
                t.open_index = buildIndex(t, glob_start, t.glob_count);
            },
            'X' => {
                t.exec_start = glob_start;
                t.exec_end = t.glob_count;
                t.exec_segments = anySegments(t, glob_start, t.glob_count);
                t.exec_index = buildIndex(t, glob_start, t.glob_count);
            },
            else => {
                t.connect_rule_start = rule_start;
                t.connect_rule_end = t.rule_count;
                t.unix_start = glob_start;
                t.unix_end = t.glob_count;
                t.unix_segments = anySegments(t, glob_start, t.glob_count);
                t.unix_index = buildIndex(t, glob_start, t.glob_count);
            },
        }
    }
    return true;
}

/// The index of `globs[from..end]`, disabled when they are more than 64. Argv patterns (stored
/// among the Exec globs) get no bit: they are never matched as a path.
fn buildIndex(t: *const Tables, from: usize, end: usize) PathIndex {
    var x = PathIndex{ .start = from, .end = end };
    if (end - from > 64) return x;
    for (from..end) |i| {
        const g = &t.globs[i];
        if (g.argv) continue;
        const bit = @as(u64, 1) << @intCast(i - from);
        if (t.mask4s[i] == 0xffff_ffff) {
            var h: usize = 0;
            while (h < x.head_count and x.heads[h] != t.pre4s[i]) h += 1;
            if (h == x.head_count) {
                x.heads[h] = t.pre4s[i];
                x.head_sets[h] = 0;
                x.head_count += 1;
            }
            x.head_sets[h] |= bit;
        } else {
            x.loose |= bit;
        }
        if (g.segment_key == 0) {
            x.free |= bit;
        } else {
            x.keyed = true;
            x.key_lengths |= lengthBit(g.segment_key >> 24);
            if (!x.addSegment(g.segment_key, bit)) return .{ .start = from, .end = end };
        }
    }
    x.enabled = true;
    return x;
}

fn anySegments(t: *const Tables, from: usize, end: usize) bool {
    for (t.segment_bits[from..end]) |bits| if (bits != 0) return true;
    return false;
}

/// Parses one record; stores it when its kind is `keep`.
fn record(c: *Cursor, t: *Tables, keep: u8) bool {
    const kind = c.byte() orelse return false;
    if (kind != 'X' and kind != 'O' and kind != 'C') return false;
    const store = kind == keep;
    if (!c.space()) return false;
    const name = c.netstring() orelse return false;
    if (name.len == 0) return false;
    if (store and t.rule_count == max_rules) return false;
    const rule_index: u16 = @intCast(t.rule_count);
    var rule = Rule{ .name = name };
    switch (kind) {
        'O' => {
            if (!c.space()) return false;
            const bits = c.number() orelse return false;
            if (bits == 0 or bits > 7) return false;
            if (!globList(c, t, store, rule_index, @intCast(bits))) return false;
        },
        'X' => {
            if (!globList(c, t, store, rule_index, 0)) return false;
            rule.argv_start = @intCast(t.glob_count);
            if (!globList(c, t, store, rule_index, 0)) return false;
            rule.argv_end = @intCast(t.glob_count);
            if (!store) rule.argv_end = rule.argv_start;
            for (rule.argv_start..rule.argv_end) |k| {
                t.globs[k].argv = true;
                // The vector prefilter can never pass them: all bits compared, against zero.
                t.mask4s[k] = ~@as(u32, 0);
                t.pre4s[k] = 0;
                t.segment_bits[k] = 0;
                t.segment_bits2[k] = 0;
            }
        },
        else => {
            if (!c.space()) return false;
            const cidrs = c.number() orelse return false;
            rule.cidr_start = @intCast(t.cidr_count);
            var i: usize = 0;
            while (i < cidrs) : (i += 1) {
                if (!c.space()) return false;
                const cidr = c.cidr() orelse return false;
                if (store) {
                    if (t.cidr_count == max_ranges) return false;
                    t.cidrs[t.cidr_count] = cidr;
                    t.cidr_count += 1;
                }
            }
            rule.cidr_end = @intCast(t.cidr_count);
            if (!c.space()) return false;
            const ports = c.number() orelse return false;
            rule.port_start = @intCast(t.port_count);
            i = 0;
            while (i < ports) : (i += 1) {
                if (!c.space()) return false;
                const low = c.number() orelse return false;
                if (!c.word("-")) return false;
                const high = c.number() orelse return false;
                if (low > high or high > 65535) return false;
                if (store) {
                    if (t.port_count == max_ranges) return false;
                    t.ports[t.port_count] = .{ .low = @intCast(low), .high = @intCast(high) };
                    t.port_count += 1;
                }
            }
            rule.port_end = @intCast(t.port_count);
            if ((cidrs == 0) != (ports == 0)) return false;
            rule.unix_start = @intCast(t.glob_count);
            if (!globList(c, t, store, rule_index, 0)) return false;
            rule.unix_end = @intCast(t.glob_count);
            if (cidrs == 0 and rule.unix_end == rule.unix_start and store) return false;
        },
    }
    if (!c.newline()) return false;
    if (store) {
        t.rules[t.rule_count] = rule;
        t.rule_count += 1;
    }
    return true;
}

/// ` <count> <netstring>...`; stores the globs when `store`.
fn globList(c: *Cursor, t: *Tables, store: bool, rule: u16, access: u8) bool {
    if (!c.space()) return false;
    const n = c.number() orelse return false;
    var i: usize = 0;
    while (i < n) : (i += 1) {
        if (!c.space()) return false;
        const pattern = c.netstring() orelse return false;
        if (pattern.len == 0) return false;
        if (store) {
            if (t.glob_count == max_globs) return false;
            const g = compileGlob(pattern, rule, access);
            t.globs[t.glob_count] = g;
            t.pre4s[t.glob_count] = @truncate(g.pre0);
            t.mask4s[t.glob_count] = @truncate(g.mask0);
            t.segment_bits[t.glob_count] = g.segment_bit;
            t.segment_bits2[t.glob_count] = g.segment_bit2;
            t.glob_count += 1;
        }
    }
    return true;
}

const Cursor = struct {
    text: []const u8,
    pos: usize = 0,

    fn byte(self: *Cursor) ?u8 {
        if (self.pos >= self.text.len) return null;
        self.pos += 1;
        return self.text[self.pos - 1];
    }

    fn word(self: *Cursor, comptime w: []const u8) bool {
        if (self.text.len - self.pos < w.len) return false;
        if (!std.mem.eql(u8, self.text[self.pos .. self.pos + w.len], w)) return false;
        self.pos += w.len;
        return true;
    }

    fn space(self: *Cursor) bool {
        return self.word(" ");
    }

    fn newline(self: *Cursor) bool {
        return self.word("\n");
    }

    /// A decimal number of 1..7 digits (no sign, no leading zero but "0" itself).
    fn number(self: *Cursor) ?usize {
        const start = self.pos;
        var v: usize = 0;
        while (self.pos < self.text.len and self.pos - start < 8) {
            const ch = self.text[self.pos];
            if (ch < '0' or ch > '9') break;
            v = v * 10 + (ch - '0');
            self.pos += 1;
        }
        const digits = self.pos - start;
        if (digits == 0 or digits > 7) return null;
        if (digits > 1 and self.text[start] == '0') return null;
        return v;
    }

    /// `<length>:<bytes>`, no NUL inside (the hooks compare against C strings).
    fn netstring(self: *Cursor) ?[]const u8 {
        const len = self.number() orelse return null;
        if (!self.word(":")) return null;
        if (self.text.len - self.pos < len) return null;
        const s = self.text[self.pos .. self.pos + len];
        if (std.mem.indexOfScalar(u8, s, 0) != null) return null;
        self.pos += len;
        return s;
    }

    /// 32 lowercase hex digits, `/`, a prefix length 0..128.
    fn cidr(self: *Cursor) ?Cidr {
        if (self.text.len - self.pos < 32) return null;
        var net: u128 = 0;
        for (self.text[self.pos .. self.pos + 32]) |ch| {
            const d: u128 = switch (ch) {
                '0'...'9' => ch - '0',
                'a'...'f' => ch - 'a' + 10,
                else => return null,
            };
            net = (net << 4) | d;
        }
        self.pos += 32;
        if (!self.word("/")) return null;
        const prefix = self.number() orelse return null;
        if (prefix > 128) return null;
        const mask: u128 = if (prefix == 0) 0 else ~@as(u128, 0) << @intCast(128 - prefix);
        if (net & ~mask != 0) return null;
        return .{ .net = net, .mask = mask };
    }
};

fn isWild(ch: u8) bool {
    return ch == '*' or ch == '?' or ch == '\\';
}

fn compileGlob(pattern: []const u8, rule: u16, access: u8) Glob {
    var g = Glob{ .pattern = pattern, .rule = rule, .access = access };
    var lit: usize = 0;
    while (lit < pattern.len and !isWild(pattern[lit])) lit += 1;
    g.literal = lit == pattern.len;
    // A trailing `/**` also matches the directory itself, which lacks that `/`.
    if (!g.literal and lit > 0 and pattern[lit - 1] == '/' and pattern[lit] == '*') lit -= 1;
    var head = [_]u8{0} ** 16;
    var mask = [_]u8{0} ** 16;
    const n = @min(lit, 16);
    @memcpy(head[0..n], pattern[0..n]);
    @memset(mask[0..n], 0xff);
    g.pre0 = std.mem.readInt(u64, head[0..8], .little);
    g.pre1 = std.mem.readInt(u64, head[8..16], .little);
    g.mask0 = std.mem.readInt(u64, mask[0..8], .little);
    g.mask1 = std.mem.readInt(u64, mask[8..16], .little);
    if (!g.literal) {
        // The tail after the last wildcard byte; an escaped byte counts as a wildcard here.
        var tail = pattern.len;
        while (tail > 0 and !isWild(pattern[tail - 1])) tail -= 1;
        if (tail > 0 and pattern[tail - 1] == '\\') tail = @min(tail + 1, pattern.len);
        g.suffix = pattern[tail..];
    }
    // The longest wildcard-free segment: `/` in a pattern only matches `/`, and `*`/`?` never
    // match it, so that segment appears whole in every path the pattern matches.
    var best: []const u8 = "";
    var it = std.mem.splitScalar(u8, pattern, '/');
    while (it.next()) |segment| {
        if (segment.len <= best.len) continue;
        if (std.mem.indexOfAny(u8, segment, "*?\\") != null) continue;
        best = segment;
    }
    if (best.len > 0) g.segment_key = segmentKey(best);
    if (best.len > 0 and lit < 8) {
        const bits = segmentBits(best);
        g.segment_bit = bits[0];
        g.segment_bit2 = bits[1];
    }
    return g;
}

/// A segment's bits in two 32-bit filters (a two-hash Bloom filter): its length, first, middle
/// and last byte, mixed by one multiplication whose top two 5-bit groups pick the bits.
inline fn segmentBits(segment: []const u8) [2]u32 {
    const n = segment.len;
    const key: u64 = (@as(u64, @truncate(n)) << 24) | (@as(u64, segment[0]) << 16) |
        (@as(u64, segment[n / 2]) << 8) | segment[n - 1];
    const mixed = key *% 0x9E3779B97F4A7C15;
    const one: u5 = @truncate(mixed >> 59);
    const two: u5 = @truncate(mixed >> 54);
    return .{ @as(u32, 1) << one, @as(u32, 1) << two };
}

inline fn lengthBit(n: usize) u64 {
    return @as(u64, 1) << @intCast(@min(n, 63));
}

/// A segment's key in a `PathIndex`: its length (at most 255, else 255), first, middle and last
/// byte. Never 0 (a segment is not empty). Equal segments have equal keys; the few different
/// segments that share one only cost a glob match that fails.
inline fn segmentKey(segment: []const u8) u32 {
    const n = segment.len;
    return (@as(u32, @min(n, 255)) << 24) | (@as(u32, segment[0]) << 16) |
        (@as(u32, segment[n / 2]) << 8) | segment[n - 1];
}

/// The segment filters of a normalized path: the bits of all its segments, under both hashes.
fn segmentFilter(path: []const u8) [2]u32 {
    var acc = SegmentFilter{};
    addSegments(path, &acc);
    return acc.bits;
}

/// Hands every non-empty segment of `path` to `acc` (a `SegmentFilter` or `SegmentSelect`).
fn addSegments(path: []const u8, acc: anytype) void {
    var start: usize = 0;
    while (start < path.len) {
        const stop = std.mem.indexOfScalarPos(u8, path, start, '/') orelse path.len;
        if (stop > start) acc.add(path[start..stop]);
        start = stop + 1;
    }
}

/// The globs of `x` whose required segment `path` contains, with those that need none.
fn segmentPass(x: *const PathIndex, path: []const u8) u64 {
    var acc = SegmentSelect.init(x);
    addSegments(path, &acc);
    return acc.pass;
}

// ---------------------------------------------------------------------------------------------
// Glob matching: the twin of policy/glob.ts (same algorithm, same test vectors).

/// Whether `s` matches `p`. `flat` makes `/` an ordinary byte (argv patterns).
pub fn globMatch(p: []const u8, s: []const u8, flat: bool) bool {
    var pi: usize = 0;
    var si: usize = 0;
    var star_p: ?usize = null;
    var star_s: usize = 0;
    var deep_p: ?usize = null;
    var deep_s: usize = 0;
    var deep_segments = false;
    while (true) {
        if (pi < p.len) {
            const c = p[pi];
            if (c == '*') {
                var q = pi + 1;
                while (q < p.len and p[q] == '*') q += 1;
                if (q - pi == 1 and !flat) {
                    star_p = q;
                    star_s = si;
                    pi = q;
                    continue;
                }
                if (q == p.len) return true;
                const segment_start = pi == 0 or p[pi - 1] == '/';
                star_p = null;
                if (!flat and segment_start and p[q] == '/') {
                    deep_p = q + 1;
                    deep_s = si;
                    deep_segments = true;
                    pi = q + 1;
                    continue;
                }
                deep_p = q;
                deep_s = si;
                deep_segments = false;
                pi = q;
                continue;
            }
            if (c == '?') {
                if (si < s.len and (flat or s[si] != '/')) {
                    pi += 1;
                    si += 1;
                    continue;
                }
            } else if (c == '\\' and pi + 1 < p.len) {
                if (si < s.len and s[si] == p[pi + 1]) {
                    pi += 2;
                    si += 1;
                    continue;
                }
            } else {
                if (!flat and c == '/' and si == s.len and pi + 3 == p.len and
                    p[pi + 1] == '*' and p[pi + 2] == '*') return true;
                if (si < s.len and s[si] == c) {
                    pi += 1;
                    si += 1;
                    continue;
                }
            }
        } else if (si == s.len) {
            return true;
        }
        // Mismatch: let the last `*` take one more byte of its segment, else the last `**`.
        if (star_p) |sp| {
            if (star_s < s.len and s[star_s] != '/') {
                star_s += 1;
                pi = sp;
                si = star_s;
                continue;
            }
        }
        const dp = deep_p orelse return false;
        if (deep_segments) {
            const next = std.mem.indexOfScalarPos(u8, s, deep_s, '/') orelse return false;
            deep_s = next + 1;
        } else {
            if (deep_s >= s.len) return false;
            deep_s += 1;
        }
        star_p = null;
        pi = dp;
        si = deep_s;
    }
}

/// The prefilters, then the full match. `head` holds the first 16 bytes of `s`, zero-padded.
inline fn globHit(g: *const Glob, s: []const u8, h0: u64, h1: u64) bool {
    if (((h0 & g.mask0) ^ g.pre0) | ((h1 & g.mask1) ^ g.pre1) != 0) return false;
    if (g.literal) return std.mem.eql(u8, g.pattern, s);
    if (g.suffix.len > 0) {
        if (s.len < g.suffix.len) return false;
        if (!std.mem.eql(u8, s[s.len - g.suffix.len ..], g.suffix)) return false;
    }
    return globMatch(g.pattern, s, false);
}

/// The index of the first glob in `[from, end)` matching `target`, whose access kinds meet
/// `access` (0: no access check). Vector compares of the first 4 prefix bytes and of the
/// required-segment bits rule out eight globs at a time; survivors go through the 16-byte prefix
/// and suffix filters, and only then the glob matcher. `segments`: whether any glob in the
/// range has segment bits (else the path's segment filter is not computed).
fn scan(
    t: *const Tables,
    from: usize,
    end: usize,
    target: []const u8,
    access: u8,
    segments: bool,
) ?usize {
    const filter = if (segments) segmentFilter(target) else [2]u32{ 0, 0 };
    return scanFiltered(t, from, end, target, access, filter);
}

/// `scan` with the target's segment filter already known (a glob without segment bits passes
/// `(bits & filter) == bits` whatever the filter).
fn scanFiltered(
    t: *const Tables,
    from: usize,
    end: usize,
    target: []const u8,
    access: u8,
    f: [2]u32,
) ?usize {
    const h = headWords(target);
    const head: @Vector(8, u32) = @splat(@as(u32, @truncate(h[0])));
    const filter1: @Vector(8, u32) = @splat(f[0]);
    const filter2: @Vector(8, u32) = @splat(f[1]);
    const none: @Vector(8, bool) = @splat(false);
    var i = from;
    while (i < end) : (i += 8) {
        const masks: @Vector(8, u32) = t.mask4s[i..][0..8].*;
        const prefixes: @Vector(8, u32) = t.pre4s[i..][0..8].*;
        const prefix_ok = (head & masks) == prefixes;
        if (!@reduce(.Or, prefix_ok)) continue;
        const bits1: @Vector(8, u32) = t.segment_bits[i..][0..8].*;
        const bits2: @Vector(8, u32) = t.segment_bits2[i..][0..8].*;
        const has1 = (bits1 & filter1) == bits1;
        const has2 = (bits2 & filter2) == bits2;
        const segment_ok = @select(bool, has1, has2, none);
        const pass: u8 = @bitCast(@select(bool, prefix_ok, segment_ok, none));
        if (pass == 0) continue;
        if (checkChunk(t, i, end, target, h, access, pass)) |k| return k;
    }
    return null;
}

/// The globs from `i` whose bit is set in `lanes` (they passed the vector filters), in order: the
/// rest of the filters, then the glob matcher. Kept out of the scan loop so that loop stays a few
/// vector instructions.
noinline fn checkChunk(
    t: *const Tables,
    i: usize,
    end: usize,
    target: []const u8,
    h: [2]u64,
    access: u8,
    lanes: u8,
) ?usize {
    var rest = lanes;
    while (rest != 0) : (rest &= rest - 1) {
        const k = i + @ctz(rest);
        if (k >= end) break;
        const g = &t.globs[k];
        if (g.argv) continue;
        if (access != 0 and g.access & access == 0) continue;
        if (globHit(g, target, h[0], h[1])) return k;
    }
    return null;
}

/// The first glob of the index's kind, from glob `from` on, that matches `target` with
/// `access` (0: no access check), given `pass` (the globs passing the segment filter, from
/// `segmentPass` or a `SegmentSelect`): the same answer `scanFiltered` gives, after combining a
/// few words instead of a pass over every glob.
fn scanIndexed(
    t: *const Tables,
    x: *const PathIndex,
    from: usize,
    target: []const u8,
    access: u8,
    pass: u64,
) ?usize {
    const h = headWords(target);
    var rest = x.admitted(@truncate(h[0])) & pass;
    // Bits below `from` are globs already tried.
    const skip = from - x.start;
    rest = if (skip >= 64) 0 else rest & (~@as(u64, 0) << @intCast(skip));
    while (rest != 0) : (rest &= rest - 1) {
        const k = x.start + @ctz(rest);
        const g = &t.globs[k];
        if (access != 0 and g.access & access == 0) continue;
        if (globHit(g, target, h[0], h[1])) return k;
    }
    return null;
}

fn headWords(s: []const u8) [2]u64 {
    // Most paths are longer than 16 bytes: two loads, no copy.
    if (s.len >= 16) {
        return .{
            std.mem.readInt(u64, s[0..8], .little),
            std.mem.readInt(u64, s[8..16], .little),
        };
    }
    var head = [_]u8{0} ** 16;
    const n = @min(s.len, 16);
    @memcpy(head[0..n], s[0..n]);
    return .{
        std.mem.readInt(u64, head[0..8], .little),
        std.mem.readInt(u64, head[8..16], .little),
    };
}

// ---------------------------------------------------------------------------------------------
// Paths

pub const path_max = 4096;

/// Room for a joined and normalized path (a directory of up to PATH_MAX plus a relative path),
/// the directory itself, and a PATH-search candidate.
pub const Scratch = struct {
    buf: [2 * path_max + 2]u8 = undefined,
    dir: [path_max + 2]u8 = undefined,
    candidate: [path_max + 2]u8 = undefined,
};

const scratch_slots = 16;
var scratch_pool: [scratch_slots]Scratch linksection(".bss.large") = undefined;
var scratch_owner: [scratch_slots]std.atomic.Value(usize) =
    [_]std.atomic.Value(usize){.init(0)} ** scratch_slots;

/// A scratch buffer from a static pool (thread stacks and signal stacks may be too small for
/// 16 KiB), owned by the caller's stack frame (its address marks the slot, so no syscall is
/// needed to name the thread). Null when all are taken; the check then matches the path as given.
fn acquireScratch(marker: *const u8) ?*Scratch {
    const id = @intFromPtr(marker);
    const start: usize = (id >> 12) % scratch_slots;
    var k: usize = 0;
    while (k < scratch_slots) : (k += 1) {
        const i = (start + k) % scratch_slots;
        if (scratch_owner[i].load(.monotonic) != 0) continue;
        if (scratch_owner[i].cmpxchgStrong(0, id, .acquire, .monotonic) == null) {
            return &scratch_pool[i];
        }
    }
    return null;
}

fn releaseScratch(scratch: ?*Scratch) void {
    const s = scratch orelse return;
    const i = (@intFromPtr(s) - @intFromPtr(&scratch_pool[0])) / @sizeOf(Scratch);
    scratch_owner[i].store(0, .release);
}

/// In a fork child only the forking thread exists: every scratch buffer is free again, and a
/// load another thread had begun is started over.
pub fn resetAfterFork() void {
    for (&scratch_owner) |*o| o.store(0, .release);
    if (state.load(.acquire) == .unloaded) loader_tid.store(0, .release);
}

/// Whether an absolute path is already in normal form (the common case: no copy needed).
fn isNormal(s: []const u8) bool {
    if (s.len == 0 or s[0] != '/') return false;
    if (s.len == 1) return true;
    if (s[s.len - 1] == '/') return false;
    var seg_start: usize = 1;
    var i: usize = 1;
    while (i <= s.len) : (i += 1) {
        if (i == s.len or s[i] == '/') {
            const seg = s[seg_start..i];
            if (seg.len == 0) return false;
            if (seg[0] == '.' and (seg.len == 1 or (seg.len == 2 and seg[1] == '.'))) return false;
            seg_start = i + 1;
        }
    }
    return true;
}

/// Normalizes `dir` + `/` + `rel` (or `rel` alone when absolute) into `out`; returns the result.
fn normalizeInto(out: []u8, dir: []const u8, rel: []const u8) ?[]const u8 {
    var len: usize = 0;
    const parts = [2][]const u8{ if (rel.len > 0 and rel[0] == '/') "" else dir, rel };
    for (parts) |part| {
        var i: usize = 0;
        while (i < part.len) {
            while (i < part.len and part[i] == '/') i += 1;
            const start = i;
            while (i < part.len and part[i] != '/') i += 1;
            const seg = part[start..i];
            if (seg.len == 0 or (seg.len == 1 and seg[0] == '.')) continue;
            if (seg.len == 2 and seg[0] == '.' and seg[1] == '.') {
                while (len > 0 and out[len - 1] != '/') len -= 1;
                if (len > 0) len -= 1;
                continue;
            }
            if (len + 1 + seg.len + 1 > out.len) return null;
            out[len] = '/';
            @memcpy(out[len + 1 .. len + 1 + seg.len], seg);
            len += 1 + seg.len;
        }
    }
    if (len == 0) {
        out[0] = '/';
        len = 1;
    }
    // Always NUL-terminated, so a result can be handed to a syscall.
    out[len] = 0;
    return out[0..len];
}

/// The absolute normal form of `path` as seen from `dirfd` (AT_FDCWD for the working directory;
/// an empty path names `dirfd` itself, as with AT_EMPTY_PATH). Falls back to the path as given
/// when there is no scratch buffer or the directory cannot be found.
fn resolvePath(path: []const u8, dirfd: i32, scratch: ?*Scratch) []const u8 {
    if (isNormal(path)) return path;
    const sc = scratch orelse return path;
    var dir: []const u8 = "/";
    if (path.len == 0 or path[0] != '/') {
        const found = if (dirfd == linux.AT.FDCWD) cwdInto(&sc.dir) else fdPathInto(dirfd, &sc.dir);
        dir = found orelse return path;
    }
    return normalizeInto(&sc.buf, dir, path) orelse path;
}

fn cwdInto(buf: []u8) ?[]const u8 {
    const rc = linux.getcwd(buf.ptr, buf.len);
    if (errnoOf(rc) != 0 or rc == 0) return null;
    return buf[0 .. rc - 1];
}

fn fdPathInto(fd: i32, buf: []u8) ?[]const u8 {
    if (fd < 0) return null;
    var link: [32]u8 = undefined;
    const name = std.fmt.bufPrintZ(&link, "/proc/self/fd/{d}", .{fd}) catch return null;
    const rc = linux.readlinkat(linux.AT.FDCWD, name.ptr, buf.ptr, buf.len);
    if (errnoOf(rc) != 0) return null;
    return buf[0..rc];
}

// ---------------------------------------------------------------------------------------------
// Checks, one per action. Each returns null (allow) or the first matching rule; a Match must be
// given back with `release` once its Deny event is sent (its target may live in a scratch slot).

/// Gives back the scratch buffer a Match's target lives in.
pub fn release(m: Match) void {
    releaseScratch(m.scratch);
}

fn failed() bool {
    return state.load(.acquire) == .failed;
}

fn failedMatch(target: []const u8, sc: ?*Scratch) Match {
    return .{ .rule = unavailable_rule, .enforced = true, .target = target, .scratch = sc };
}

/// Access kinds of open flags: read unless O_WRONLY, write for O_WRONLY/O_RDWR/O_TRUNC,
/// create for O_CREAT/O_TMPFILE.
pub fn openAccess(flags: u32) u8 {
    var bits: u8 = 0;
    const acc = flags & 3;
    if (acc != 1) bits |= access_read;
    if (acc != 0 or flags & 0o1000 != 0) bits |= access_write;
    if (flags & 0o100 != 0 or flags & 0o20000000 != 0) bits |= access_create;
    return bits;
}

/// An open of `path` (relative to `dirfd`, AT_FDCWD for none) with open `flags`.
pub fn checkOpen(path: [*:0]const u8, dirfd: i32, flags: u32) ?Match {
    if (!active()) return null;
    // The Open index's page holds the range too: an empty kind is settled there.
    if (tables.open_index.start == tables.open_index.end and !failed()) return null;
    const access = openAccess(flags);
    // One pass over the path gives its length, whether it is already normal (the common case,
    // no copy) and what its segments select: in the index, or the filter of the vector scan.
    const t = &tables;
    if (t.open_index.enabled) {
        var select = SegmentSelect.init(&t.open_index);
        // Inlined on this, the hottest path, so that the segment filter stays in registers.
        const info = @call(.always_inline, pathInfo, .{ path, &select });
        if (info.normal) return decideOpen(path[0..info.len], access, null, select.pass);
        return decideResolved(path[0..info.len], dirfd, access);
    }
    var filter = SegmentFilter{};
    const info = pathInfo(path, &filter);
    if (info.normal) return decideOpen(path[0..info.len], access, null, filter.bits);
    return decideResolved(path[0..info.len], dirfd, access);
}

/// An open of a path that is relative or not in normal form: matched as the absolute normal path
/// it names, built in a scratch slot.
noinline fn decideResolved(path: []const u8, dirfd: i32, access: u8) ?Match {
    var marker: u8 = 0;
    const sc = acquireScratch(&marker);
    const target = resolvePath(path, dirfd, sc);
    const m = if (tables.open_index.enabled)
        decideOpen(target, access, sc, segmentPass(&tables.open_index, target))
    else
        decideOpen(target, access, sc, segmentFilter(target));
    if (m == null) releaseScratch(sc);
    return m;
}

/// `selected`: the target's `segmentPass` when the Open index is enabled, else its
/// `segmentFilter`.
fn decideOpen(target: []const u8, access: u8, sc: ?*Scratch, selected: anytype) ?Match {
    if (failed()) return failedMatch(target, sc);
    var m = matchOpenSelected(&tables, target, access, selected) orelse return null;
    m.scratch = sc;
    return m;
}

fn matchOpen(t: *const Tables, target: []const u8, access: u8) ?Match {
    if (t.open_index.enabled) {
        return matchOpenSelected(t, target, access, segmentPass(&t.open_index, target));
    }
    return matchOpenSelected(t, target, access, segmentFilter(target));
}

fn matchOpenSelected(t: *const Tables, target: []const u8, access: u8, selected: anytype) ?Match {
    // Most globs name a wildcard-free segment: when the path has none of them, that settles it.
    if (@TypeOf(selected) == u64 and selected == 0) return null;
    const k = (if (@TypeOf(selected) == u64)
        scanIndexed(t, &t.open_index, t.open_start, target, access, selected)
    else
        scanFiltered(t, t.open_start, t.open_end, target, access, selected)) orelse return null;
    const name = t.rules[t.globs[k].rule].name;
    return .{ .rule = name, .enforced = t.mode == .enforce, .target = target };
}

const PathInfo = struct { len: usize, normal: bool };

/// The length of a C path and whether it is absolute and normal (no `.`, `..` or empty segment,
/// no trailing `/`), handing each non-empty segment to `acc` (see `addSegments`), in one pass
/// over 16-byte aligned blocks (an aligned load never crosses into another page, so reading past
/// the NUL is safe, as glibc's strlen does).
fn pathInfo(p: [*:0]const u8, acc: anytype) PathInfo {
    var info = PathInfo{ .len = 0, .normal = p[0] == '/' };
    const addr = @intFromPtr(p);
    var block = addr & ~@as(usize, 15);
    var start: usize = 0; // offset of the current segment in p
    var first = true;
    while (true) : (block += 16) {
        const bytes: @Vector(16, u8) = @as(*align(16) const [16]u8, @ptrFromInt(block)).*;
        var slashes: u16 = @bitCast(bytes == @as(@Vector(16, u8), @splat('/')));
        var nuls: u16 = @bitCast(bytes == @as(@Vector(16, u8), @splat(0)));
        if (first) {
            // Bytes before p in its block are not the path's.
            const skip: u4 = @truncate(addr - block);
            slashes &= @as(u16, 0xffff) << skip;
            nuls &= @as(u16, 0xffff) << skip;
            first = false;
        }
        const offset = block -% addr; // offset in p of this block's byte 0 (wraps for the first)
        if (nuls != 0) slashes &= (@as(u16, 1) << @truncate(@ctz(nuls))) -% 1;
        while (slashes != 0) : (slashes &= slashes - 1) {
            const at = offset +% @ctz(slashes);
            pathSegment(&info, acc, p, start, at, false);
            start = at + 1;
        }
        if (nuls != 0) {
            const at = offset +% @ctz(nuls);
            pathSegment(&info, acc, p, start, at, true);
            info.len = at;
            return info;
        }
    }
}

/// One segment `p[start..end]` of pathInfo: to `acc`, and whether it breaks normal form.
inline fn pathSegment(
    info: *PathInfo,
    acc: anytype,
    p: [*:0]const u8,
    start: usize,
    end: usize,
    last: bool,
) void {
    if (end > start) {
        const segment = p[start..end];
        acc.add(segment);
        if (segment[0] == '.' and (segment.len == 1 or (segment.len == 2 and segment[1] == '.')))
            info.normal = false;
    } else if (end > 0 and !(end == 1 and last)) {
        // An empty segment: `//` or a trailing `/` (the root "/" alone is normal).
        info.normal = false;
    }
}

/// An exec of `path` with `argv`. `search` for the execvp family (a name without `/` is looked
/// up in PATH as execvp would); `dirfd` for execveat and fexecve (AT_FDCWD otherwise, and an
/// empty path names the fd itself).
pub fn checkExec(
    path: ?[*:0]const u8,
    dirfd: i32,
    argv: ?[*:null]const ?[*:0]const u8,
    search: bool,
) ?Match {
    if (!active()) return null;
    if (tables.exec_start == tables.exec_end and !failed()) return null;
    var marker: u8 = 0;
    const sc = acquireScratch(&marker);
    const given: []const u8 = if (path) |p| std.mem.span(p) else "";
    const program = if (search) resolveExec(given, sc) else given;
    // `program` is NUL-terminated (a C string or a PATH candidate): one pass (pathInfo) tells
    // the normal form (the common case: matched as it is) and looks its segments up.
    var pass: ?u64 = null;
    if (tables.exec_index.enabled and !failed() and program.len > 0) {
        var select = SegmentSelect.init(&tables.exec_index);
        if (pathInfo(@ptrCast(program.ptr), &select).normal) pass = select.pass;
    }
    const target = if (pass != null) program else resolvePath(program, dirfd, sc);
    const m: ?Match = if (failed())
        failedMatch(target, sc)
    else
        matchExecPass(&tables, target, argv, pass);
    if (m) |found| {
        // A program that does not exist is left to fail on its own (ENOENT), as callers that
        // search PATH themselves (CPython, env) expect; only a real program is denied.
        if (failed() or exists(target)) {
            var out = found;
            out.scratch = sc;
            return out;
        }
    }
    releaseScratch(sc);
    return null;
}

/// Whether the file exists. Every target handed here is NUL-terminated: a C string given to the
/// hook, or a path built in a scratch buffer.
fn exists(target: []const u8) bool {
    if (target.len == 0) return false;
    const z: [*:0]const u8 = @ptrCast(target.ptr);
    return errnoOf(linux.faccessat(linux.AT.FDCWD, z, linux.F_OK, 0)) == 0;
}

fn matchExec(t: *const Tables, target: []const u8, argv: ?[*:null]const ?[*:0]const u8) ?Match {
    return matchExecPass(t, target, argv, null);
}

/// `matchExec` with the target's `segmentPass` in the Exec index, when already known.
fn matchExecPass(
    t: *const Tables,
    target: []const u8,
    argv: ?[*:null]const ?[*:0]const u8,
    known: ?u64,
) ?Match {
    var from = t.exec_start;
    const x = &t.exec_index;
    const pass = if (x.enabled) known orelse segmentPass(x, target) else 0;
    if (x.enabled and pass == 0) return null;
    while ((if (x.enabled)
        scanIndexed(t, x, from, target, 0, pass)
    else
        scan(t, from, t.exec_end, target, 0, t.exec_segments))) |k|
    {
        const rule = &t.rules[t.globs[k].rule];
        if (argvMatches(t, rule, argv)) {
            return .{ .rule = rule.name, .enforced = t.mode == .enforce, .target = target };
        }
        from = k + 1;
    }
    return null;
}

/// Every argv pattern of the rule matches at least one of argv[1..].
fn argvMatches(t: *const Tables, rule: *const Rule, argv: ?[*:null]const ?[*:0]const u8) bool {
    for (t.globs[rule.argv_start..rule.argv_end]) |*g| {
        const args = argv orelse return false;
        if (args[0] == null) return false;
        var k: usize = 1;
        var found = false;
        while (args[k]) |arg| : (k += 1) {
            if (globMatch(g.pattern, std.mem.span(arg), true)) {
                found = true;
                break;
            }
        }
        if (!found) return false;
    }
    return true;
}

/// Finds `name` the way execvp does when it has no `/`: the first PATH entry (from the process
/// environment, default /bin:/usr/bin) holding an executable. Returns `name` itself when it has a
/// slash or is found nowhere (the exec then fails on its own).
fn resolveExec(name: []const u8, scratch: ?*Scratch) []const u8 {
    if (std.mem.indexOfScalar(u8, name, '/') != null or name.len == 0) return name;
    const sc = scratch orelse return name;
    const path_env: []const u8 = if (envValue("PATH")) |p| std.mem.span(p) else "/bin:/usr/bin";
    var it = std.mem.splitScalar(u8, path_env, ':');
    while (it.next()) |dir_raw| {
        const dir = if (dir_raw.len == 0) "." else dir_raw;
        const len = dir.len + 1 + name.len;
        if (len + 1 > sc.candidate.len) continue;
        @memcpy(sc.candidate[0..dir.len], dir);
        sc.candidate[dir.len] = '/';
        @memcpy(sc.candidate[dir.len + 1 .. len], name);
        sc.candidate[len] = 0;
        if (isExecCandidate(sc.candidate[0..len :0])) return sc.candidate[0..len];
    }
    return name;
}

/// Whether execvp would stop its PATH search at `path`: an executable regular file. glibc tries
/// execve on each entry and goes on after EACCES, which is what a directory (searchable, so
/// `X_OK` holds) or any other non-regular file gives; stopping there would match the wrong file
/// while execvp runs the one further down PATH.
fn isExecCandidate(path: [*:0]const u8) bool {
    if (errnoOf(linux.faccessat(linux.AT.FDCWD, path, linux.X_OK, 0)) != 0) return false;
    var st: linux.Stat = undefined;
    if (errnoOf(linux.fstatat(linux.AT.FDCWD, path, &st, 0)) != 0) return false;
    return st.mode & linux.S.IFMT == linux.S.IFREG;
}

/// A connect (or sendto/sendmsg with a destination) to the socket address `addr`.
pub fn checkConnect(addr: ?*const anyopaque, addr_len: u32) ?Match {
    if (!active()) return null;
    if (tables.connect_rule_start == tables.connect_rule_end and !failed()) return null;
    const a = addr orelse return null;
    if (addr_len < 2) return null;
    const bytes: [*]const u8 = @ptrCast(a);
    const family = std.mem.readInt(u16, bytes[0..2], .little);
    var marker: u8 = 0;
    switch (family) {
        linux.AF.INET, linux.AF.INET6 => {
            var ip: u128 = 0;
            if (family == linux.AF.INET) {
                if (addr_len < 8) return null;
                ip = (@as(u128, 0xffff) << 32) | std.mem.readInt(u32, bytes[4..8], .big);
            } else {
                if (addr_len < 24) return null;
                ip = std.mem.readInt(u128, bytes[8..24], .big);
            }
            const port = std.mem.readInt(u16, bytes[2..4], .big);
            const rule: []const u8 = if (failed())
                unavailable_rule
            else
                matchInet(&tables, ip, port) orelse return null;
            const sc = acquireScratch(&marker);
            return .{
                .rule = rule,
                .enforced = failed() or tables.mode == .enforce,
                .target = formatInet(ip, port, sc),
                .scratch = sc,
            };
        },
        linux.AF.UNIX => {
            if (addr_len <= 2) return null;
            const raw = bytes[2..@min(addr_len, 2 + 108)];
            const sc = acquireScratch(&marker);
            var target: []const u8 = undefined;
            // The index's segment filter, when the path's one pass already gave it.
            var pass: ?u64 = null;
            if (raw[0] == 0) {
                // Abstract names are matched and reported as "@name".
                const name = raw[1..];
                const out = if (sc) |s| &s.buf else {
                    return if (failed()) failedMatch("@", null) else null;
                };
                out[0] = '@';
                @memcpy(out[1 .. 1 + name.len], name);
                target = out[0 .. 1 + name.len];
            } else {
                const end = std.mem.indexOfScalar(u8, raw, 0) orelse raw.len;
                const given = raw[0..end];
                // A NUL-terminated copy lets one pass (pathInfo) tell the normal form (the common
                // case: matched as it is) and look the segments up in the index.
                if (sc) |s| if (tables.unix_index.enabled and !failed()) {
                    @memcpy(s.candidate[0..given.len], given);
                    s.candidate[given.len] = 0;
                    var select = SegmentSelect.init(&tables.unix_index);
                    const info = pathInfo(@ptrCast(&s.candidate), &select);
                    if (info.normal) {
                        target = s.candidate[0..given.len];
                        pass = select.pass;
                    }
                };
                if (pass == null) target = resolvePath(given, linux.AT.FDCWD, sc);
            }
            if (failed()) return failedMatch(target, sc);
            const found = if (pass) |bits|
                matchUnixPass(&tables, target, bits)
            else
                matchUnix(&tables, target);
            const rule = found orelse {
                releaseScratch(sc);
                return null;
            };
            const enforced = tables.mode == .enforce;
            return .{ .rule = rule, .enforced = enforced, .target = target, .scratch = sc };
        },
        else => return null,
    }
}

fn matchInet(t: *const Tables, ip: u128, port: u16) ?[]const u8 {
    for (t.rules[t.connect_rule_start..t.connect_rule_end]) |*rule| {
        var hit = false;
        for (t.cidrs[rule.cidr_start..rule.cidr_end]) |cidr| {
            if (ip & cidr.mask == cidr.net) {
                hit = true;
                break;
            }
        }
        if (!hit) continue;
        for (t.ports[rule.port_start..rule.port_end]) |range| {
            if (port >= range.low and port <= range.high) return rule.name;
        }
    }
    return null;
}

/// `matchUnix` with the target's `segmentPass` in the Unix index already known.
fn matchUnixPass(t: *const Tables, target: []const u8, pass: u64) ?[]const u8 {
    if (pass == 0) return null;
    const k = scanIndexed(t, &t.unix_index, t.unix_start, target, 0, pass) orelse return null;
    return t.rules[t.globs[k].rule].name;
}

fn matchUnix(t: *const Tables, target: []const u8) ?[]const u8 {
    const x = &t.unix_index;
    const k = (if (x.enabled)
        scanIndexed(t, x, t.unix_start, target, 0, segmentPass(x, target))
    else
        scan(t, t.unix_start, t.unix_end, target, 0, t.unix_segments)) orelse return null;
    return t.rules[t.globs[k].rule].name;
}

/// `a.b.c.d:port` for IPv4 (and IPv4-mapped IPv6), `[v6]:port` otherwise.
fn formatInet(ip: u128, port: u16, scratch: ?*Scratch) []const u8 {
    const sc = scratch orelse return "";
    if (ip >> 32 == 0xffff) {
        const v4: u32 = @truncate(ip);
        return std.fmt.bufPrint(&sc.buf, "{d}.{d}.{d}.{d}:{d}", .{
            v4 >> 24, (v4 >> 16) & 0xff, (v4 >> 8) & 0xff, v4 & 0xff, port,
        }) catch "";
    }
    var raw: [16]u8 = undefined;
    std.mem.writeInt(u128, &raw, ip, .big);
    const address = std.net.Ip6Address.init(raw, port, 0, 0);
    return std.fmt.bufPrint(&sc.buf, "{}", .{address}) catch "";
}

// ---------------------------------------------------------------------------------------------
// Deny events

/// The payload fields of a Deny event (`"call":...,"enforced":...`), without braces.
pub fn writeDenyPayload(
    w: *json.Writer,
    call: []const u8,
    action: Action,
    m: Match,
    errno_value: u16,
) void {
    w.key("call");
    w.string(call);
    w.raw(",\"action\":\"");
    w.raw(@tagName(action));
    w.raw("\",");
    w.key("target");
    w.string(m.target);
    w.byte(',');
    w.key("rule");
    w.string(m.rule);
    w.byte(',');
    w.key("errno");
    w.uint(if (m.enforced) errno_value else 0);
    w.raw(if (m.enforced) ",\"enforced\":true" else ",\"enforced\":false");
}

// ---------------------------------------------------------------------------------------------
// Tests (`zig test src/policy.zig` from shim/, run by tests/policy/zig_matcher_test.ts)

const testing = std.testing;

fn loadForTest(text: []const u8) !*Tables {
    const S = struct {
        var t: Tables = .{};
    };
    try testing.expect(parse(text, &S.t));
    return &S.t;
}

test "glob vectors shared with policy/glob.ts" {
    const cases_path = "../tests/policy/glob_cases.json";
    const file = std.fs.cwd().openFile(cases_path, .{}) catch return error.SkipZigTest;
    defer file.close();
    const text = try file.readToEndAlloc(testing.allocator, 1 << 20);
    defer testing.allocator.free(text);
    const Case = struct { pattern: []const u8, text: []const u8, flat: bool = false, match: bool };
    const parsed = try std.json.parseFromSlice([]Case, testing.allocator, text, .{});
    defer parsed.deinit();
    try testing.expect(parsed.value.len > 20);
    for (parsed.value) |case| {
        const got = globMatch(case.pattern, case.text, case.flat);
        if (got != case.match) {
            std.debug.print("glob {s} vs {s} flat={}: got {}, want {}\n", .{
                case.pattern, case.text, case.flat, got, case.match,
            });
            return error.TestUnexpectedResult;
        }
        // Through every filter of a scan too: a hit must never be filtered out.
        if (!case.flat) {
            const S = struct {
                var t: Tables = .{};
            };
            const g = compileGlob(case.pattern, 0, 7);
            S.t.globs[0] = g;
            S.t.pre4s[0] = @truncate(g.pre0);
            S.t.mask4s[0] = @truncate(g.mask0);
            S.t.segment_bits[0] = g.segment_bit;
            S.t.segment_bits2[0] = g.segment_bit2;
            const hit = scan(&S.t, 0, 1, case.text, 0, g.segment_bit != 0) != null;
            try testing.expectEqual(case.match, hit);
            const x = buildIndex(&S.t, 0, 1);
            try testing.expect(x.enabled);
            const indexed = scanIndexed(&S.t, &x, 0, case.text, 0, segmentPass(&x, case.text));
            try testing.expectEqual(case.match, indexed != null);
        }
    }
}

test "parses every record kind of the compact form in rule order" {
    const t = try loadForTest("CAIPOLICY 1 enforce 4\n" ++
        "C 1:n 2 00000000000000000000ffff7f000001/128 " ++
        "fd000000000000000000000000000000/8 2 80-80 8000-8999 0\n" ++
        "O 7:secrets 1 1 21:/run/agent-secrets/**\n" ++
        "X 7:no-sudo 1 7:**/sudo 1 2:-u\n" ++
        "C 6:docker 0 0 1 20:/var/run/docker.sock\n" ++
        "END\n");
    try testing.expectEqual(Mode.enforce, t.mode);
    try testing.expectEqual(@as(usize, 4), t.rule_count);
    const db = matchOpen(t, "/run/agent-secrets/db", access_read).?;
    try testing.expectEqualStrings("secrets", db.rule);
    try testing.expect(matchOpen(t, "/run/agent-secrets/db", access_write) == null);
    const dir = matchOpen(t, "/run/agent-secrets", access_read).?;
    try testing.expectEqualStrings("secrets", dir.rule);
    try testing.expect(matchOpen(t, "/run/agent-secretsx", access_read) == null);
    try testing.expectEqualStrings("n", matchInet(t, (0xffff << 32) | 0x7f000001, 80).?);
    try testing.expect(matchInet(t, (0xffff << 32) | 0x7f000001, 81) == null);
    try testing.expectEqualStrings("n", matchInet(t, @as(u128, 0xfd12) << 112, 8500).?);
    try testing.expectEqualStrings("docker", matchUnix(t, "/var/run/docker.sock").?);
    const with_u = [_:null]?[*:0]const u8{ "sudo", "-u", "root", "id" };
    const without = [_:null]?[*:0]const u8{ "sudo", "id" };
    try testing.expectEqualStrings("no-sudo", matchExec(t, "/usr/bin/sudo", &with_u).?.rule);
    try testing.expect(matchExec(t, "/usr/bin/sudo", &without) == null);
}

test "an argv pattern is never matched as a program path" {
    const t = try loadForTest("CAIPOLICY 1 enforce 1\nX 1:x 1 8:/nothing 1 2:**\nEND\n");
    const argv = [_:null]?[*:0]const u8{ "ls", "-l" };
    try testing.expect(matchExec(t, "/usr/bin/ls", &argv) == null);
    try testing.expectEqualStrings("x", matchExec(t, "/nothing", &argv).?.rule);
}

test "first matching rule wins" {
    const t = try loadForTest("CAIPOLICY 1 observe 2\n" ++
        "O 5:first 7 1 6:/tmp/*\n" ++
        "O 6:second 7 1 7:/tmp/**\n" ++
        "END\n");
    try testing.expectEqualStrings("first", matchOpen(t, "/tmp/a", access_read).?.rule);
    try testing.expectEqualStrings("second", matchOpen(t, "/tmp/a/b", access_read).?.rule);
    try testing.expect(!matchOpen(t, "/tmp/a", access_read).?.enforced);
}

test "the Open index and the glob scan pick the same first rule, in rule order" {
    // Rules whose globs land in every part of the index: a head bucket (`/srv`), loose (`**`,
    // `/*`), with and without segment bits; `n` copies of a filler rule before them decide
    // whether the index is built (at most 64 Open globs) or every glob is scanned.
    const shapes = [_][]const u8{ "**/.key", "/srv/**", "/*/app/.key", "**/app/**", "/srv/app/*" };
    const paths = [_][]const u8{ "/srv/app/.key", "/srv/x", "/home/app/.key", "/a/app/b", "/b" };
    const expected = [_]?[]const u8{ "s0", "s1", "s0", "s3", null };
    var buf: [8192]u8 = undefined;
    for ([_]usize{ 3, 80 }) |fillers| {
        var w = std.io.fixedBufferStream(&buf);
        const out = w.writer();
        try out.print("CAIPOLICY 1 enforce {d}\n", .{fillers + shapes.len});
        for (0..fillers) |k| try out.print("O 1:f 7 1 10:/zz{d:0>4}/**\n", .{k});
        for (shapes, 0..) |shape, k| {
            try out.print("O 2:s{d} 7 1 {d}:{s}\n", .{ k, shape.len, shape });
        }
        try out.writeAll("END\n");
        var t: Tables = .{};
        try testing.expect(parse(w.getWritten(), &t));
        try testing.expectEqual(fillers + shapes.len <= 64, t.open_index.enabled);
        for (paths, expected) |path, want| {
            const got = matchOpen(&t, path, access_read);
            const filter = segmentFilter(path);
            const scanned = scanFiltered(&t, t.open_start, t.open_end, path, access_read, filter);
            if (want) |name| {
                try testing.expectEqualStrings(name, got.?.rule);
                try testing.expectEqualStrings(name, t.rules[t.globs[scanned.?].rule].name);
            } else {
                try testing.expect(got == null);
                try testing.expect(scanned == null);
            }
        }
    }
}

/// A random glob or path from a small alphabet, so that random globs and paths often meet.
fn randomPattern(r: std.Random, buf: []u8, glob: bool) []const u8 {
    const words = [_][]const u8{ "a", "b", "ab", ".k", "srv", "app", "x.key", "ba", "a.b" };
    const wild = [_][]const u8{ "*", "?", "**", "*.key", "a*", "?b", "\\a" };
    var len: usize = 0;
    const parts = 1 + r.uintLessThan(usize, 4);
    const relative_start = glob and r.uintLessThan(u8, 4) == 0;
    for (0..parts) |k| {
        if (k > 0 or !relative_start) {
            buf[len] = '/';
            len += 1;
        }
        const part = if (glob and r.uintLessThan(u8, 3) == 0)
            wild[r.uintLessThan(usize, wild.len)]
        else
            words[r.uintLessThan(usize, words.len)];
        @memcpy(buf[len .. len + part.len], part);
        len += part.len;
    }
    return buf[0..len];
}

/// The first rule of `kind` whose path glob matches `target` (and access, and argv), by trying
/// every glob in order: what the index and the vector scan must both answer.
fn naiveFirst(
    t: *const Tables,
    from: usize,
    end: usize,
    target: []const u8,
    access: u8,
    argv: ?[*:null]const ?[*:0]const u8,
) ?[]const u8 {
    for (t.globs[from..end]) |*g| {
        if (g.argv) continue;
        if (access != 0 and g.access & access == 0) continue;
        if (!globMatch(g.pattern, target, false)) continue;
        const rule = &t.rules[g.rule];
        if (argv != null and !argvMatches(t, rule, argv)) continue;
        return rule.name;
    }
    return null;
}

test "the path indexes pick the same first rule as the vector scan and a plain glob loop" {
    var prng = std.Random.DefaultPrng.init(0x5eed_0007);
    const r = prng.random();
    var text: [16384]u8 = undefined;
    var glob_bufs: [64][48]u8 = undefined;
    var path_buf: [64]u8 = undefined;
    const S = struct {
        var t: Tables = .{};
    };
    const t = &S.t;
    var hits: usize = 0;
    for (0..300) |_| {
        var w = std.io.fixedBufferStream(&text);
        const out = w.writer();
        const rules = 1 + r.uintLessThan(usize, 20);
        try out.print("CAIPOLICY 1 enforce {d}\n", .{rules});
        var used: usize = 0;
        for (0..rules) |k| {
            const globs = 1 + r.uintLessThan(usize, 3);
            const kind = r.uintLessThan(u8, 3);
            const name = [2]u8{ 'r', 'a' + @as(u8, @intCast(k)) };
            switch (kind) {
                0 => try out.print("O 2:{s} {d} {d}", .{ name, 1 + r.uintLessThan(u8, 7), globs }),
                1 => try out.print("X 2:{s} {d}", .{ name, globs }),
                else => try out.print("C 2:{s} 0 0 {d}", .{ name, globs }),
            }
            for (0..globs) |_| {
                const g = randomPattern(r, &glob_bufs[used % glob_bufs.len], true);
                used += 1;
                try out.print(" {d}:{s}", .{ g.len, g });
            }
            // Exec rules: no argv pattern, or one that only some argv lists meet.
            if (kind == 1) {
                if (r.boolean()) try out.writeAll(" 0") else try out.writeAll(" 1 2:-*");
            }
            try out.writeAll("\n");
        }
        try out.writeAll("END\n");
        try testing.expect(parse(w.getWritten(), t));
        // The same policy as the process's, for checkOpen (the C-string path of the hooks).
        try installForTest(w.getWritten());
        defer state.store(.off, .release);
        try testing.expect(t.open_index.enabled and t.exec_index.enabled);
        try testing.expect(t.unix_index.enabled);
        for (0..40) |_| {
            const path = randomPattern(r, &path_buf, false);
            const access = @as(u8, 1) << r.uintLessThan(u3, 3);
            const with_flag = [_:null]?[*:0]const u8{ "p", "-x" };
            const plain = [_:null]?[*:0]const u8{ "p", "x" };
            const argv: [*:null]const ?[*:0]const u8 = if (r.boolean()) &with_flag else &plain;
            const want_open = naiveFirst(t, t.open_start, t.open_end, path, access, null);
            const want_exec = naiveFirst(t, t.exec_start, t.exec_end, path, 0, argv);
            const want_unix = naiveFirst(t, t.unix_start, t.unix_end, path, 0, null);
            var z: [65]u8 = undefined;
            @memcpy(z[0..path.len], path);
            z[path.len] = 0;
            const flags: u32 = switch (access) {
                access_read => 0,
                access_write => 1,
                else => 1 | 0o100,
            };
            const checked = checkOpen(@ptrCast(&z), linux.AT.FDCWD, flags);
            defer if (checked) |m| release(m);
            const flag_access = openAccess(flags);
            const want_checked = naiveFirst(t, t.open_start, t.open_end, path, flag_access, null);
            try expectSameRule(want_checked, if (checked) |m| m.rule else null);
            if (want_open != null or want_exec != null or want_unix != null) hits += 1;
            for ([_]bool{ true, false }) |indexed| {
                t.open_index.enabled = indexed;
                t.exec_index.enabled = indexed;
                t.unix_index.enabled = indexed;
                const open = if (matchOpen(t, path, access)) |m| m.rule else null;
                const exec = if (matchExec(t, path, argv)) |m| m.rule else null;
                try expectSameRule(want_open, open);
                try expectSameRule(want_exec, exec);
                try expectSameRule(want_unix, matchUnix(t, path));
            }
        }
    }
    // The alphabet is small enough that many paths meet a rule: the comparison is not vacuous.
    try testing.expect(hits > 1000);
}

fn expectSameRule(want: ?[]const u8, got: ?[]const u8) !void {
    if (want) |name| {
        try testing.expect(got != null);
        try testing.expectEqualStrings(name, got.?);
    } else {
        try testing.expect(got == null);
    }
}

test "rejects malformed compact forms" {
    const bad = [_][]const u8{
        "",
        "CAIPOLICY 2 enforce 0\nEND\n",
        "CAIPOLICY 1 enforce 0\n",
        "CAIPOLICY 1 enforce 0\nEND\nX",
        "CAIPOLICY 1 enforce 1\nEND\n",
        "CAIPOLICY 1 enforce 0\nO 1:a 7 1 2:/x\nEND\n",
        "CAIPOLICY 1 enforce 1\nO 1:a 9 1 2:/x\nEND\n",
        "CAIPOLICY 1 enforce 1\nO 1:a 7 1 9:/x\nEND\n",
        "CAIPOLICY 1 enforce 1\nO 0: 7 1 2:/x\nEND\n",
        "CAIPOLICY 1 sometimes 0\nEND\n",
        "CAIPOLICY 1 enforce 1\nC 1:a 1 00000000000000000000ffff7f000001/96 1 1-2 0\nEND\n",
        "CAIPOLICY 1 enforce 1\nC 1:a 1 00000000000000000000ffff7f000001/128 0 0\nEND\n",
        "CAIPOLICY 1 enforce 1\nC 1:a 0 0 0\nEND\n",
        "CAIPOLICY 1 enforce 1\nC 1:a 1 00000000000000000000ffff7f000001/128 1 9-2 0\nEND\n",
    };
    var t: Tables = .{};
    for (bad) |text| {
        if (parse(text, &t)) {
            std.debug.print("accepted: {s}\n", .{text});
            return error.TestUnexpectedResult;
        }
    }
}

test "normalizes paths lexically" {
    var buf: [256]u8 = undefined;
    const up = normalizeInto(&buf, "/home/ada", "../etc//passwd").?;
    try testing.expectEqualStrings("/home/etc/passwd", up);
    try testing.expectEqualStrings("/x", normalizeInto(&buf, "/", "/x/./y/..//").?);
    try testing.expectEqualStrings("/", normalizeInto(&buf, "/", "/../..").?);
    try testing.expect(isNormal("/usr/lib/x.so"));
    try testing.expect(!isNormal("/usr//lib"));
    try testing.expect(!isNormal("/usr/./lib"));
    try testing.expect(!isNormal("/usr/lib/"));
    try testing.expect(!isNormal("/usr/.."));
    try testing.expect(!isNormal("rel"));
    try testing.expect(isNormal("/usr/.hidden/..x"));
}

test "the one-pass path scan agrees with isNormal, segmentFilter and segmentPass" {
    const paths = [_][]const u8{
        "/",
        "/usr/lib/x.so",
        "/usr//lib",
        "/a/./b",
        "/a/../b",
        "/a/",
        "rel/x",
        "/.hidden/..x",
        "/a/b/.",
        "/a/b/..",
        "/.",
        "/..",
        "/...",
        "/a/.b/c.",
        "//",
        "/tmp/containai-bench-policy-8c1f0a2b3c4d5e6f/missing-dir/project/t.txt",
        "/0123456789abcde/",
        "/0123456789abcd/.",
        "/0123456789abc/../x",
        "/0123456789abcdef/0123456789abcdef/x",
        "/0123456789abcd//x",
        "",
    };
    const t = try loadForTest("CAIPOLICY 1 enforce 5\n" ++
        "O 1:a 7 1 9:**/lib/**\n" ++
        "O 1:b 7 1 8:**/t.txt\n" ++
        "O 1:c 7 1 24:/*/0123456789abcdef/x/**\n" ++
        "O 1:d 7 1 11:/usr/lib/**\n" ++
        "O 1:e 7 1 13:/tmp/**/t.txt\n" ++
        "END\n");
    // Every alignment (the scan reads whole 16-byte blocks around the path), and bytes around
    // it that would complete a pattern if they were read as the path's.
    var buf: [128]u8 align(16) = undefined;
    for (paths) |s| {
        for ([_]u8{ '/', '.' }) |fill| {
            for (0..16) |shift| {
                @memset(&buf, fill);
                @memcpy(buf[shift .. shift + s.len], s);
                buf[shift + s.len] = 0;
                var filter = SegmentFilter{};
                const info = pathInfo(@ptrCast(&buf[shift]), &filter);
                try testing.expectEqual(s.len, info.len);
                try testing.expectEqual(isNormal(s), info.normal);
                try testing.expectEqual(segmentFilter(s), filter.bits);
                var select = SegmentSelect.init(&t.open_index);
                _ = pathInfo(@ptrCast(&buf[shift]), &select);
                try testing.expectEqual(segmentPass(&t.open_index, s), select.pass);
            }
        }
    }
}

test "derives access kinds from open flags" {
    try testing.expectEqual(access_read, openAccess(0));
    try testing.expectEqual(access_write, openAccess(1));
    try testing.expectEqual(access_read | access_write, openAccess(2));
    try testing.expectEqual(access_write | access_create, openAccess(1 | 0o100 | 0o1000));
}

test "formats a Deny payload" {
    var buf: [512]u8 = undefined;
    var w = json.Writer.init(&buf);
    const m: Match = .{ .rule = "secrets", .enforced = true, .target = "/run/s" };
    writeDenyPayload(&w, "openat", .Open, m, EACCES);
    try testing.expectEqualStrings(
        "\"call\":\"openat\",\"action\":\"Open\",\"target\":\"/run/s\"," ++
            "\"rule\":\"secrets\",\"errno\":13,\"enforced\":true",
        w.written(),
    );
}

/// Installs `text` as the process's policy, as if loaded from CONTAINAI_POLICY.
fn installForTest(text: []const u8) !void {
    try testing.expect(parse(text, &tables));
    state.store(.ready, .release);
}

fn sockaddrIn(ip: [4]u8, port: u16) linux.sockaddr.in {
    return .{ .port = std.mem.nativeToBig(u16, port), .addr = @bitCast(ip) };
}

test "an open of a relative path is matched as the absolute path it names" {
    try installForTest("CAIPOLICY 1 enforce 1\nO 5:probe 1 1 18:**/zz-policy-probe\nEND\n");
    defer state.store(.off, .release);
    var cwd_buf: [4096]u8 = undefined;
    const cwd = cwdInto(&cwd_buf).?;
    const m = checkOpen("sub/./../zz-policy-probe", linux.AT.FDCWD, 0).?;
    defer release(m);
    try testing.expectEqualStrings("probe", m.rule);
    try testing.expect(m.enforced);
    try testing.expect(std.mem.startsWith(u8, m.target, cwd));
    try testing.expect(std.mem.endsWith(u8, m.target, "/zz-policy-probe"));
    try testing.expect(checkOpen("sub/./../zz-policy-probe", linux.AT.FDCWD, 1) == null);
    try testing.expect(checkOpen("/tmp/other", linux.AT.FDCWD, 0) == null);
}

test "a connect is matched by address and port and reported as address:port" {
    try installForTest("CAIPOLICY 1 observe 2\n" ++
        "C 4:loop 2 00000000000000000000ffff7f000000/104 " ++
        "00000000000000000000000000000001/128 1 80-80 0\n" ++
        "C 5:abstr 0 0 1 5:@zz-*\n" ++
        "END\n");
    defer state.store(.off, .release);
    const v4 = sockaddrIn(.{ 127, 0, 0, 9 }, 80);
    const m = checkConnect(&v4, @sizeOf(@TypeOf(v4))).?;
    defer release(m);
    try testing.expectEqualStrings("loop", m.rule);
    try testing.expect(!m.enforced);
    try testing.expectEqualStrings("127.0.0.9:80", m.target);
    const other_port = sockaddrIn(.{ 127, 0, 0, 9 }, 81);
    try testing.expect(checkConnect(&other_port, @sizeOf(@TypeOf(other_port))) == null);
    var v6: linux.sockaddr.in6 = .{
        .port = std.mem.nativeToBig(u16, 80),
        .flowinfo = 0,
        .addr = [_]u8{0} ** 15 ++ [_]u8{1},
        .scope_id = 0,
    };
    const m6 = checkConnect(&v6, @sizeOf(@TypeOf(v6))).?;
    defer release(m6);
    try testing.expectEqualStrings("[::1]:80", m6.target);
    v6.addr = [_]u8{0} ** 10 ++ [_]u8{ 0xff, 0xff, 127, 0, 0, 1 };
    const mapped = checkConnect(&v6, @sizeOf(@TypeOf(v6))).?;
    defer release(mapped);
    try testing.expectEqualStrings("loop", mapped.rule);
    var un: linux.sockaddr.un = .{ .path = [_]u8{0} ** 108 };
    @memcpy(un.path[1..8], "zz-sock");
    const ma = checkConnect(&un, 2 + 8).?;
    defer release(ma);
    try testing.expectEqualStrings("@zz-sock", ma.target);
}

fn sockaddrUn(path: []const u8) linux.sockaddr.un {
    var un: linux.sockaddr.un = .{ .path = [_]u8{0} ** 108 };
    @memcpy(un.path[0..path.len], path);
    return un;
}

test "a Unix socket path is matched in normal form, however it is written" {
    try installForTest("CAIPOLICY 1 enforce 2\n" ++
        "C 6:docker 0 0 1 20:/var/run/docker.sock\n" ++
        "C 5:agent 0 0 1 19:**/agent-*/ssh.sock\n" ++
        "END\n");
    defer state.store(.off, .release);
    try testing.expect(tables.unix_index.enabled);
    const cases = [_]struct { path: []const u8, rule: ?[]const u8 }{
        .{ .path = "/var/run/docker.sock", .rule = "docker" },
        .{ .path = "/var/./run//docker.sock", .rule = "docker" },
        .{ .path = "/var/lib/../run/docker.sock", .rule = "docker" },
        .{ .path = "/tmp/agent-7/ssh.sock", .rule = "agent" },
        .{ .path = "/tmp/agent-7/x/../ssh.sock", .rule = "agent" },
        .{ .path = "/var/run/docker.sock2", .rule = null },
        .{ .path = "/tmp/agent-7/ssh.sockx", .rule = null },
    };
    for (cases) |case| {
        const un = sockaddrUn(case.path);
        const got = checkConnect(&un, @intCast(2 + case.path.len + 1));
        if (case.rule) |name| {
            const m = got.?;
            defer release(m);
            try testing.expectEqualStrings(name, m.rule);
            try testing.expect(m.target[0] == '/' and isNormal(m.target));
        } else {
            try testing.expect(got == null);
        }
    }
}

test "an exec path is matched in normal form, however it is written" {
    try installForTest("CAIPOLICY 1 enforce 1\nX 2:sh 1 5:**/sh 0\nEND\n");
    defer state.store(.off, .release);
    try testing.expect(tables.exec_index.enabled);
    const argv = [_:null]?[*:0]const u8{"sh"};
    for ([_][*:0]const u8{ "/bin/sh", "/bin/./sh", "/usr/../bin//sh" }) |path| {
        const m = checkExec(path, linux.AT.FDCWD, &argv, false).?;
        defer release(m);
        try testing.expectEqualStrings("sh", m.rule);
        try testing.expect(isNormal(m.target) and std.mem.endsWith(u8, m.target, "/sh"));
    }
    try testing.expect(checkExec("/bin/shx", linux.AT.FDCWD, &argv, false) == null);
}

test "an execvp-style name is looked up in PATH before matching" {
    try installForTest("CAIPOLICY 1 enforce 1\nX 2:sh 1 5:**/sh 1 2:-c\nEND\n");
    defer state.store(.off, .release);
    const with_c = [_:null]?[*:0]const u8{ "sh", "-c", "true" };
    const m = checkExec("sh", linux.AT.FDCWD, &with_c, true).?;
    defer release(m);
    try testing.expect(std.mem.endsWith(u8, m.target, "/sh"));
    try testing.expect(m.target[0] == '/');
    const without = [_:null]?[*:0]const u8{ "sh", "x.sh" };
    try testing.expect(checkExec("sh", linux.AT.FDCWD, &without, true) == null);
    // A path that matches but names no file is left to fail on its own (ENOENT).
    try testing.expect(checkExec("/nonexistent-dir/sh", linux.AT.FDCWD, &with_c, false) == null);
}

test "a policy that failed to load denies every checked call (fail closed)" {
    tables = .{};
    state.store(.failed, .release);
    defer state.store(.off, .release);
    const m = checkOpen("/etc/hostname", linux.AT.FDCWD, 0).?;
    defer release(m);
    try testing.expectEqualStrings(unavailable_rule, m.rule);
    try testing.expect(m.enforced);
    const argv = [_:null]?[*:0]const u8{"true"};
    const e = checkExec("/bin/true", linux.AT.FDCWD, &argv, false).?;
    release(e);
    const v4 = sockaddrIn(.{ 10, 0, 0, 1 }, 443);
    const c = checkConnect(&v4, @sizeOf(@TypeOf(v4))).?;
    defer release(c);
    try testing.expectEqualStrings("10.0.0.1:443", c.target);
}

test "scratch slots are given back" {
    try installForTest("CAIPOLICY 1 enforce 1\nO 1:x 7 1 3:/zz\nEND\n");
    defer state.store(.off, .release);
    var i: usize = 0;
    while (i < 3 * scratch_slots) : (i += 1) {
        try testing.expect(checkOpen("relative/path", linux.AT.FDCWD, 0) == null);
        const m = checkOpen("/zz/../zz", linux.AT.FDCWD, 0).?;
        release(m);
    }
    for (&scratch_owner) |*o| try testing.expectEqual(@as(usize, 0), o.load(.acquire));
}
