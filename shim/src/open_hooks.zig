//! Open hooks, reported after the call with the fd or errno. Each entry point needs its own hook
//! because glibc's callers reach the kernel through internal aliases: fopen -> __open_nocancel,
//! open64 is a separate symbol, _FORTIFY_SOURCE builds call __open_2/__openat_2, and creat is
//! its own wrapper. The mode argument is read only when the flags say it was passed.
const std = @import("std");
const sys = @import("sys.zig");
const json = @import("json.zig");
const real = @import("real.zig");
const report = @import("report.zig");
const policy = @import("decision.zig");
const config = @import("config.zig");
const lifecycle = @import("lifecycle.zig");
const open_flags = @import("open_flags.zig");

const Str = real.Str;
const AT_FDCWD: c_int = -100;
const ENOSYS: c_int = 38;

extern "c" fn fileno_unlocked(stream: *anyopaque) c_int;

const OpenPayload = struct {
    call: []const u8,
    path: Str,
    flags: c_int,
    mode: ?c_uint,
    dirfd: ?c_int,
    fd: c_int,
    err: c_int,

    pub fn write(self: *const OpenPayload, w: *json.Writer) void {
        w.raw("\"call\":\"");
        w.raw(self.call);
        w.raw("\",");
        if (self.fd >= 0) {
            w.key("fd");
            w.int(self.fd);
        } else {
            w.key("errno");
            w.int(if (self.err > 0 and self.err < 4096) self.err else 5);
        }
        w.byte(',');
        if (self.mode) |m| {
            w.key("mode");
            w.uint(m & 0o7777);
            w.byte(',');
        }
        if (self.dirfd) |d| {
            w.key("dirfd");
            w.int(d);
            w.byte(',');
        }
        open_flags.write(w, self.flags);
        w.byte(',');
        w.key("path");
        w.cstring(self.path);
    }
};

fn reportOpen(
    call: []const u8,
    dirfd: c_int,
    path: Str,
    flags: c_int,
    mode: ?c_uint,
    fd: c_int,
    err: c_int,
) void {
    if (path == null) return;
    if (!lifecycle.ready()) return;
    if (config.isExcludedPath(&config.current, path.?)) return;
    report.emit(.Open, OpenPayload{
        .call = call,
        .path = path,
        .flags = flags,
        .mode = mode,
        .dirfd = if (dirfd == AT_FDCWD) null else dirfd,
        .fd = fd,
        .err = err,
    });
}

fn fail(err: c_int) c_int {
    sys.setErrno(err);
    return -1;
}

