//! The policy decision point of every hook: called before the real call with the target as the
//! hook received it. policy.zig (issue 7) holds the matcher; this file is the one place where the
//! hooks ask it. A `.deny` verdict makes the hook skip the real call and fail with the errno.
pub const Verdict = union(enum) {
    allow,
    deny: c_int,
};

pub inline fn decideExec(
    call: []const u8,
    path: ?[*:0]const u8,
    argv: ?[*:null]const ?[*:0]const u8,
) Verdict {
    _ = call;
    _ = path;
    _ = argv;
    return .allow;
}

pub inline fn decideOpen(
    call: []const u8,
    dirfd: ?c_int,
    path: ?[*:0]const u8,
    flags: c_int,
) Verdict {
    _ = call;
    _ = dirfd;
    _ = path;
    _ = flags;
    return .allow;
}

pub inline fn decideConnect(call: []const u8, addr: ?*const anyopaque, len: u32) Verdict {
    _ = call;
    _ = addr;
    _ = len;
    return .allow;
}
