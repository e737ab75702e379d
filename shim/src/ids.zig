//! The ids every event carries, with as few system calls as is safe. pid is read per event (a
//! vfork child shares the parent's memory, so only the kernel can say which process runs). ppid
//! is cached per pid and re-read when 1 ms has passed (by the event's own clock reading), so
//! after the parent exits an event may carry the old parent for at most that long. The tid is
//! cached per thread, tagged with the pid it was read under, so a fork or vfork child (same
//! thread-local memory, new pid) reads its own; Exec events read it fresh (see `current`). uid
//! and gid are cached per process and invalidated by the set*id hooks (cred_hooks.zig) through a
//! generation counter; only a raw setuid syscall, which no LD_PRELOAD library sees, would leave
//! them stale (docs/shim.md).
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");

threadlocal var tid_pid: i32 = 0;
threadlocal var tid_value: i32 = 0;

/// pid << 32 | ppid, and when it was read (monotonic ns).
var parent_value = std.atomic.Value(u64).init(0);
var parent_read_ns = std.atomic.Value(u64).init(0);
const parent_max_age_ns: u64 = std.time.ns_per_ms;

/// Bumped after every set*id call. Starts at 0 and is tagged +1 when read, so that no variable of
/// the shim needs a non-zero initial value: a .data section costs every process a page fault.
var cred_generation = std.atomic.Value(u32).init(0);
/// The tag of the generation `cred_value` was read under; 0 while none is cached.
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

/// `now`: the event's wall-clock time in ns. A clock step only makes the age look wrong one way
/// or the other: backwards it wraps to a huge age, forwards it is large; either re-reads ppid.
fn parent(pid: i32, now: u64) i32 {
    const cached = parent_value.load(.acquire);
    const cached_pid: i32 = @bitCast(@as(u32, @truncate(cached >> 32)));
    const cached_ppid: i32 = @bitCast(@as(u32, @truncate(cached)));
    // A process is never its own parent: such an entry was written by a child that read this
    // process's cached pid (a raw clone(CLONE_VM) child, docs/shim.md "Documented limits").
    const fresh = now -% parent_read_ns.load(.acquire) < parent_max_age_ns;
    if (cached_pid == pid and cached_ppid != pid and fresh) return cached_ppid;
    const ppid = linux.getppid();
    const packed_ids = @as(u64, @as(u32, @bitCast(pid))) << 32 | @as(u32, @bitCast(ppid));
    parent_value.store(packed_ids, .release);
    parent_read_ns.store(now, .release);
    return ppid;
}

fn credentials() u64 {
    const generation = cred_generation.load(.acquire) +% 1;
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

/// Ids for an event of process `pid` (the caller has just read it). `cached_tid` false reads the
/// tid with a system call instead of from thread-local storage: for Exec events, most of which
/// come from fork children about to exec, where reaching thread-local storage (__tls_get_addr)
/// costs a page fault and the cache would be thrown away by the exec.
/// `now_ns` is the event's clock reading (sys.timespecNs), used for the age of the cached ppid.
pub fn current(pid: i32, cached_tid: bool, now_ns: u64) sys.Ids {
    const cred = credentials();
    return .{
        .pid = pid,
        .ppid = parent(pid, now_ns),
        .tid = if (cached_tid) tid(pid) else linux.gettid(),
        .uid = @truncate(cred >> 32),
        .gid = @truncate(cred),
    };
}
