//! Configuration, read once from the environment when the library loads (or lazily by the first
//! hook if another library's constructor calls a hooked function before ours runs).
//! Everything lives in static buffers: no allocation.
const std = @import("std");
const json = @import("json.zig");

pub const default_socket = "/run/containai/audit.sock";
pub const max_event_cap: u32 = 64 * 1024;
pub const min_event_size: u32 = 1024;
/// Room for the pre-encoded `"metadata":{...}`.
pub const metadata_cap = 768;

pub const default_redact = [_][]const u8{
    "TOKEN",   "SECRET",     "PASSWORD",    "PASSWD", "CREDENTIAL",
    "API_KEY", "ACCESS_KEY", "PRIVATE_KEY", "AUTH",   "COOKIE",
};

const max_patterns = 32;
const max_prefixes = 32;
const max_saved_env = 32;

const pattern_cap = 1024;
const prefix_cap = 2048;
const saved_cap = 8192;
const self_cap = 4096;

/// Counts `load` calls: what was encoded from one configuration is stale once it changes.
pub var generation = std.atomic.Value(u32).init(0);

pub const Config = struct {
    socket_path: [108]u8 = [_]u8{0} ** 108,
    socket_len: usize = 0,
    /// `"metadata":{...}` pre-encoded once.
    metadata: [metadata_cap]u8 = undefined,
    metadata_len: usize = 0,
    max_event: u32 = max_event_cap,
    send_timeout_ms: u32 = 100,
    reconnect_ms: u32 = 1000,

    /// Redaction patterns, stored uppercase in `strings`.
    pattern_start: [max_patterns]u16 = undefined,
    pattern_len: [max_patterns]u16 = undefined,
    /// `letterMask` of each pattern: a name can only contain the pattern if it has all its bits.
    pattern_mask: [max_patterns]u32 = undefined,
    pattern_count: usize = 0,

    /// Open events whose path starts with one of these prefixes are not reported.
    prefix_start: [max_prefixes]u16 = undefined,
    prefix_len: [max_prefixes]u16 = undefined,
    prefix_count: usize = 0,

    /// `LD_PRELOAD=...` and `CONTAINAI_*=...` entries as they were at load, NUL-terminated,
    /// to put back into the environment of an exec that dropped them.
    saved_used: usize = 0,
    saved: [max_saved_env][*:0]const u8 = undefined,
    saved_name_len: [max_saved_env]u16 = undefined,
    saved_count: usize = 0,
    /// Index in `saved` of the LD_PRELOAD entry, if any.
    preload_index: ?usize = null,
    /// This library's own file name as the dynamic loader reports it: `strings[self_start..]`.
    self_start: u16 = 0,
    self_len: usize = 0,
    /// The bytes of the patterns, prefixes, this library's path and the saved entries, in that
    /// order, each kind within its own limit. One buffer filled from its start (not one buffer
    /// per kind) so that loading the configuration writes a few contiguous pages: every page
    /// written is a page fault in every process the shim is loaded into.
    strings: [pattern_cap + prefix_cap + self_cap + saved_cap]u8 = undefined,
    strings_used: usize = 0,

    /// This library's own file name.
    pub fn selfPath(cfg: *const Config) []const u8 {
        return cfg.strings[cfg.self_start..][0..cfg.self_len];
    }
};

/// Left undefined (.bss) and set by `load`: a ~17 KiB initialised struct would sit in .data and
/// cost copy-on-write page faults in every process at start-up. Its own section puts it after the
/// small variables, so the part `load` writes shares their pages.
pub var current: Config linksection(".bss.config") = undefined;

/// Whether the C string starts with `prefix`; reads no further than the prefix (environments
/// hold long values, and measuring each one would dominate the start-up cost).
fn startsWith(entry: [*:0]const u8, comptime prefix: []const u8) bool {
    inline for (prefix, 0..) |c, i| {
        if (entry[i] != c) return false;
    }
    return true;
}

fn envValue(envp: [*:null]const ?[*:0]const u8, comptime name: []const u8) ?[]const u8 {
    var i: usize = 0;
    while (envp[i]) |entry| : (i += 1) {
        if (startsWith(entry, name ++ "=")) return std.mem.span(entry + name.len + 1);
    }
    return null;
}

