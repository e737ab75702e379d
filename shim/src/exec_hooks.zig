//! Exec hooks. glibc's exec wrappers call internal aliases (execvp -> __execvpe -> __execve,
//! execl -> __execve, system/popen -> __posix_spawn, posix_spawnp -> __spawni) that never pass
//! through the PLT, so an execve hook alone would see none of them: each entry point is hooked.
//! Each hook reports before the real call (a successful exec never returns) and again with errno
//! when the call failed and returned. Each also puts LD_PRELOAD and CONTAINAI_* back into an
//! environment that lost them (safety rule 7), in stack memory so it is safe in a vfork child.
const std = @import("std");
const sys = @import("sys.zig");
const json = @import("json.zig");
const real = @import("real.zig");
const envp_mod = @import("envp.zig");
const report = @import("report.zig");
const policy = @import("decision.zig");
const varargs = @import("varargs.zig");

const Str = real.Str;
const StrArray = real.StrArray;
const Env = envp_mod.Env;

extern "c" var environ: Env;

const AT_FDCWD: c_int = -100;
const AT_EMPTY_PATH: c_int = 0x1000;
const E2BIG: c_int = 7;
const ENOSYS: c_int = 38;

/// Most arguments execl/execlp/execle accept (they are written out in the caller's source).
const max_list_args = 1024;

const ExecPayload = struct {
    call: []const u8,
    path: Str,
    /// Used instead of `path` when set: the file behind an fd (fexecve, execveat AT_EMPTY_PATH).
    resolved: ?[]const u8 = null,
    dirfd: ?c_int = null,
    argv: Env,
    envp: Env,
    err: c_int = 0,

    pub fn write(self: *const ExecPayload, w: *json.Writer) void {
        w.raw("\"call\":\"");
        w.raw(self.call);
        w.raw("\",");
        if (self.err > 0 and self.err < 4096) {
            w.key("errno");
            w.int(self.err);
            w.byte(',');
        }
        if (self.dirfd) |d| {
            w.key("dirfd");
            w.int(d);
            w.byte(',');
        }
        w.key("path");
        if (self.resolved) |r| w.string(r) else w.cstring(self.path);
        w.byte(',');
        w.key("cwd");
        // Read straight into the event when it needs no escaping: no 4 KiB buffer on the stack
        // (a shallower stack is fewer pages written, each a page fault in a fork child).
        if (!w.plainInPlace(4096, {}, fillCwd)) writeCwd(w);
        w.byte(',');
        envp_mod.writeArgv(w, self.argv);
        w.byte(',');
        envp_mod.writeEnv(w, self.envp);
    }
};

fn fillCwd(_: void, out: []u8) ?usize {
    const cwd = sys.cwd(out) orelse return null;
    return cwd.len;
}

noinline fn writeCwd(w: *json.Writer) void {
    var cwd_buf: [4096]u8 = undefined;
    w.string(sys.cwd(&cwd_buf) orelse "");
}

/// Reports a failed exec (the real call returned) and leaves errno as the call set it.
fn reportFailure(payload: ExecPayload, err: c_int) void {
    var p = payload;
    p.err = err;
    report.emit(.Exec, p);
    sys.setErrno(err);
}

fn fail(err: c_int) c_int {
    sys.setErrno(err);
    return -1;
}

fn currentEnv() Env {
    return environ;
}

