//! Event buffers: a static pool of slots, taken with a lock-free compare-and-swap. A hook that is
//! re-entered from a signal handler takes a different slot, so the event in flight is never
//! overwritten. Static memory (not thread-local storage, not the stack): glibc carves static TLS
//! out of every thread's stack, and large stack frames would break programs with small threads.
const std = @import("std");
const config = @import("config.zig");
const sys = @import("sys.zig");
const event = @import("event.zig");

pub const slot_count = 64;
pub const slot_size = config.max_event_cap;

/// In ".bss.large", after all other (small) state: the small variables every process writes
/// (in the constructor, in a fork child before its exec) then share a few pages instead of being
/// spread between megabytes of buffers, and each page written is a page fault in every process.
/// Page-aligned: an event smaller than a page is written on one page, not across two.
var buffers: [slot_count][slot_size]u8 align(4096) linksection(".bss.large") = undefined;
/// 0 when free, else the tid of the thread that holds it.
/// Each slot's encoding cache (event.Cache), kept with the slot: its holder alone uses it. Also in
/// ".bss.large": only processes that write non-Exec events touch it.
var caches: [slot_count]event.Cache linksection(".bss.large") = [_]event.Cache{.{}} ** slot_count;
var owners: [slot_count]std.atomic.Value(i32) = [_]std.atomic.Value(i32){.init(0)} ** slot_count;

pub const Slot = struct {
    index: usize,
    buf: []u8,
    cache: *event.Cache,
};

/// Takes a free slot for thread `tid`, or null when all are busy (the caller falls back to a small
/// buffer on its stack).
pub fn acquire(tid: i32) ?Slot {
    const start: usize = @as(u32, @bitCast(tid)) % slot_count;
    var k: usize = 0;
    while (k < slot_count) : (k += 1) {
        const i = (start + k) % slot_count;
        if (owners[i].load(.monotonic) != 0) continue;
        if (owners[i].cmpxchgStrong(0, tid, .acquire, .monotonic) == null) {
            return .{ .index = i, .buf = buffers[i][0..], .cache = &caches[i] };
        }
    }
    return null;
}

pub fn release(slot: Slot) void {
    // Not an invariant: a signal handler that interrupted this hook and called fork() leaves a
    // child that finishes the hook after the fork handler has freed every slot (resetAfterFork).
    owners[slot.index].store(0, .release);
}

/// In a fork child only the forking thread exists: every slot is free again.
pub fn resetAfterFork() void {
    for (&owners) |*o| o.store(0, .release);
}
