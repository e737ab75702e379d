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
        var cwd_buf: [4096]u8 = undefined;
        w.key("cwd");
        w.string(sys.cwd(&cwd_buf) orelse "");
        w.byte(',');
        envp_mod.writeArgv(w, self.argv);
        w.byte(',');
        envp_mod.writeEnv(w, self.envp);
    }
};

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

/// execve: the system call wrapper itself; what shells, CPython (after vfork) and most runtimes
/// call.
fn hookExecve(path: Str, argv: StrArray, envp: StrArray) callconv(.c) c_int {
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const env = envp_mod.withAuditEnv(envp, &rebuilt);
    const payload: ExecPayload = .{ .call = "execve", .path = path, .argv = argv, .envp = env };
    report.emit(.Exec, payload);
    switch (policy.decideExec("execve", path, argv)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get("execve") orelse return fail(ENOSYS);
    sys.setErrno(saved);
    const rc = f(path, argv, env);
    reportFailure(payload, sys.getErrno());
    return rc;
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
    report.emit(.Exec, payload);
    switch (policy.decideExecAt("execveat", dirfd, path, argv)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get("execveat") orelse return fail(ENOSYS);
    sys.setErrno(saved);
    const rc = f(dirfd, path, argv, env, flags);
    reportFailure(payload, sys.getErrno());
    return rc;
}

/// fexecve: glibc runs execveat(fd, "", AT_EMPTY_PATH) internally, which no execve hook sees.
fn hookFexecve(fd: c_int, argv: StrArray, envp: StrArray) callconv(.c) c_int {
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const env = envp_mod.withAuditEnv(envp, &rebuilt);
    var link: [4096]u8 = undefined;
    var payload: ExecPayload = .{ .call = "fexecve", .path = null, .argv = argv, .envp = env };
    if (sys.fdPath(fd, &link)) |n| payload.resolved = link[0..n];
    report.emit(.Exec, payload);
    switch (policy.decideExecAt("fexecve", fd, null, argv)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get("fexecve") orelse return fail(ENOSYS);
    sys.setErrno(saved);
    const rc = f(fd, argv, env);
    reportFailure(payload, sys.getErrno());
    return rc;
}

/// execv/execl: the environment is `environ`; when it lost the shim's variables the call goes to
/// execve with the rebuilt environment instead.
fn execWithEnviron(comptime call: []const u8, path: Str, argv: StrArray) c_int {
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const current = currentEnv();
    const env = envp_mod.withAuditEnv(current, &rebuilt);
    const payload: ExecPayload = .{ .call = call, .path = path, .argv = argv, .envp = env };
    report.emit(.Exec, payload);
    switch (policy.decideExec(call, path, argv)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    var rc: c_int = -1;
    if (env == current) {
        const f = real.get("execv") orelse return fail(ENOSYS);
        sys.setErrno(saved);
        rc = f(path, argv);
    } else {
        const f = real.get("execve") orelse return fail(ENOSYS);
        sys.setErrno(saved);
        rc = f(path, argv, env);
    }
    reportFailure(payload, sys.getErrno());
    return rc;
}

/// execvp/execlp/execvpe: PATH search happens inside glibc; the event carries the name as given.
fn execSearching(comptime call: []const u8, file: Str, argv: StrArray, explicit_env: ?Env) c_int {
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const given = explicit_env orelse currentEnv();
    const env = envp_mod.withAuditEnv(given, &rebuilt);
    const payload: ExecPayload = .{ .call = call, .path = file, .argv = argv, .envp = env };
    report.emit(.Exec, payload);
    switch (policy.decideExec(call, file, argv)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    var rc: c_int = -1;
    if (explicit_env == null and env == given) {
        const f = real.get("execvp") orelse return fail(ENOSYS);
        sys.setErrno(saved);
        rc = f(file, argv);
    } else {
        const f = real.get("execvpe") orelse return fail(ENOSYS);
        sys.setErrno(saved);
        rc = f(file, argv, env);
    }
    reportFailure(payload, sys.getErrno());
    return rc;
}

/// execv: calls __execve internally (never through the PLT).
fn hookExecv(path: Str, argv: StrArray) callconv(.c) c_int {
    return execWithEnviron("execv", path, argv);
}

/// execvp: calls __execvpe -> __execve internally; the PATH search happens inside.
fn hookExecvp(file: Str, argv: StrArray) callconv(.c) c_int {
    return execSearching("execvp", file, argv, null);
}

/// execvpe: the GNU variant with an explicit envp; same internal path as execvp.
fn hookExecvpe(file: Str, argv: StrArray, envp: StrArray) callconv(.c) c_int {
    return execSearching("execvpe", file, argv, envp);
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

/// execl: variadic; glibc builds argv and calls __execve internally.
fn hookExecl(path: Str, arg: Str, ...) callconv(.c) c_int {
    var ap = @cVaStart();
    defer @cVaEnd(&ap);
    var args: ArgList = undefined;
    if (!collectArgs(arg, &ap, &args)) return fail(E2BIG);
    return execWithEnviron("execl", path, &args);
}

/// execlp: variadic; glibc builds argv and calls __execvpe internally.
fn hookExeclp(file: Str, arg: Str, ...) callconv(.c) c_int {
    var ap = @cVaStart();
    defer @cVaEnd(&ap);
    var args: ArgList = undefined;
    if (!collectArgs(arg, &ap, &args)) return fail(E2BIG);
    return execSearching("execlp", file, &args, null);
}

/// execle: variadic with envp after the NULL; glibc calls __execve internally.
fn hookExecle(path: Str, arg: Str, ...) callconv(.c) c_int {
    var ap = @cVaStart();
    defer @cVaEnd(&ap);
    var args: ArgList = undefined;
    if (!collectArgs(arg, &ap, &args)) return fail(E2BIG);
    const envp = @cVaArg(&ap, StrArray);
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const env = envp_mod.withAuditEnv(envp, &rebuilt);
    const payload: ExecPayload = .{ .call = "execle", .path = path, .argv = &args, .envp = env };
    report.emit(.Exec, payload);
    switch (policy.decideExec("execle", path, &args)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    const f = real.get("execve") orelse return fail(ENOSYS);
    sys.setErrno(saved);
    const rc = f(path, &args, env);
    reportFailure(payload, sys.getErrno());
    return rc;
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
    const rc = f(pid, path, actions, attr, argv, env);
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

/// system: runs /bin/sh -c through the internal __posix_spawn.
fn hookSystem(command: Str) callconv(.c) c_int {
    const f = real.get("system") orelse return fail(ENOSYS);
    // system(NULL) only asks whether a shell exists.
    if (command == null) return f(command);
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const current = currentEnv();
    const env = envp_mod.withAuditEnv(current, &rebuilt);
    var argv: [4:null]?[*:0]const u8 = undefined;
    const payload = shellPayload("system", command, &argv, env);
    report.emit(.Exec, payload);
    switch (policy.decideExec("system", "/bin/sh", &argv)) {
        .allow => {},
        .deny => |e| return fail(e),
    }
    if (env != current) environ = env;
    sys.setErrno(saved);
    const rc = f(command);
    const after = sys.getErrno();
    if (env != current and environ == env) environ = current;
    if (rc == -1) reportFailure(payload, after);
    sys.setErrno(after);
    return rc;
}

/// popen: runs /bin/sh -c through the internal spawn machinery.
fn hookPopen(command: Str, mode: Str) callconv(.c) real.File {
    const f = real.get("popen") orelse {
        sys.setErrno(ENOSYS);
        return null;
    };
    const saved = sys.getErrno();
    var rebuilt: envp_mod.Rebuilt = undefined;
    const current = currentEnv();
    const env = envp_mod.withAuditEnv(current, &rebuilt);
    var argv: [4:null]?[*:0]const u8 = undefined;
    const payload = shellPayload("popen", command, &argv, env);
    report.emit(.Exec, payload);
    switch (policy.decideExec("popen", "/bin/sh", &argv)) {
        .allow => {},
        .deny => |e| {
            sys.setErrno(e);
            return null;
        },
    }
    if (env != current) environ = env;
    sys.setErrno(saved);
    const stream = f(command, mode);
    const after = sys.getErrno();
    if (env != current and environ == env) environ = current;
    if (stream == null) reportFailure(payload, after);
    sys.setErrno(after);
    return stream;
}

comptime {
    @export(&hookExecve, .{ .name = "execve" });
    @export(&hookExecveat, .{ .name = "execveat" });
    @export(&hookFexecve, .{ .name = "fexecve" });
    @export(&hookExecv, .{ .name = "execv" });
    @export(&hookExecvp, .{ .name = "execvp" });
    @export(&hookExecvpe, .{ .name = "execvpe" });
    @export(&hookExecl, .{ .name = "execl" });
    @export(&hookExeclp, .{ .name = "execlp" });
    @export(&hookExecle, .{ .name = "execle" });
    @export(&hookPosixSpawn, .{ .name = "posix_spawn" });
    @export(&hookPosixSpawnp, .{ .name = "posix_spawnp" });
    @export(&hookSystem, .{ .name = "system" });
    @export(&hookPopen, .{ .name = "popen" });
}
