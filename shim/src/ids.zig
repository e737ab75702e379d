//! The ids every event carries, with as few system calls as is safe. pid and ppid are read per
//! event (fork, vfork and reparenting change them). The tid is cached per thread, tagged with the
//! pid it was read under, so a fork or vfork child (same thread-local memory, new pid) reads its
//! own. uid and gid are cached per process and invalidated by the set*id hooks (cred_hooks.zig)
//! through a generation counter; only a raw setuid syscall, which no LD_PRELOAD library sees,
//! would leave them stale (docs/shim.md).
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");

threadlocal var tid_pid: i32 = 0;
threadlocal var tid_value: i32 = 0;

/// Bumped after every set*id call.
var cred_generation = std.atomic.Value(u32).init(1);
/// The generation `cred_value` was read under; 0 while none is cached.
var cred_cached_generation = std.atomic.Value(u32).init(0);
/// uid << 32 | gid.
var cred_value = std.atomic.Value(u64).init(0);

pub fn credentialsChanged() void {
    _ = cred_generation.fetchAdd(1, .acq_rel);
}

fn tid(pid: i32) i32 {
    if (tid_pid == pid and tid_value != 0) return tid_value;
    const t = linux.gettid();
    tid_value = t;
    tid_pid = pid;
    return t;
}

fn credentials() u64 {
    const generation = cred_generation.load(.acquire);
    if (cred_cached_generation.load(.acquire) == generation) {
        const value = cred_value.load(.acquire);
        if (cred_cached_generation.load(.acquire) == generation) return value;
    }
    // Read after loading the generation: a set*id call that completed before that load is
    // visible in these values; one completing later bumps the generation and forces a re-read.
    const value = @as(u64, linux.getuid()) << 32 | linux.getgid();
    cred_cached_generation.store(0, .release);
    cred_value.store(value, .release);
    cred_cached_generation.store(generation, .release);
    return value;
}

/// Ids for an event of process `pid` (the caller has just read it).
pub fn current(pid: i32) sys.Ids {
    const cred = credentials();
    return .{
        .pid = pid,
        .ppid = linux.getppid(),
        .tid = tid(pid),
        .uid = @truncate(cred >> 32),
        .gid = @truncate(cred),
    };
}
