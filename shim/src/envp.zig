//! Environment handling for exec: the redacted copy that goes into events, and the re-injection of
//! LD_PRELOAD and CONTAINAI_* into an environment that lost them (safety rule 7), built in a
//! caller-provided stack buffer so it is safe in a vfork child.
const std = @import("std");
const json = @import("json.zig");
const config = @import("config.zig");
const sys = @import("sys.zig");

pub const Env = ?[*:null]const ?[*:0]const u8;

/// Most environment entries an exec can have for the shim to add its variables back.
pub const max_entries = 512;
const max_added = 40;

pub const Rebuilt = struct {
    ptrs: [max_entries + max_added:null]?[*:0]const u8 = undefined,
    preload: [4352]u8 = undefined,
};

fn nameOf(entry: [*:0]const u8) []const u8 {
    var i: usize = 0;
    while (entry[i] != 0 and entry[i] != '=') i += 1;
    return entry[0..i];
}

/// Writes `"env":[...]` with secret values replaced by [REDACTED].
pub fn writeEnv(w: *json.Writer, envp: Env) void {
    w.raw("\"env\":[");
    const env = envp orelse {
        w.byte(']');
        return;
    };
    const cfg = &config.current;
    var i: usize = 0;
    while (env[i]) |entry| : (i += 1) {
        if (w.truncated) break;
        if (i > 0) w.byte(',');
        const name = nameOf(entry);
        if (entry[name.len] == '=' and config.isSecretName(cfg, name)) {
            if (w.beginString()) {
                if (w.append(name.ptr, name.len, false)) {
                    _ = w.append("=[REDACTED]", 11, false);
                }
                w.endString();
            }
        } else {
            w.cstring(entry);
        }
    }
    w.byte(']');
}

/// Writes `"argv":[...]`.
pub fn writeArgv(w: *json.Writer, argv: Env) void {
    w.raw("\"argv\":[");
    if (argv) |args| {
        var i: usize = 0;
        while (args[i]) |arg| : (i += 1) {
            if (w.truncated) break;
            if (i > 0) w.byte(',');
            w.cstring(arg);
        }
    }
    w.byte(']');
}

/// Whether an LD_PRELOAD value lists `self` as one of its entries (the loader splits the value
/// at spaces and colons): a longer name that merely contains it, such as `self` ++ ".old", is
/// another file. A plain scan (no std.mem helpers with large stack tables: each stack page an
/// exec hook writes is a page fault in a fork child).
fn listsLibrary(value: []const u8, self: []const u8) bool {
    if (self.len == 0) return false;
    var start: usize = 0;
    var i: usize = 0;
    while (i <= value.len) : (i += 1) {
        if (i == value.len or value[i] == ':' or value[i] == ' ') {
            if (std.mem.eql(u8, value[start..i], self)) return true;
            start = i + 1;
        }
    }
    return false;
}

fn findByName(env: [*:null]const ?[*:0]const u8, name: []const u8) ?usize {
    var i: usize = 0;
    while (env[i]) |entry| : (i += 1) {
        if (std.mem.eql(u8, nameOf(entry), name) and entry[name.len] == '=') return i;
    }
    return null;
}

/// The last `LD_PRELOAD` entry: the dynamic loader reads every entry and the last one wins, so a
/// program that appends its own `LD_PRELOAD=...` to a copy of `environ` replaces the shim's.
fn findPreload(env: [*:null]const ?[*:0]const u8) ?usize {
    var found: ?usize = null;
    var i: usize = 0;
    while (env[i]) |entry| : (i += 1) {
        // Compared byte by byte up to the first difference: no strlen of every value.
        const prefix = "LD_PRELOAD=";
        var k: usize = 0;
        while (k < prefix.len and entry[k] == prefix[k]) k += 1;
        if (k == prefix.len) found = i;
    }
    return found;
}

/// Whether `entry` sets CONTAINAI_POLICY to something other than saved entry `s`. The policy in
/// force is sticky (docs/policy.md): a program may not hand its children a weaker one, or none.
fn replacesPolicy(entry: [*:0]const u8, s: usize) bool {
    const cfg = &config.current;
    const name = "CONTAINAI_POLICY";
    const saved = std.mem.span(cfg.saved[s]);
    if (cfg.saved_name_len[s] != name.len or !std.mem.startsWith(u8, saved, name)) return false;
    // An empty value is no policy: nothing to keep in force.
    if (saved.len == name.len + 1) return false;
    return !std.mem.eql(u8, std.mem.span(entry), saved);
}

