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
const varargs = @import("varargs.zig");

const Str = real.Str;
const AT_FDCWD: c_int = -100;
const ENOSYS: c_int = 38;
const EFAULT: c_int = 14;

extern "c" fn fileno_unlocked(stream: *anyopaque) c_int;

const OpenPayload = struct {
    /// `"call":"<name>",`, spelled out at compile time (callField).
    call_field: []const u8,
    path: Str,
    flags: c_int,
    mode: ?c_uint,
    dirfd: ?c_int,
    fd: c_int,
    err: c_int,

    pub fn write(self: *const OpenPayload, w: *json.Writer) void {
        // Separators are joined with the keys around them: fewer, longer writes.
        w.raw(self.call_field);
        if (self.fd >= 0) {
            w.raw("\"fd\":");
            w.int(self.fd);
        } else {
            w.raw("\"errno\":");
            w.int(if (self.err > 0 and self.err < 4096) self.err else 5);
        }
        if (self.mode) |m| {
            w.raw(",\"mode\":");
            w.uint(m & 0o7777);
        }
        if (self.dirfd) |d| {
            w.raw(",\"dirfd\":");
            w.int(d);
        }
        open_flags.writeBetween(w, self.flags, ",", ",\"path\":");
        w.cstring(self.path);
    }
};

/// What an open names, as the policy and the event see it.
const Target = struct {
    /// null: relative to the working directory.
    dirfd: ?c_int,
    path: Str,
    flags: c_int,
    /// Reported only when the caller passed one (the flags say so).
    mode: ?c_uint,
};

/// `"call":"<name>",` for the Open payload of `call`.
fn callField(comptime call: [:0]const u8) []const u8 {
    return "\"call\":\"" ++ call ++ "\",";
}

fn reportOpen(call_field: []const u8, target: Target, fd: c_int, err: c_int) void {
    if (target.path == null) return;
    // The kernel could not read the path: neither can the shim (reading it would crash the
    // program where the real call returned EFAULT). The path is the only pointer an open reads.
    if (fd < 0 and err == EFAULT) return;
    if (!lifecycle.ready()) return;
    if (config.isExcludedPath(&config.current, target.path.?)) return;
    const dirfd = target.dirfd orelse AT_FDCWD;
    report.emit(.Open, OpenPayload{
        .call_field = call_field,
        .path = target.path,
        .flags = target.flags,
        .mode = target.mode,
        .dirfd = if (dirfd == AT_FDCWD) null else dirfd,
        .fd = fd,
        .err = err,
    });
}

fn fail(err: c_int) c_int {
    sys.setErrno(err);
    return -1;
}

