//! The path every event takes: ids, buffer, envelope, payload, transport.
const std = @import("std");
const sys = @import("sys.zig");
const json = @import("json.zig");
const event = @import("event.zig");
const slots = @import("slots.zig");
const config = @import("config.zig");
const transport = @import("transport.zig");
const lifecycle = @import("lifecycle.zig");
const ids_mod = @import("ids.zig");
const process_id = @import("process_id.zig");

/// Encodes and sends one event. `payload` has `fn write(self, *json.Writer) void` that writes the
/// payload's fields (without braces). Never changes errno: only raw syscalls are made.
pub fn emit(event_type: event.EventType, payload: anytype) void {
    if (!lifecycle.ready()) return;
    // Exec events read the pid from the kernel: most come from fork children (process_id.fresh).
    const pid = if (event_type == .Exec) process_id.fresh() else process_id.current();
    if (!transport.admit(pid)) return;
    // One clock read per event: the timestamp, and the age of the cached ppid. Exec events read
    // it with a system call (sys.realtimeBySyscall says why).
    const now = if (event_type == .Exec) sys.realtimeBySyscall() else sys.realtime();
    const ids = ids_mod.current(pid, event_type != .Exec, sys.timespecNs(now));
    // No buffer on the stack: hooks also run in signal handlers on small alternate stacks. With
    // every slot taken (more than 64 threads inside hooks at once) the event is counted as
    // dropped and reported in `dropped` with the next delivered one.
    const slot = slots.acquire(ids.tid) orelse {
        transport.countDropped();
        return;
    };
    defer slots.release(slot);
    var w = json.Writer.init(slot.buf[0..config.current.max_event]);
    // Exec events (most from fork children about to exec) skip the slot's cache: its page would be
    // one more page fault in a process that the exec replaces.
    event.begin(&w, event_type, ids, now, if (event_type == .Exec) null else slot.cache);
    payload.write(&w);
    event.endPayload(&w);
    if (event_type == .Exec) transport.sendBeforeExec(&w, ids) else transport.send(&w, ids);
}