/// What every exec wrapper does once its payload is built: report before the real call (a
/// successful exec never returns), let the policy refuse it (`dirfd` is what a relative path is
/// resolved against), run `real_name` with `args` and the caller's errno (`saved`), and report
/// again with the errno when it returned. `unchanged` (null when `args` carry the caller's own
/// environment) are the arguments with the caller's environment: when the variables the shim
/// put back make the exec fail with E2BIG (an environment near the kernel's limit), the call is
/// made again as the caller made it, so the program sees what it sees without the shim.
fn execChecked(
    comptime real_name: [:0]const u8,
    payload: ExecPayload,
    dirfd: c_int,
    saved: c_int,
    args: anytype,
    unchanged: anytype,
) c_int {
    report.emit(.Exec, payload);
    switch (policy.decideExecAt(payload.call, dirfd, payload.path, payload.argv)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get(real_name) orelse return fail(ENOSYS);
    sys.setErrno(saved);
    var rc = @call(.auto, f, args);
    if (@TypeOf(unchanged) != @TypeOf(null) and sys.getErrno() == E2BIG) {
        sys.setErrno(saved);
        rc = @call(.auto, f, unchanged);
    }
    reportFailure(payload, sys.getErrno());
    return rc;
}

/// The wrappers that take a path and argv. `implicit` names the variant that passes `environ` on
/// internally (execv, execvp; `envp` is then environ); while the environment still carries the
/// shim's variables the call goes there, as the caller meant. Otherwise (an envp was given, or it
/// had to be rebuilt) the call goes to `explicit` with that environment.
fn execPath(
    comptime call: []const u8,
    comptime implicit: ?[:0]const u8,
    comptime explicit: [:0]const u8,
    path: Str,
    argv: StrArray,
    envp: Env,
) c_int {
    const saved = sys.getErrno();
    // The common case (the environment still carries the shim's variables) reserves no Rebuilt:
    // a shallower stack is fewer pages written, each a page fault in a fork child.
    if (envp_mod.keepsEnv(envp)) {
        return execPathWith(call, implicit, explicit, path, argv, envp, envp, saved);
    }
    return execPathRebuilt(call, implicit, explicit, path, argv, envp, saved);
}

noinline fn execPathRebuilt(
    comptime call: []const u8,
    comptime implicit: ?[:0]const u8,
    comptime explicit: [:0]const u8,
    path: Str,
    argv: StrArray,
    envp: Env,
    saved: c_int,
) c_int {
    var rebuilt: envp_mod.Rebuilt = undefined;
    const env = envp_mod.withAuditEnv(envp, &rebuilt);
    return execPathWith(call, implicit, explicit, path, argv, envp, env, saved);
}

/// `env` is `envp`, or its copy with the shim's variables put back.
fn execPathWith(
    comptime call: []const u8,
    comptime implicit: ?[:0]const u8,
    comptime explicit: [:0]const u8,
    path: Str,
    argv: StrArray,
    envp: Env,
    env: Env,
    saved: c_int,
) c_int {
    const payload: ExecPayload = .{ .call = call, .path = path, .argv = argv, .envp = env };
    if (env == envp) {
        if (implicit) |name| {
            return execChecked(name, payload, AT_FDCWD, saved, .{ path, argv }, null);
        }
        return execChecked(explicit, payload, AT_FDCWD, saved, .{ path, argv, env }, null);
    }
    const unchanged = .{ path, argv, envp };
    return execChecked(explicit, payload, AT_FDCWD, saved, .{ path, argv, env }, unchanged);
}

/// execve: the system call wrapper itself; what shells, CPython (after vfork) and most runtimes
/// call.
fn hookExecve(path: Str, argv: StrArray, envp: StrArray) callconv(.c) c_int {
    return execPath("execve", null, "execve", path, argv, envp);
}

/// execveat: exec relative to a directory fd or of an fd (AT_EMPTY_PATH); its own wrapper.
fn hookExecveat(
    dirfd: c_int,
    path: Str,
    argv: StrArray,
    envp: StrArray,
    flags: c_int,
) callconv(.c) c_int {
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const env = envp_mod.withAuditEnv(envp, &rebuilt);
    var link: [4096]u8 = undefined;
    var payload: ExecPayload = .{ .call = "execveat", .path = path, .argv = argv, .envp = env };
    if (dirfd != AT_FDCWD) payload.dirfd = dirfd;
    const empty_path = path == null or path.?[0] == 0;
    if (empty_path and flags & AT_EMPTY_PATH != 0) {
        if (sys.fdPath(dirfd, &link)) |n| payload.resolved = link[0..n];
    }
    const args = .{ dirfd, path, argv, env, flags };
    if (env == envp) return execChecked("execveat", payload, dirfd, saved, args, null);
    const unchanged = .{ dirfd, path, argv, envp, flags };
    return execChecked("execveat", payload, dirfd, saved, args, unchanged);
}

/// fexecve: glibc runs execveat(fd, "", AT_EMPTY_PATH) internally, which no execve hook sees.
fn hookFexecve(fd: c_int, argv: StrArray, envp: StrArray) callconv(.c) c_int {
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const env = envp_mod.withAuditEnv(envp, &rebuilt);
    var link: [4096]u8 = undefined;
    var payload: ExecPayload = .{ .call = "fexecve", .path = null, .argv = argv, .envp = env };
    if (sys.fdPath(fd, &link)) |n| payload.resolved = link[0..n];
    if (env == envp) return execChecked("fexecve", payload, fd, saved, .{ fd, argv, env }, null);
    return execChecked("fexecve", payload, fd, saved, .{ fd, argv, env }, .{ fd, argv, envp });
}

/// execv: calls __execve internally (never through the PLT).
fn hookExecv(path: Str, argv: StrArray) callconv(.c) c_int {
    return execPath("execv", "execv", "execve", path, argv, currentEnv());
}

/// execvp: calls __execvpe -> __execve internally; the PATH search happens inside.
fn hookExecvp(file: Str, argv: StrArray) callconv(.c) c_int {
    return execPath("execvp", "execvp", "execvpe", file, argv, currentEnv());
}

/// execvpe: the GNU variant with an explicit envp; same internal path as execvp.
fn hookExecvpe(file: Str, argv: StrArray, envp: StrArray) callconv(.c) c_int {
    return execPath("execvpe", null, "execvpe", file, argv, envp);
}

const ArgList = [max_list_args + 1:null]?[*:0]const u8;

/// Collects execl-style arguments up to the terminating NULL; false when there are too many.
fn collectArgs(first: Str, ap: *std.builtin.VaList, out: *ArgList) bool {
    out[0] = first;
    var n: usize = 1;
    if (first != null) {
        while (true) {
            const arg = @cVaArg(ap, ?[*:0]const u8);
            if (arg == null) break;
            if (n == max_list_args) return false;
            out[n] = arg;
            n += 1;
        }
    }
    out[n] = null;
    return true;
}

/// What execl, execlp and execle do once their arguments are collected, from the variadic hooks
/// below (x86_64) and from their array forms (aarch64).
fn execlList(path: Str, list: *const ArgList) c_int {
    return execPath("execl", "execv", "execve", path, list, currentEnv());
}

fn execlpList(file: Str, list: *const ArgList) c_int {
    return execPath("execlp", "execvp", "execvpe", file, list, currentEnv());
}

fn execleList(path: Str, list: *const ArgList, envp: StrArray) c_int {
    return execPath("execle", null, "execve", path, list, envp);
}

/// execl: variadic; glibc builds argv and calls __execve internally.
fn hookExecl(path: Str, arg: Str, ...) callconv(.c) c_int {
    var ap = @cVaStart();
    defer @cVaEnd(&ap);
    var args: ArgList = undefined;
    if (!collectArgs(arg, &ap, &args)) return fail(E2BIG);
    return execlList(path, &args);
}

/// execlp: variadic; glibc builds argv and calls __execvpe internally.
fn hookExeclp(file: Str, arg: Str, ...) callconv(.c) c_int {
    var ap = @cVaStart();
    defer @cVaEnd(&ap);
    var args: ArgList = undefined;
    if (!collectArgs(arg, &ap, &args)) return fail(E2BIG);
    return execlpList(file, &args);
}

/// execle: variadic with envp after the NULL; glibc calls __execve internally.
fn hookExecle(path: Str, arg: Str, ...) callconv(.c) c_int {
    var ap = @cVaStart();
    defer @cVaEnd(&ap);
    var args: ArgList = undefined;
    if (!collectArgs(arg, &ap, &args)) return fail(E2BIG);
    return execleList(path, &args, @cVaArg(&ap, StrArray));
}

/// Copies execl-style arguments from an array (aarch64, see varargs.zig) up to the terminating
/// NULL; returns the NULL's index (execle's envp is in the next slot), or null when there are too
/// many.
fn collectArray(args: [*]const usize, out: *ArgList) ?usize {
    var n: usize = 0;
    while (args[n] != 0) : (n += 1) {
        if (n == max_list_args) return null;
        out[n] = @ptrFromInt(args[n]);
    }
    out[n] = null;
    return n;
}

/// execl, aarch64 form: `args` from varargs.listEntry.
fn execlArray(path: Str, args: [*]const usize) callconv(.c) c_int {
    var list: ArgList = undefined;
    _ = collectArray(args, &list) orelse return fail(E2BIG);
    return execlList(path, &list);
}

/// execlp, aarch64 form.
fn execlpArray(file: Str, args: [*]const usize) callconv(.c) c_int {
    var list: ArgList = undefined;
    _ = collectArray(args, &list) orelse return fail(E2BIG);
    return execlpList(file, &list);
}

/// execle, aarch64 form.
fn execleArray(path: Str, args: [*]const usize) callconv(.c) c_int {
    var list: ArgList = undefined;
    const end = collectArray(args, &list) orelse return fail(E2BIG);
    return execleList(path, &list, @ptrFromInt(args[end + 1]));
}

fn hookExeclEntry() callconv(.naked) noreturn {
    asm volatile (varargs.listEntry("containai_shim_execl_array"));
}

fn hookExeclpEntry() callconv(.naked) noreturn {
    asm volatile (varargs.listEntry("containai_shim_execlp_array"));
}

fn hookExecleEntry() callconv(.naked) noreturn {
    asm volatile (varargs.listEntry("containai_shim_execle_array"));
}

fn spawn(
    comptime call: [:0]const u8,
    pid: ?*c_int,
    path: Str,
    actions: ?*const anyopaque,
    attr: ?*const anyopaque,
    argv: StrArray,
    envp: StrArray,
) c_int {
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const env = envp_mod.withAuditEnv(envp, &rebuilt);
    const payload: ExecPayload = .{ .call = call, .path = path, .argv = argv, .envp = env };
    report.emit(.Exec, payload);
    switch (policy.decideExec(call, path, argv)) {
        .allow => {},
        .deny => |e| return e,
    }
    const f = real.get(call) orelse return ENOSYS;
    sys.setErrno(saved);
    var rc = f(pid, path, actions, attr, argv, env);
    // As in execChecked: the variables put back must not turn a working spawn into E2BIG (the
    // failed child has exited and been reaped by glibc, so the spawn can be made again).
    if (rc == E2BIG and env != envp) {
        sys.setErrno(saved);
        rc = f(pid, path, actions, attr, argv, envp);
    }
    const after = sys.getErrno();
    // posix_spawn returns the error number instead of setting errno.
    if (rc != 0) reportFailure(payload, rc);
    sys.setErrno(after);
    return rc;
}

/// posix_spawn: the child execs with __execve after clone(CLONE_VM|CLONE_VFORK), where no hook
/// runs, so the spawn is reported in the parent.
fn hookPosixSpawn(
    pid: ?*c_int,
    path: Str,
    actions: ?*const anyopaque,
    attr: ?*const anyopaque,
    argv: StrArray,
    envp: StrArray,
) callconv(.c) c_int {
    return spawn("posix_spawn", pid, path, actions, attr, argv, envp);
}

/// posix_spawnp: as posix_spawn, with the PATH search inside __spawni.
fn hookPosixSpawnp(
    pid: ?*c_int,
    file: Str,
    actions: ?*const anyopaque,
    attr: ?*const anyopaque,
    argv: StrArray,
    envp: StrArray,
) callconv(.c) c_int {
    return spawn("posix_spawnp", pid, file, actions, attr, argv, envp);
}

/// system() and popen() spawn `/bin/sh -c command` with `environ`. When environ lost the shim's
/// variables (unsetenv then system), environ points at the rebuilt copy for the duration of the
/// call and is put back afterwards if nobody changed it meanwhile.
fn shellPayload(
    comptime call: []const u8,
    command: Str,
    argv: *[4:null]?[*:0]const u8,
    env: Env,
) ExecPayload {
    argv.* = .{ "sh", "-c", command, null };
    return .{ .call = call, .path = "/bin/sh", .argv = argv, .envp = env };
}

/// The steps system and popen share: report `/bin/sh -c command`, let the policy refuse it, and
/// run the real call (`args`, result type `R`) with the shim's variables in `environ`.
fn shell(comptime call: [:0]const u8, comptime R: type, command: Str, args: anytype) R {
    // What the call returns when it fails: system -1, popen a null stream.
    const failed: R = if (R == c_int) -1 else null;
    const f = real.get(call) orelse {
        sys.setErrno(ENOSYS);
        return failed;
    };
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const current = currentEnv();
    const env = envp_mod.withAuditEnv(current, &rebuilt);
    var argv: [4:null]?[*:0]const u8 = undefined;
    const payload = shellPayload(call, command, &argv, env);
    report.emit(.Exec, payload);
    switch (policy.decideExec(call, "/bin/sh", &argv)) {
        .allow => {},
        .deny => |e| {
            sys.setErrno(e);
            return failed;
        },
    }
    if (env != current) environ = env;
    sys.setErrno(saved);
    const rc = @call(.auto, f, args);
    const after = sys.getErrno();
    if (env != current and environ == env) environ = current;
    if (rc == failed) reportFailure(payload, after);
    sys.setErrno(after);
    return rc;
}

/// system: runs /bin/sh -c through the internal __posix_spawn.
fn hookSystem(command: Str) callconv(.c) c_int {
    // system(NULL) only asks whether a shell exists.
    if (command == null) {
        const f = real.get("system") orelse return fail(ENOSYS);
        return f(command);
    }
    return shell("system", c_int, command, .{command});
}

/// popen: runs /bin/sh -c through the internal spawn machinery.
fn hookPopen(command: Str, mode: Str) callconv(.c) real.File {
    return shell("popen", real.File, command, .{ command, mode });
}

comptime {
    @export(&hookExecve, .{ .name = "execve" });
    @export(&hookExecveat, .{ .name = "execveat" });
    @export(&hookFexecve, .{ .name = "fexecve" });
    @export(&hookExecv, .{ .name = "execv" });
    @export(&hookExecvp, .{ .name = "execvp" });
    @export(&hookExecvpe, .{ .name = "execvpe" });
    if (varargs.native) {
        @export(&hookExecl, .{ .name = "execl" });
        @export(&hookExeclp, .{ .name = "execlp" });
        @export(&hookExecle, .{ .name = "execle" });
    } else {
        @export(&execlArray, .{ .name = "containai_shim_execl_array", .visibility = .hidden });
        @export(&execlpArray, .{ .name = "containai_shim_execlp_array", .visibility = .hidden });
        @export(&execleArray, .{ .name = "containai_shim_execle_array", .visibility = .hidden });
        @export(&hookExeclEntry, .{ .name = "execl" });
        @export(&hookExeclpEntry, .{ .name = "execlp" });
        @export(&hookExecleEntry, .{ .name = "execle" });
    }
    @export(&hookPosixSpawn, .{ .name = "posix_spawn" });
    @export(&hookPosixSpawnp, .{ .name = "posix_spawnp" });
    @export(&hookSystem, .{ .name = "system" });
    @export(&hookPopen, .{ .name = "popen" });
}