fn openCommon(comptime call: [:0]const u8, path: Str, flags: c_int, mode: c_uint) c_int {
    switch (policy.decideOpen(call, null, path, flags)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get(call) orelse return fail(ENOSYS);
    const rc = f(path, flags, mode);
    const err = sys.getErrno();
    const carries = open_flags.carriesMode(flags);
    reportOpen(call, AT_FDCWD, path, flags, if (carries) mode else null, rc, err);
    sys.setErrno(err);
    return rc;
}

fn openatCommon(
    comptime call: [:0]const u8,
    dirfd: c_int,
    path: Str,
    flags: c_int,
    mode: c_uint,
) c_int {
    switch (policy.decideOpen(call, dirfd, path, flags)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get(call) orelse return fail(ENOSYS);
    const rc = f(dirfd, path, flags, mode);
    const err = sys.getErrno();
    const carries = open_flags.carriesMode(flags);
    reportOpen(call, dirfd, path, flags, if (carries) mode else null, rc, err);
    sys.setErrno(err);
    return rc;
}

/// open: the plain wrapper most C code calls.
fn hookOpen(path: Str, flags: c_int, ...) callconv(.c) c_int {
    var mode: c_uint = 0;
    if (open_flags.carriesMode(flags)) {
        var ap = @cVaStart();
        mode = @cVaArg(&ap, c_uint);
        @cVaEnd(&ap);
    }
    return openCommon("open", path, flags, mode);
}

/// open64: a separate symbol (large-file builds, many libraries) that does not call open.
fn hookOpen64(path: Str, flags: c_int, ...) callconv(.c) c_int {
    var mode: c_uint = 0;
    if (open_flags.carriesMode(flags)) {
        var ap = @cVaStart();
        mode = @cVaArg(&ap, c_uint);
        @cVaEnd(&ap);
    }
    return openCommon("open64", path, flags, mode);
}

/// openat: directory-relative opens (coreutils, find, git, Python os.open with dir_fd).
fn hookOpenat(dirfd: c_int, path: Str, flags: c_int, ...) callconv(.c) c_int {
    var mode: c_uint = 0;
    if (open_flags.carriesMode(flags)) {
        var ap = @cVaStart();
        mode = @cVaArg(&ap, c_uint);
        @cVaEnd(&ap);
    }
    return openatCommon("openat", dirfd, path, flags, mode);
}

/// openat64: separate symbol of the large-file API.
fn hookOpenat64(dirfd: c_int, path: Str, flags: c_int, ...) callconv(.c) c_int {
    var mode: c_uint = 0;
    if (open_flags.carriesMode(flags)) {
        var ap = @cVaStart();
        mode = @cVaArg(&ap, c_uint);
        @cVaEnd(&ap);
    }
    return openatCommon("openat64", dirfd, path, flags, mode);
}

/// _FORTIFY_SOURCE variants: no mode argument exists (they abort on O_CREAT without one).
fn fortified(comptime call: [:0]const u8, path: Str, flags: c_int) c_int {
    switch (policy.decideOpen(call, null, path, flags)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get(call) orelse return fail(ENOSYS);
    const rc = f(path, flags);
    const err = sys.getErrno();
    reportOpen(call, AT_FDCWD, path, flags, null, rc, err);
    sys.setErrno(err);
    return rc;
}

fn fortifiedAt(comptime call: [:0]const u8, dirfd: c_int, path: Str, flags: c_int) c_int {
    switch (policy.decideOpen(call, dirfd, path, flags)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get(call) orelse return fail(ENOSYS);
    const rc = f(dirfd, path, flags);
    const err = sys.getErrno();
    reportOpen(call, dirfd, path, flags, null, rc, err);
    sys.setErrno(err);
    return rc;
}

/// __open_2: what open() compiles to under _FORTIFY_SOURCE when the flags are not constant.
fn hookOpen2(path: Str, flags: c_int) callconv(.c) c_int {
    return fortified("__open_2", path, flags);
}

/// __open64_2: the _FORTIFY_SOURCE form of open64.
fn hookOpen64_2(path: Str, flags: c_int) callconv(.c) c_int {
    return fortified("__open64_2", path, flags);
}

/// __openat_2: the _FORTIFY_SOURCE form of openat.
fn hookOpenat2(dirfd: c_int, path: Str, flags: c_int) callconv(.c) c_int {
    return fortifiedAt("__openat_2", dirfd, path, flags);
}

/// __openat64_2: the _FORTIFY_SOURCE form of openat64.
fn hookOpenat64_2(dirfd: c_int, path: Str, flags: c_int) callconv(.c) c_int {
    return fortifiedAt("__openat64_2", dirfd, path, flags);
}

fn creatCommon(comptime call: [:0]const u8, path: Str, mode: c_uint) c_int {
    const flags: c_int = @bitCast(@as(u32, 1 | open_flags.O_CREAT | open_flags.O_TRUNC));
    switch (policy.decideOpen(call, null, path, flags)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get(call) orelse return fail(ENOSYS);
    const rc = f(path, mode);
    const err = sys.getErrno();
    reportOpen(call, AT_FDCWD, path, flags, mode, rc, err);
    sys.setErrno(err);
    return rc;
}

/// creat: its own wrapper (open with O_WRONLY|O_CREAT|O_TRUNC inside glibc, not through open).
fn hookCreat(path: Str, mode: c_uint) callconv(.c) c_int {
    return creatCommon("creat", path, mode);
}

/// creat64: separate symbol of the large-file API.
fn hookCreat64(path: Str, mode: c_uint) callconv(.c) c_int {
    return creatCommon("creat64", path, mode);
}

fn reportStream(call: []const u8, path: Str, mode: Str, stream: real.File, err: c_int) void {
    const flags = open_flags.fromFopenMode(mode);
    const fd: c_int = if (stream) |s| fileno_unlocked(s) else -1;
    // fopen creates files with mode 0666 (before the umask), as glibc does.
    const file_mode: ?c_uint = if (open_flags.carriesMode(flags)) 0o666 else null;
    reportOpen(call, AT_FDCWD, path, flags, file_mode, fd, err);
}

fn fopenCommon(comptime call: [:0]const u8, path: Str, mode: Str) real.File {
    switch (policy.decideOpen(call, null, path, open_flags.fromFopenMode(mode))) {
        .allow => {},
        .deny => |e| {
            sys.setErrno(e);
            return null;
        },
    }
    const f = real.get(call) orelse {
        sys.setErrno(ENOSYS);
        return null;
    };
    const stream = f(path, mode);
    const err = sys.getErrno();
    reportStream(call, path, mode, stream, err);
    sys.setErrno(err);
    return stream;
}

/// fopen: stdio opens through the internal __open_nocancel, which no open hook sees.
fn hookFopen(path: Str, mode: Str) callconv(.c) real.File {
    return fopenCommon("fopen", path, mode);
}

/// fopen64: separate symbol of the large-file API, same internal path as fopen.
fn hookFopen64(path: Str, mode: Str) callconv(.c) real.File {
    return fopenCommon("fopen64", path, mode);
}

/// freopen with a NULL path only changes the mode of the open stream: nothing is opened by name.
fn freopenCommon(comptime call: [:0]const u8, path: Str, mode: Str, old: real.File) real.File {
    switch (policy.decideOpen(call, null, path, open_flags.fromFopenMode(mode))) {
        .allow => {},
        .deny => |e| {
            sys.setErrno(e);
            return null;
        },
    }
    const f = real.get(call) orelse {
        sys.setErrno(ENOSYS);
        return null;
    };
    const stream = f(path, mode, old);
    const err = sys.getErrno();
    reportStream(call, path, mode, stream, err);
    sys.setErrno(err);
    return stream;
}

/// freopen: reopens a stream by name through __open_nocancel (stdin/stdout redirection).
fn hookFreopen(path: Str, mode: Str, old: real.File) callconv(.c) real.File {
    return freopenCommon("freopen", path, mode, old);
}

/// freopen64: separate symbol of the large-file API.
fn hookFreopen64(path: Str, mode: Str, old: real.File) callconv(.c) real.File {
    return freopenCommon("freopen64", path, mode, old);
}

comptime {
    @export(&hookOpen, .{ .name = "open" });
    @export(&hookOpen64, .{ .name = "open64" });
    @export(&hookOpenat, .{ .name = "openat" });
    @export(&hookOpenat64, .{ .name = "openat64" });
    @export(&hookOpen2, .{ .name = "__open_2" });
    @export(&hookOpen64_2, .{ .name = "__open64_2" });
    @export(&hookOpenat2, .{ .name = "__openat_2" });
    @export(&hookOpenat64_2, .{ .name = "__openat64_2" });
    @export(&hookCreat, .{ .name = "creat" });
    @export(&hookCreat64, .{ .name = "creat64" });
    @export(&hookFopen, .{ .name = "fopen" });
    @export(&hookFopen64, .{ .name = "fopen64" });
    @export(&hookFreopen, .{ .name = "freopen" });
    @export(&hookFreopen64, .{ .name = "freopen64" });
}
