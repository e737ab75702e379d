//! The policy decision point of every hook: called before the real call with the target as the
//! hook received it. policy.zig (issue 7) holds the matcher; this file is the one place where the
//! hooks ask it. A `.deny` verdict makes the hook skip the real call and fail with the errno.
//! Every match sends a Deny event: enforced (the call is refused) or observed (it proceeds).
const std = @import("std");
const json = @import("json.zig");
const policy = @import("policy.zig");
const report = @import("report.zig");

pub const Verdict = union(enum) {
    allow,
    deny: c_int,
};

const AT_FDCWD: c_int = -100;

const DenyPayload = struct {
    call: []const u8,
    action: policy.Action,
    match: policy.Match,
    errno_value: u16,

    pub fn write(self: *const DenyPayload, w: *json.Writer) void {
        policy.writeDenyPayload(w, self.call, self.action, self.match, self.errno_value);
    }
};

/// Reports a match and turns it into the hook's verdict.
fn verdict(call: []const u8, action: policy.Action, m: policy.Match, errno_value: u16) Verdict {
    defer policy.release(m);
    report.emit(.Deny, DenyPayload{
        .call = call,
        .action = action,
        .match = m,
        .errno_value = errno_value,
    });
    return if (m.enforced) .{ .deny = errno_value } else .allow;
}

/// The execvp family looks a name without `/` up in PATH; the policy matches what it finds.
fn searchesPath(call: []const u8) bool {
    const searching = [_][]const u8{ "execvp", "execvpe", "execlp", "posix_spawnp" };
    for (searching) |name| {
        if (std.mem.eql(u8, call, name)) return true;
    }
    return false;
}

pub inline fn decideExec(
    call: []const u8,
    path: ?[*:0]const u8,
    argv: ?[*:null]const ?[*:0]const u8,
) Verdict {
    return decideExecAt(call, AT_FDCWD, path, argv);
}

/// execveat and fexecve: `path` relative to `dirfd`, or the file `dirfd` itself when empty.
pub fn decideExecAt(
    call: []const u8,
    dirfd: c_int,
    path: ?[*:0]const u8,
    argv: ?[*:null]const ?[*:0]const u8,
) Verdict {
    const m = policy.checkExec(path, dirfd, argv, searchesPath(call)) orelse return .allow;
    return verdict(call, .Exec, m, policy.EACCES);
}

pub inline fn decideOpen(
    call: []const u8,
    dirfd: ?c_int,
    path: ?[*:0]const u8,
    flags: c_int,
) Verdict {
    const p = path orelse return .allow;
    const m = policy.checkOpen(p, dirfd orelse AT_FDCWD, @bitCast(flags)) orelse return .allow;
    return verdict(call, .Open, m, policy.EACCES);
}

pub inline fn decideConnect(call: []const u8, addr: ?*const anyopaque, len: u32) Verdict {
    const m = policy.checkConnect(addr, len) orelse return .allow;
    return verdict(call, .Connect, m, policy.EPERM);
}
