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

/// Size of the stack buffer used when every slot is taken (more than 64 threads inside hooks at
/// once). Small, because hooks also run in signal handlers on small alternate stacks: an event
/// that does not fit is cut (`truncated`) or, if even its envelope does not fit, counted as
/// dropped.
const fallback_size = config.min_event_size;

/// Encodes and sends one event. `payload` has `fn write(self, *json.Writer) void` that writes the
/// payload's fields (without braces). Never changes errno: only raw syscalls are made.
pub fn emit(event_type: event.EventType, payload: anytype) void {
    if (!lifecycle.ready()) return;
    const pid = sys.getpid();
    if (!transport.admit(pid)) return;
    const ids = ids_mod.current(pid);
    var fallback: [fallback_size]u8 = undefined;
    const slot = slots.acquire(ids.tid);
    defer if (slot) |s| slots.release(s);
    const buf = if (slot) |s| s.buf[0..config.current.max_event] else fallback[0..];
    var w = json.Writer.init(buf);
    event.begin(&w, event_type, ids);
    payload.write(&w);
    event.endPayload(&w);
    transport.send(&w, ids);
}