fn parseUint(s: []const u8, fallback: u32, min: u32, max: u32) u32 {
    if (s.len == 0 or s.len > 9) return fallback;
    var v: u32 = 0;
    for (s) |c| {
        if (c < '0' or c > '9') return fallback;
        v = v * 10 + (c - '0');
    }
    return std.math.clamp(v, min, max);
}

fn sessionChar(c: u8, first: bool) u8 {
    const alnum = (c >= 'a' and c <= 'z') or (c >= 'A' and c <= 'Z') or (c >= '0' and c <= '9');
    if (alnum) return c;
    if (!first and (c == '.' or c == '_' or c == '-')) return c;
    return '_';
}

fn encodeMetadata(cfg: *Config, session: []const u8, agent: []const u8) void {
    var w = json.Writer.init(&cfg.metadata);
    // Generous string limit: both values are bounded below.
    w.string_limit = cfg.metadata.len - 4;
    w.raw("\"metadata\":{\"session_id\":\"");
    // The protocol restricts session ids to a safe file-name alphabet; anything else would make
    // the collector reject every event, so unusable characters become '_'.
    if (session.len == 0) {
        w.raw("default");
    } else {
        for (session[0..@min(session.len, 128)], 0..) |c, i| w.byte(sessionChar(c, i == 0));
    }
    w.raw("\",\"agent\":");
    var clean: [128]u8 = undefined;
    var n: usize = 0;
    for (agent) |c| {
        if (n == clean.len) break;
        clean[n] = if (c < 0x20 or c == 0x7f) ' ' else c;
        n += 1;
    }
    if (n == 0) {
        w.raw("\"unknown\"");
    } else {
        w.string(clean[0..n]);
    }
    w.byte('}');
    cfg.metadata_len = w.len;
}

/// Takes up to `cap` bytes of `cfg.strings` for one kind of string; the caller fills a prefix of
/// the result and gives back the rest with `endStrings`.
fn beginStrings(cfg: *Config, comptime cap: usize) []u8 {
    return cfg.strings[cfg.strings_used..][0..cap];
}

fn endStrings(cfg: *Config, used: usize) void {
    cfg.strings_used += used;
}

/// Splits `value` into `bytes` (a region of `cfg.strings`); starts are offsets in `cfg.strings`.
fn splitInto(
    cfg: *Config,
    value: []const u8,
    separator: u8,
    uppercase: bool,
    bytes: []u8,
    starts: []u16,
    lens: []u16,
) usize {
    const base = cfg.strings_used;
    var count: usize = 0;
    var used: usize = 0;
    var it = std.mem.splitScalar(u8, value, separator);
    while (it.next()) |raw| {
        // Redaction patterns are names: "TOKEN, SECRET" means SECRET, not " SECRET" (which no
        // variable name holds, so its values would go out in clear). Path prefixes are kept as
        // written: a path may begin or end with a space.
        const part = if (uppercase) std.mem.trim(u8, raw, " \t") else raw;
        if (part.len == 0) continue;
        if (count == starts.len or used + part.len > bytes.len) break;
        for (part, 0..) |c, i| bytes[used + i] = if (uppercase) std.ascii.toUpper(c) else c;
        starts[count] = @intCast(base + used);
        lens[count] = @intCast(part.len);
        used += part.len;
        count += 1;
    }
    endStrings(cfg, used);
    return count;
}

fn saveEntry(cfg: *Config, entry: []const u8, name_len: usize) void {
    if (cfg.saved_count == max_saved_env) return;
    if (cfg.saved_used + entry.len + 1 > saved_cap) return;
    const start = cfg.strings_used;
    const bytes = cfg.strings[start..][0 .. entry.len + 1];
    @memcpy(bytes[0..entry.len], entry);
    bytes[entry.len] = 0;
    cfg.saved_used += entry.len + 1;
    endStrings(cfg, entry.len + 1);
    cfg.saved[cfg.saved_count] = @ptrCast(&bytes[0]);
    cfg.saved_name_len[cfg.saved_count] = @intCast(name_len);
    cfg.saved_count += 1;
}

