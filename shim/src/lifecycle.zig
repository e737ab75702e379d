//! Start-up: resolve the real functions, read the configuration and register the fork handler,
//! once. Normally done by the ELF constructor before main; done lazily by the first hook if
//! another library's constructor calls a hooked function earlier.
const std = @import("std");
const real = @import("real.zig");
const config = @import("config.zig");
const transport = @import("transport.zig");
const slots = @import("slots.zig");
const sys = @import("sys.zig");
const policy = @import("policy.zig");
const process_id = @import("process_id.zig");

/// 0 not started, 1 in progress, 2 ready.
var state = std.atomic.Value(u8).init(0);

extern "c" var environ: ?[*:null]?[*:0]u8;

const DlInfo = extern struct {
    dli_fname: ?[*:0]const u8,
    dli_fbase: ?*anyopaque,
    dli_sname: ?[*:0]const u8,
    dli_saddr: ?*anyopaque,
};
extern "c" fn dladdr(addr: *const anyopaque, info: *DlInfo) c_int;
extern "c" fn __register_atfork(
    prepare: ?*const fn () callconv(.c) void,
    parent: ?*const fn () callconv(.c) void,
    child: ?*const fn () callconv(.c) void,
    dso_handle: ?*anyopaque,
) c_int;

/// Before fork: waits until no thread holds a fresh socket at a low descriptor (see transport).
fn forkPrepare() callconv(.c) void {
    transport.beforeFork();
}

fn forkParent() callconv(.c) void {
    transport.afterForkParent();
}

fn forkChild() callconv(.c) void {
    process_id.afterFork(sys.getpid());
    slots.resetAfterFork();
    policy.resetAfterFork();
    transport.resetAfterFork();
}

/// Whether the shim is initialised and may report. Never blocks: a hook that finds the start-up
/// in progress (another thread, or a call made from inside dlsym) just passes through.
pub fn ready() bool {
    const s = state.load(.acquire);
    if (s == 2) return true;
    if (s != 0) return false;
    if (state.cmpxchgStrong(0, 1, .acq_rel, .monotonic) != null) return false;
    start();
    state.store(2, .release);
    return true;
}

fn start() void {
    sys.learnErrnoOffset();
    real.resolveAll();
    var info: DlInfo = .{
        .dli_fname = null,
        .dli_fbase = null,
        .dli_sname = null,
        .dli_saddr = null,
    };
    var self: []const u8 = "";
    // The lookup pass has seen this library's name (the one dladdr would report) on its way.
    if (real.self_name) |name| {
        self = std.mem.span(name);
    } else if (dladdr(@ptrCast(&forkChild), &info) != 0) {
        if (info.dli_fname) |name| self = std.mem.span(name);
    }
    const empty = [_:null]?[*:0]const u8{};
    const envp: [*:null]const ?[*:0]const u8 = if (environ) |e| @ptrCast(e) else &empty;
    config.load(&config.current, envp, self);
    // The policy file is read here, before main, rather than by the first hook that needs it.
    policy.init();
    process_id.init();
    transport.init();
    _ = __register_atfork(&forkPrepare, &forkParent, &forkChild, null);
}

fn constructor() callconv(.c) void {
    // What ready() does, but touching the state's page first with a write (the compare-and-swap):
    // a first read would map the shared zero page and the first write then fault a second time.
    if (state.cmpxchgStrong(0, 1, .acq_rel, .monotonic) != null) return;
    start();
    state.store(2, .release);
}

const Constructor = *const fn () callconv(.c) void;
export const containai_audit_shim_init: Constructor linksection(".init_array") = &constructor;