/// What an environment lacks of the shim's variables.
const Missing = struct {
    count: usize,
    preload_at: ?usize,
    preload_ok: bool,
};

/// Null when `envp` can be passed on as it is (it still carries the shim's variables, or it is
/// too large to copy), else what a copy must put back.
fn inspect(envp: Env) ?Missing {
    const cfg = &config.current;
    if (cfg.saved_count == 0) return null;
    const empty = [_:null]?[*:0]const u8{};
    const env: [*:null]const ?[*:0]const u8 = envp orelse &empty;
    var count: usize = 0;
    while (env[count] != null and count <= max_entries) count += 1;
    if (count > max_entries) return null;

    const self = cfg.selfPath();
    var preload_at: ?usize = null;
    var preload_ok = true;
    var missing: usize = 0;
    var s: usize = 0;
    while (s < cfg.saved_count) : (s += 1) {
        const name = cfg.saved[s][0..cfg.saved_name_len[s]];
        if (cfg.preload_index != null and s == cfg.preload_index.?) {
            const at = findPreload(env);
            preload_at = at;
            if (at) |p| {
                const value = std.mem.span(env[p].?)[name.len + 1 ..];
                const saved_value = std.mem.span(cfg.saved[s])[name.len + 1 ..];
                preload_ok = listsLibrary(value, self) or std.mem.eql(u8, value, saved_value);
            } else {
                preload_ok = false;
            }
            continue;
        }
        const at = findByName(env, name);
        if (at == null or replacesPolicy(env[at.?].?, s)) missing += 1;
    }
    if (missing == 0 and preload_ok) return null;
    return .{ .count = count, .preload_at = preload_at, .preload_ok = preload_ok };
}

/// Whether `withAuditEnv` would return `envp` itself: callers can then skip reserving a
/// `Rebuilt` (about 9 KiB of stack, each page of it a page fault in a fork child).
pub fn keepsEnv(envp: Env) bool {
    return inspect(envp) == null;
}

/// `envp` itself when it still carries the shim's variables, else a copy in `out` with them put
/// back: LD_PRELOAD (the value the shim was loaded with, or this library prepended to a different
/// one) and every CONTAINAI_* variable the program did not set itself; CONTAINAI_POLICY is put
/// back even when the program set another value.
pub fn withAuditEnv(envp: Env, out: *Rebuilt) Env {
    const cfg = &config.current;
    const found = inspect(envp) orelse return envp;
    const empty = [_:null]?[*:0]const u8{};
    const env: [*:null]const ?[*:0]const u8 = envp orelse &empty;
    const count = found.count;
    const self = cfg.selfPath();
    const preload_at = found.preload_at;
    const preload_ok = found.preload_ok;
    var n: usize = 0;
    var i: usize = 0;
    while (i < count) : (i += 1) {
        out.ptrs[n] = env[i];
        n += 1;
    }
    if (!preload_ok) {
        if (preload_at) |p| {
            // The program set its own LD_PRELOAD: keep it, with this library in front.
            const value = std.mem.span(env[p].?)["LD_PRELOAD=".len..];
            const total = "LD_PRELOAD=".len + self.len + 1 + value.len;
            if (self.len > 0 and total + 1 <= out.preload.len) {
                var b: usize = 0;
                @memcpy(out.preload[0..11], "LD_PRELOAD=");
                b = 11;
                @memcpy(out.preload[b .. b + self.len], self);
                b += self.len;
                out.preload[b] = ':';
                b += 1;
                @memcpy(out.preload[b .. b + value.len], value);
                b += value.len;
                out.preload[b] = 0;
                out.ptrs[p] = @ptrCast(&out.preload[0]);
            }
        } else if (cfg.preload_index) |pi| {
            out.ptrs[n] = cfg.saved[pi];
            n += 1;
        }
    }
    var s: usize = 0;
    while (s < cfg.saved_count and n < out.ptrs.len) : (s += 1) {
        if (cfg.preload_index != null and s == cfg.preload_index.?) continue;
        const at = findByName(env, cfg.saved[s][0..cfg.saved_name_len[s]]);
        if (at == null) {
            out.ptrs[n] = cfg.saved[s];
            n += 1;
        } else if (replacesPolicy(env[at.?].?, s)) {
            out.ptrs[at.?] = cfg.saved[s];
        }
    }
    if (!sys.invariant(n < out.ptrs.len)) return envp;
    out.ptrs[n] = null;
    return @ptrCast(&out.ptrs);
}

