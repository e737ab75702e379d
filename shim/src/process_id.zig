//! Which process is running: its pid, without a getpid system call on the hot path when that is
//! safe, and whether it owns the shim's per-process state (the process that ran the constructor,
//! or a child of fork() after the pthread_atfork child handler).
//!
//! The pid is cached in a page of its own marked MADV_WIPEONFORK: the kernel hands every fork
//! child (fork, _Fork, a raw fork or clone syscall: anything that copies the address space) that
//! page zero-filled, so a child never reads its parent's pid there. What the page cannot tell
//! apart is a child that SHARES the address space (vfork, clone with CLONE_VM): it would read the
//! parent's page. The vfork and clone hooks (clone_hooks.zig) therefore set `shared_vm` before
//! such a child exists, and from then on the process reads its pid from the kernel for every
//! event, as it did before the cache existed. The page is made and filled only by the owner of
//! the state, checked with the kernel's pid, so a child nobody saw being made (a raw vfork or
//! clone syscall, which no LD_PRELOAD library sees) never stores its pid where its parent reads.
//! Such a child does read its parent's cached pid, and reports with it until it execs
//! (docs/shim.md, "Documented limits"); Exec events always read the pid from the kernel (`fresh`).
const std = @import("std");
const builtin = @import("builtin");
const linux = std.os.linux;
const sys = @import("sys.zig");

const MADV_WIPEONFORK: u32 = 18;
const page_size = std.heap.page_size_min;

/// Whether the cache is used at all: the vfork/clone hooks that make it safe are x86_64 assembly.
pub const supported = builtin.cpu.arch == .x86_64;

/// Set (and cleared only in a fork() child) once this process may have a child that runs on its
/// memory: from then on the cached pid is neither read nor written. Exported hidden so that the
/// naked hooks can store to it.
pub var shared_vm = std.atomic.Value(u32).init(0);

comptime {
    @export(&shared_vm, .{ .name = "containai_shim_shared_vm", .visibility = .hidden });
}

/// The pid that owns the per-process state (seq, drop count, connection).
var owner = std.atomic.Value(i32).init(0);

/// The address of the wipe-on-fork page; 0 while not made, `page_failed` when it cannot be (a
/// kernel before 4.14, mmap refused): then every event reads the pid from the kernel. Made on the
/// first event that needs it, not at start-up: most processes a shell starts report nothing
/// (their exec is reported by the fork child before it), and a mapping costs two system calls and
/// a page fault in each.
var page = std.atomic.Value(usize).init(0);
const page_failed: usize = 1;

/// Records the process that runs the start-up as the owner of the state.
pub fn init() void {
    owner.store(linux.getpid(), .release);
}

/// pthread_atfork child handler: the child of fork() owns its copy of the state, and has no child
/// of its own yet, so none can share its memory (a child of _Fork or of a raw fork syscall runs no
/// handler: it is not the owner, and reads its pid from the kernel for every event).
pub fn afterFork(pid: i32) void {
    owner.store(pid, .release);
    // Read first: a write to the page is a copy-on-write fault in a child that will likely exec.
    if (shared_vm.load(.acquire) != 0) shared_vm.store(0, .release);
}

/// Whether `pid` (the caller's, from `current` or `fresh`) owns the per-process state.
pub fn isOwner(pid: i32) bool {
    return pid == owner.load(.acquire);
}

/// The calling process's pid: from the page while no child can share this address space, else
/// from the kernel.
pub fn current() i32 {
    if (!supported or shared_vm.load(.acquire) != 0) return linux.getpid();
    const address = page.load(.acquire);
    if (address > page_failed) {
        const cached = cellAt(address).load(.acquire);
        if (cached != 0) return cached;
    }
    const pid = linux.getpid();
    // Only the owner fills the cache (see the module comment), and only while no vfork/clone
    // hook has run.
    if (pid != owner.load(.acquire) or address == page_failed) return pid;
    const cell_address = if (address == 0) makePage() else address;
    if (cell_address > page_failed and shared_vm.load(.acquire) == 0) {
        const cell = cellAt(cell_address);
        cell.store(pid, .release);
        // A signal handler may have forked since `pid` was read (between the getpid above and
        // the store): its child resumes here, on a wiped page, with its parent's pid in `pid`.
        // Stored unchecked, that pid would be the child's for every later event. One more
        // getpid, once per process, proves the value; a fork after it wipes the child's page.
        const again = linux.getpid();
        if (again != pid) {
            cell.store(0, .release);
            return again;
        }
    }
    return pid;
}

/// The pid from the kernel, for Exec events: most come from fork children, where the page is
/// zero-filled (reading it would cost a page fault, and the exec discards the cache).
pub fn fresh() i32 {
    return linux.getpid();
}

fn cellAt(address: usize) *std.atomic.Value(i32) {
    return @ptrFromInt(address);
}

/// Maps the page, or takes the one another thread (or a signal handler) mapped first. Returns
/// its address, or `page_failed`.
fn makePage() usize {
    const rc = linux.mmap(
        null,
        page_size,
        linux.PROT.READ | linux.PROT.WRITE,
        .{ .TYPE = .PRIVATE, .ANONYMOUS = true },
        -1,
        0,
    );
    var made: usize = page_failed;
    if (sys.errnoOf(rc) == 0) {
        if (sys.errnoOf(linux.madvise(@ptrFromInt(rc), page_size, MADV_WIPEONFORK)) == 0) {
            made = rc;
        } else {
            _ = linux.munmap(@ptrFromInt(rc), page_size);
        }
    }
    if (page.cmpxchgStrong(0, made, .acq_rel, .acquire)) |first| {
        if (made > page_failed) _ = linux.munmap(@ptrFromInt(made), page_size);
        return first;
    }
    return made;
}

test "the cached pid is the process's own, from the first read on" {
    init();
    try std.testing.expectEqual(linux.getpid(), current());
    try std.testing.expectEqual(linux.getpid(), current());
    try std.testing.expectEqual(linux.getpid(), fresh());
    try std.testing.expect(isOwner(current()));
}