/// Fills `cfg` from the environment. `self_path` is this library's path (from dladdr).
pub fn load(cfg: *Config, envp: [*:null]const ?[*:0]const u8, self_path: []const u8) void {
    // Encodings derived from the configuration (event.zig's per-slot envelope) are rebuilt.
    _ = generation.fetchAdd(1, .acq_rel);
    // Only the scalars are reset; the buffers are written before they are read.
    cfg.socket_len = 0;
    cfg.metadata_len = 0;
    cfg.max_event = max_event_cap;
    cfg.send_timeout_ms = 100;
    cfg.reconnect_ms = 1000;
    cfg.pattern_count = 0;
    cfg.prefix_count = 0;
    cfg.saved_used = 0;
    cfg.saved_count = 0;
    cfg.preload_index = null;
    cfg.self_start = 0;
    cfg.self_len = 0;
    cfg.strings_used = 0;
    const socket = envValue(envp, "CONTAINAI_AUDIT_SOCKET") orelse default_socket;
    const unusable = socket.len == 0 or socket.len >= cfg.socket_path.len;
    const sock = if (unusable) default_socket else socket;
    @memcpy(cfg.socket_path[0..sock.len], sock);
    cfg.socket_path[sock.len] = 0;
    cfg.socket_len = sock.len;

    encodeMetadata(
        cfg,
        envValue(envp, "CONTAINAI_SESSION_ID") orelse "",
        envValue(envp, "CONTAINAI_AGENT") orelse "",
    );

    if (envValue(envp, "CONTAINAI_AUDIT_MAX_EVENT_BYTES")) |v| {
        cfg.max_event = parseUint(v, max_event_cap, min_event_size, max_event_cap);
    }
    if (envValue(envp, "CONTAINAI_AUDIT_SEND_TIMEOUT_MS")) |v| {
        cfg.send_timeout_ms = parseUint(v, 100, 1, 10_000);
    }
    if (envValue(envp, "CONTAINAI_AUDIT_RECONNECT_MS")) |v| {
        cfg.reconnect_ms = parseUint(v, 1000, 1, 600_000);
    }

    if (envValue(envp, "CONTAINAI_AUDIT_REDACT")) |v| {
        const bytes = beginStrings(cfg, pattern_cap);
        cfg.pattern_count = splitInto(
            cfg,
            v,
            ',',
            true,
            bytes,
            &cfg.pattern_start,
            &cfg.pattern_len,
        );
    } else {
        const bytes = beginStrings(cfg, pattern_cap);
        var used: usize = 0;
        for (default_redact, 0..) |p, i| {
            @memcpy(bytes[used .. used + p.len], p);
            cfg.pattern_start[i] = @intCast(cfg.strings_used + used);
            cfg.pattern_len[i] = @intCast(p.len);
            used += p.len;
        }
        endStrings(cfg, used);
        cfg.pattern_count = default_redact.len;
    }
    maskPatterns(cfg);

    if (envValue(envp, "CONTAINAI_AUDIT_OPEN_EXCLUDE")) |v| {
        const bytes = beginStrings(cfg, prefix_cap);
        cfg.prefix_count = splitInto(
            cfg,
            v,
            ':',
            false,
            bytes,
            &cfg.prefix_start,
            &cfg.prefix_len,
        );
    }

    const n = @min(self_path.len, self_cap);
    @memcpy(beginStrings(cfg, self_cap)[0..n], self_path[0..n]);
    cfg.self_start = @intCast(cfg.strings_used);
    cfg.self_len = n;
    endStrings(cfg, n);

    var i: usize = 0;
    while (envp[i]) |entry| : (i += 1) {
        if (!startsWith(entry, "LD_PRELOAD=") and !startsWith(entry, "CONTAINAI_")) continue;
        const s = std.mem.span(entry);
        const eq = std.mem.indexOfScalar(u8, s, '=') orelse continue;
        const name = s[0..eq];
        if (std.mem.eql(u8, name, "LD_PRELOAD")) {
            cfg.preload_index = cfg.saved_count;
            saveEntry(cfg, s, eq);
            if (cfg.preload_index.? == cfg.saved_count) cfg.preload_index = null;
        } else if (std.mem.startsWith(u8, name, "CONTAINAI_")) {
            saveEntry(cfg, s, eq);
        }
    }
}

/// One bit per character that occurs in `s`, case-insensitively (letters their own bit, other
/// bytes share six): a cheap necessary condition for a substring match.
fn letterMask(s: []const u8) u32 {
    var mask: u32 = 0;
    for (s) |c| {
        const u = std.ascii.toUpper(c);
        const bit: u5 = if (u >= 'A' and u <= 'Z') @intCast(u - 'A') else @intCast(26 + u % 6);
        mask |= @as(u32, 1) << bit;
    }
    return mask;
}