test "listsLibrary finds the library as a whole entry, not inside another name" {
    try std.testing.expect(listsLibrary("/a/lib.so:/b/x.so", "/a/lib.so"));
    try std.testing.expect(listsLibrary("/b/x.so /a/lib.so", "/a/lib.so"));
    try std.testing.expect(!listsLibrary("/a/lib.so.old", "/a/lib.so"));
    try std.testing.expect(!listsLibrary("/x/a/lib.so", "/a/lib.so"));
    try std.testing.expect(!listsLibrary("/a/lib.so", ""));
}

test "puts LD_PRELOAD and CONTAINAI variables back into an emptied environment" {
    const saved_env = [_:null]?[*:0]const u8{
        "LD_PRELOAD=/s/libauditshim.so",
        "CONTAINAI_SESSION_ID=s1",
        "HOME=/",
    };
    config.load(&config.current, &saved_env, "/s/libauditshim.so");
    var out: Rebuilt = .{};
    const child = [_:null]?[*:0]const u8{"PATH=/bin"};
    const env = withAuditEnv(&child, &out).?;
    try std.testing.expectEqualStrings("PATH=/bin", std.mem.span(env[0].?));
    try std.testing.expectEqualStrings("LD_PRELOAD=/s/libauditshim.so", std.mem.span(env[1].?));
    try std.testing.expectEqualStrings("CONTAINAI_SESSION_ID=s1", std.mem.span(env[2].?));
    try std.testing.expect(env[3] == null);
}

test "leaves an environment that still has the shim untouched" {
    const saved_env = [_:null]?[*:0]const u8{
        "LD_PRELOAD=/s/libauditshim.so",
        "CONTAINAI_AGENT=a",
    };
    config.load(&config.current, &saved_env, "/s/libauditshim.so");
    var out: Rebuilt = .{};
    const child = [_:null]?[*:0]const u8{
        "CONTAINAI_AGENT=b",
        "LD_PRELOAD=/x.so:/s/libauditshim.so",
    };
    const env = withAuditEnv(&child, &out);
    try std.testing.expect(env == @as(Env, &child));
}

test "prepends the shim to a different LD_PRELOAD" {
    const saved_env = [_:null]?[*:0]const u8{"LD_PRELOAD=/s/libauditshim.so"};
    config.load(&config.current, &saved_env, "/s/libauditshim.so");
    var out: Rebuilt = .{};
    const child = [_:null]?[*:0]const u8{"LD_PRELOAD=/other.so"};
    const env = withAuditEnv(&child, &out).?;
    try std.testing.expectEqualStrings(
        "LD_PRELOAD=/s/libauditshim.so:/other.so",
        std.mem.span(env[0].?),
    );
}

test "keeps the policy in force when a program sets CONTAINAI_POLICY to another value" {
    const saved_env = [_:null]?[*:0]const u8{
        "LD_PRELOAD=/s/libauditshim.so",
        "CONTAINAI_POLICY=/p/policy.compact",
    };
    config.load(&config.current, &saved_env, "/s/libauditshim.so");
    var out: Rebuilt = .{};
    const child = [_:null]?[*:0]const u8{
        "LD_PRELOAD=/s/libauditshim.so",
        "CONTAINAI_POLICY=",
        "PATH=/bin",
    };
    const env = withAuditEnv(&child, &out).?;
    try std.testing.expectEqualStrings("CONTAINAI_POLICY=/p/policy.compact", std.mem.span(env[1].?));
    try std.testing.expectEqualStrings("PATH=/bin", std.mem.span(env[2].?));
    try std.testing.expect(env[3] == null);
}

test "puts the shim in front of the last LD_PRELOAD entry, the one the loader uses" {
    const saved_env = [_:null]?[*:0]const u8{"LD_PRELOAD=/s/libauditshim.so"};
    config.load(&config.current, &saved_env, "/s/libauditshim.so");
    var out: Rebuilt = .{};
    const child = [_:null]?[*:0]const u8{ "LD_PRELOAD=/s/libauditshim.so", "LD_PRELOAD=/other.so" };
    const env = withAuditEnv(&child, &out).?;
    try std.testing.expectEqualStrings("LD_PRELOAD=/s/libauditshim.so", std.mem.span(env[0].?));
    try std.testing.expectEqualStrings(
        "LD_PRELOAD=/s/libauditshim.so:/other.so",
        std.mem.span(env[1].?),
    );
    try std.testing.expect(env[2] == null);
}
