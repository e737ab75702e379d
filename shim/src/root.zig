//! libauditshim.so: an LD_PRELOAD library that reports every exec, open and connect of a
//! dynamically linked process to the ContainAI audit collector (protocol v1). See docs/shim.md.
const std = @import("std");

comptime {
    _ = @import("lifecycle.zig");
    _ = @import("exec_hooks.zig");
    _ = @import("open_hooks.zig");
    _ = @import("connect_hooks.zig");
    _ = @import("cred_hooks.zig");
    _ = @import("clone_hooks.zig");
}

/// A panic would kill the audited program, so no code path may reach one: release builds have no
/// safety checks (ReleaseFast) and the code bounds every index and loop explicitly. If a panic is
/// reached anyway (a Debug build), it traps without printing: the host's stderr is not ours.
pub const panic = std.debug.no_panic;