/// Every entry point that returns an fd: the policy decides before the real call, the event
/// reports what `call` returned for `args`, and the caller sees the real call's errno.
fn openFd(comptime call: [:0]const u8, target: Target, args: anytype) c_int {
    switch (policy.decideOpen(call, target.dirfd, target.path, target.flags)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get(call) orelse return fail(ENOSYS);
    const rc = @call(.auto, f, args);
    const err = sys.getErrno();
    reportOpen(callField(call), target, rc, err);
    sys.setErrno(err);
    return rc;
}

/// The mode argument exists only when the flags say the caller passed one; reading it otherwise
/// would read whatever the caller left in that register or stack slot.
fn modeArg(flags: c_int, ap: *std.builtin.VaList) ?c_uint {
    return if (open_flags.carriesMode(flags)) @cVaArg(ap, c_uint) else null;
}

fn openCommon(comptime call: [:0]const u8, path: Str, flags: c_int, mode: ?c_uint) c_int {
    const target: Target = .{ .dirfd = null, .path = path, .flags = flags, .mode = mode };
    return openFd(call, target, .{ path, flags, mode orelse 0 });
}

fn openatCommon(
    comptime call: [:0]const u8,
    dirfd: c_int,
    path: Str,
    flags: c_int,
    mode: ?c_uint,
) c_int {
    const target: Target = .{ .dirfd = dirfd, .path = path, .flags = flags, .mode = mode };
    return openFd(call, target, .{ dirfd, path, flags, mode orelse 0 });
}

/// open: the plain wrapper most C code calls.
fn hookOpen(path: Str, flags: c_int, ...) callconv(.c) c_int {
    var ap = @cVaStart();
    defer @cVaEnd(&ap);
    return openCommon("open", path, flags, modeArg(flags, &ap));
}

/// open64: a separate symbol (large-file builds, many libraries) that does not call open.
fn hookOpen64(path: Str, flags: c_int, ...) callconv(.c) c_int {
    var ap = @cVaStart();
    defer @cVaEnd(&ap);
    return openCommon("open64", path, flags, modeArg(flags, &ap));
}

/// openat: directory-relative opens (coreutils, find, git, Python os.open with dir_fd).
fn hookOpenat(dirfd: c_int, path: Str, flags: c_int, ...) callconv(.c) c_int {
    var ap = @cVaStart();
    defer @cVaEnd(&ap);
    return openatCommon("openat", dirfd, path, flags, modeArg(flags, &ap));
}

/// openat64: separate symbol of the large-file API.
fn hookOpenat64(dirfd: c_int, path: Str, flags: c_int, ...) callconv(.c) c_int {
    var ap = @cVaStart();
    defer @cVaEnd(&ap);
    return openatCommon("openat64", dirfd, path, flags, modeArg(flags, &ap));
}

/// The open hooks where Zig has no C va_list (aarch64, see varargs.zig): the mode is a named
/// parameter, in the register the variadic one arrives in, and read only when the flags carry it.
fn namedMode(flags: c_int, mode: c_uint) ?c_uint {
    return if (open_flags.carriesMode(flags)) mode else null;
}

/// open, aarch64 form.
fn hookOpenNamed(path: Str, flags: c_int, mode: c_uint) callconv(.c) c_int {
    return openCommon("open", path, flags, namedMode(flags, mode));
}

/// open64, aarch64 form.
fn hookOpen64Named(path: Str, flags: c_int, mode: c_uint) callconv(.c) c_int {
    return openCommon("open64", path, flags, namedMode(flags, mode));
}

/// openat, aarch64 form.
fn hookOpenatNamed(dirfd: c_int, path: Str, flags: c_int, mode: c_uint) callconv(.c) c_int {
    return openatCommon("openat", dirfd, path, flags, namedMode(flags, mode));
}

/// openat64, aarch64 form.
fn hookOpenat64Named(dirfd: c_int, path: Str, flags: c_int, mode: c_uint) callconv(.c) c_int {
    return openatCommon("openat64", dirfd, path, flags, namedMode(flags, mode));
}

/// _FORTIFY_SOURCE variants: no mode argument exists (they abort on O_CREAT without one).
fn fortified(comptime call: [:0]const u8, path: Str, flags: c_int) c_int {
    const target: Target = .{ .dirfd = null, .path = path, .flags = flags, .mode = null };
    return openFd(call, target, .{ path, flags });
}

fn fortifiedAt(comptime call: [:0]const u8, dirfd: c_int, path: Str, flags: c_int) c_int {
    const target: Target = .{ .dirfd = dirfd, .path = path, .flags = flags, .mode = null };
    return openFd(call, target, .{ dirfd, path, flags });
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
    const target: Target = .{ .dirfd = null, .path = path, .flags = flags, .mode = mode };
    return openFd(call, target, .{ path, mode });
}

/// creat: its own wrapper (open with O_WRONLY|O_CREAT|O_TRUNC inside glibc, not through open).
fn hookCreat(path: Str, mode: c_uint) callconv(.c) c_int {
    return creatCommon("creat", path, mode);
}

/// creat64: separate symbol of the large-file API.
fn hookCreat64(path: Str, mode: c_uint) callconv(.c) c_int {
    return creatCommon("creat64", path, mode);
}

/// fopen and freopen: the policy decides on the flags the mode string means, and the event
/// carries the stream's fd. `args` are the real call's.
fn openStream(comptime call: [:0]const u8, path: Str, mode: Str, args: anytype) real.File {
    const flags = open_flags.fromFopenMode(mode);
    const f = real.get(call) orelse {
        sys.setErrno(ENOSYS);
        return null;
    };
    switch (policy.decideOpen(call, null, path, flags)) {
        .allow => {},
        .deny => |e| {
            // A freopen that fails has closed the stream it was given (glibc closes it before
            // opening): a refused one must leave it the same way. Reopening it on "" fails with
            // ENOENT inside glibc, after the close, without opening anything.
            if (args.len == 3) _ = @call(.auto, f, .{ "", args[1], args[2] });
            sys.setErrno(e);
            return null;
        },
    }
    const stream = @call(.auto, f, args);
    const err = sys.getErrno();
    const fd: c_int = if (stream) |s| fileno_unlocked(s) else -1;
    // fopen creates files with mode 0666 (before the umask), as glibc does.
    const file_mode: ?c_uint = if (open_flags.carriesMode(flags)) 0o666 else null;
    const target: Target = .{ .dirfd = null, .path = path, .flags = flags, .mode = file_mode };
    reportOpen(callField(call), target, fd, err);
    sys.setErrno(err);
    return stream;
}

/// fopen: stdio opens through the internal __open_nocancel, which no open hook sees.
fn hookFopen(path: Str, mode: Str) callconv(.c) real.File {
    return openStream("fopen", path, mode, .{ path, mode });
}

/// fopen64: separate symbol of the large-file API, same internal path as fopen.
fn hookFopen64(path: Str, mode: Str) callconv(.c) real.File {
    return openStream("fopen64", path, mode, .{ path, mode });
}

/// freopen: reopens a stream by name through __open_nocancel (stdin/stdout redirection). With a
/// NULL path it only changes the mode of the open stream: nothing is opened by name, nothing is
/// reported.
fn hookFreopen(path: Str, mode: Str, old: real.File) callconv(.c) real.File {
    return openStream("freopen", path, mode, .{ path, mode, old });
}

/// freopen64: separate symbol of the large-file API.
fn hookFreopen64(path: Str, mode: Str, old: real.File) callconv(.c) real.File {
    return openStream("freopen64", path, mode, .{ path, mode, old });
}

comptime {
    if (varargs.native) {
        @export(&hookOpen, .{ .name = "open" });
        @export(&hookOpen64, .{ .name = "open64" });
        @export(&hookOpenat, .{ .name = "openat" });
        @export(&hookOpenat64, .{ .name = "openat64" });
    } else {
        @export(&hookOpenNamed, .{ .name = "open" });
        @export(&hookOpen64Named, .{ .name = "open64" });
        @export(&hookOpenatNamed, .{ .name = "openat" });
        @export(&hookOpenat64Named, .{ .name = "openat64" });
    }
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
