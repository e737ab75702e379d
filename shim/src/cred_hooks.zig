//! set*id hooks. They exist only so the cached uid/gid of events (ids.zig) are re-read after a
//! change; the real call's result and errno pass through untouched. glibc applies a change to
//! every thread before returning, so invalidating after the call is enough.
const sys = @import("sys.zig");
const real = @import("real.zig");
const ids = @import("ids.zig");

const ENOSYS: c_int = 38;

fn after(rc: c_int) c_int {
    const err = sys.getErrno();
    ids.credentialsChanged();
    sys.setErrno(err);
    return rc;
}

fn one(comptime name: [:0]const u8, id: u32) c_int {
    const f = real.get(name) orelse return enosys();
    return after(f(id));
}

fn two(comptime name: [:0]const u8, a: u32, b: u32) c_int {
    const f = real.get(name) orelse return enosys();
    return after(f(a, b));
}

fn three(comptime name: [:0]const u8, a: u32, b: u32, c: u32) c_int {
    const f = real.get(name) orelse return enosys();
    return after(f(a, b, c));
}

fn enosys() c_int {
    sys.setErrno(ENOSYS);
    return -1;
}

/// setuid: changes the real uid events report.
fn hookSetuid(uid: u32) callconv(.c) c_int {
    return one("setuid", uid);
}

/// setgid: changes the real gid events report.
fn hookSetgid(gid: u32) callconv(.c) c_int {
    return one("setgid", gid);
}

/// seteuid: glibc implements it with setresuid internally, which no setresuid hook sees.
fn hookSeteuid(uid: u32) callconv(.c) c_int {
    return one("seteuid", uid);
}

/// setegid: glibc implements it with setresgid internally.
fn hookSetegid(gid: u32) callconv(.c) c_int {
    return one("setegid", gid);
}

/// setreuid: CPython's subprocess (user=) calls it in the child before exec.
fn hookSetreuid(ruid: u32, euid: u32) callconv(.c) c_int {
    return two("setreuid", ruid, euid);
}

/// setregid: CPython's subprocess (group=) calls it in the child before exec.
fn hookSetregid(rgid: u32, egid: u32) callconv(.c) c_int {
    return two("setregid", rgid, egid);
}

/// setresuid: the general form (su, sudo, privilege-dropping daemons).
fn hookSetresuid(ruid: u32, euid: u32, suid: u32) callconv(.c) c_int {
    return three("setresuid", ruid, euid, suid);
}

/// setresgid: the general form for groups.
fn hookSetresgid(rgid: u32, egid: u32, sgid: u32) callconv(.c) c_int {
    return three("setresgid", rgid, egid, sgid);
}

comptime {
    @export(&hookSetuid, .{ .name = "setuid" });
    @export(&hookSetgid, .{ .name = "setgid" });
    @export(&hookSeteuid, .{ .name = "seteuid" });
    @export(&hookSetegid, .{ .name = "setegid" });
    @export(&hookSetreuid, .{ .name = "setreuid" });
    @export(&hookSetregid, .{ .name = "setregid" });
    @export(&hookSetresuid, .{ .name = "setresuid" });
    @export(&hookSetresgid, .{ .name = "setresgid" });
}