fn maskPatterns(cfg: *Config) void {
    var p: usize = 0;
    while (p < cfg.pattern_count) : (p += 1) {
        cfg.pattern_mask[p] = letterMask(cfg.strings[cfg.pattern_start[p]..][0..cfg.pattern_len[p]]);
    }
}

/// Whether an environment variable name looks secret (case-insensitive substring match).
pub fn isSecretName(cfg: *const Config, name: []const u8) bool {
    // Every name of every Exec event's env is checked: most are ruled out by the masks alone.
    const name_mask = letterMask(name);
    var p: usize = 0;
    while (p < cfg.pattern_count) : (p += 1) {
        if (cfg.pattern_mask[p] & ~name_mask != 0) continue;
        const pat = cfg.strings[cfg.pattern_start[p]..][0..cfg.pattern_len[p]];
        if (pat.len == 0 or pat.len > name.len) continue;
        var start: usize = 0;
        while (start + pat.len <= name.len) : (start += 1) {
            var k: usize = 0;
            while (k < pat.len and std.ascii.toUpper(name[start + k]) == pat[k]) k += 1;
            if (k == pat.len) return true;
        }
    }
    return false;
}

/// Whether Open events for this path are filtered out by CONTAINAI_AUDIT_OPEN_EXCLUDE.
pub fn isExcludedPath(cfg: *const Config, path: [*:0]const u8) bool {
    var p: usize = 0;
    while (p < cfg.prefix_count) : (p += 1) {
        const prefix = cfg.strings[cfg.prefix_start[p]..][0..cfg.prefix_len[p]];
        var k: usize = 0;
        while (k < prefix.len and path[k] != 0 and path[k] == prefix[k]) k += 1;
        if (k == prefix.len) return true;
    }
    return false;
}

test "redaction matches secret-looking names case-insensitively" {
    var cfg: Config = .{};
    const envp = [_:null]?[*:0]const u8{"HOME=/root"};
    load(&cfg, &envp, "/x/libauditshim.so");
    try std.testing.expect(isSecretName(&cfg, "GITHUB_TOKEN"));
    try std.testing.expect(isSecretName(&cfg, "my_api_key"));
    try std.testing.expect(isSecretName(&cfg, "Http_Authorization"));
    try std.testing.expect(!isSecretName(&cfg, "PATH"));
}

test "session ids with unsafe characters are made safe" {
    var cfg: Config = .{};
    const envp = [_:null]?[*:0]const u8{ "CONTAINAI_SESSION_ID=../x y", "CONTAINAI_AGENT=claude" };
    load(&cfg, &envp, "");
    try std.testing.expectEqualStrings(
        "\"metadata\":{\"session_id\":\"_._x_y\",\"agent\":\"claude\"}",
        cfg.metadata[0..cfg.metadata_len],
    );
    try std.testing.expectEqual(@as(usize, 2), cfg.saved_count);
}

test "open exclusion matches path prefixes" {
    var cfg: Config = .{};
    const envp = [_:null]?[*:0]const u8{"CONTAINAI_AUDIT_OPEN_EXCLUDE=/proc/:/sys/"};
    load(&cfg, &envp, "");
    try std.testing.expect(isExcludedPath(&cfg, "/proc/self/maps"));
    try std.testing.expect(!isExcludedPath(&cfg, "/etc/passwd"));
}

test "redaction patterns with digits and punctuation still match inside longer names" {
    var cfg: Config = .{};
    const envp = [_:null]?[*:0]const u8{"CONTAINAI_AUDIT_REDACT=s3-key,API_KEY"};
    load(&cfg, &envp, "");
    try std.testing.expect(isSecretName(&cfg, "MY_S3-KEY_X"));
    try std.testing.expect(isSecretName(&cfg, "x_api_key_2"));
    try std.testing.expect(!isSecretName(&cfg, "APIKEY"));
    try std.testing.expect(!isSecretName(&cfg, "S3KEY"));
}

test "redaction patterns are taken without the spaces around them" {
    var cfg: Config = .{};
    const envp = [_:null]?[*:0]const u8{"CONTAINAI_AUDIT_REDACT=token, secret ,\tkey\t, ,"};
    load(&cfg, &envp, "");
    try std.testing.expectEqual(@as(usize, 3), cfg.pattern_count);
    try std.testing.expect(isSecretName(&cfg, "MY_SECRET"));
    try std.testing.expect(isSecretName(&cfg, "SSH_KEY"));
    try std.testing.expect(!isSecretName(&cfg, "A B"));
}
