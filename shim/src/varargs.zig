//! How the hooks of variadic C functions (open, openat and their 64 forms; execl, execlp, execle)
//! read their variadic arguments on each target.
//!
//! x86_64: Zig's C va_list (@cVaStart/@cVaArg).
//! aarch64: Zig 0.14 has no C va_list for aarch64 Linux (std.builtin.VaList is a compile error,
//! "disabled due to miscompilations"), so the hooks do what the ABI allows instead. AAPCS64 on
//! Linux passes anonymous (variadic) arguments exactly like named ones: the first eight in x0-x7,
//! the rest on the stack in 8-byte slots from the caller's sp upwards.
//! - open's mode: the hook names it as a plain parameter and reads it only when the flags say the
//!   caller passed one, as va_arg would.
//! - execl's list (unbounded, NULL-terminated, execle's envp after the NULL): a naked entry
//!   (`listEntry`) stores x1-x7 right below the caller's stacked arguments, so that one array runs
//!   from the first argument after `path` on into the stack, and calls a C-ABI function with
//!   `path` and that array.
const builtin = @import("builtin");

/// Whether Zig's C va_list is used (else the aarch64 forms described above).
pub const native = builtin.cpu.arch == .x86_64;

comptime {
    if (builtin.cpu.arch != .x86_64 and builtin.cpu.arch != .aarch64) {
        @compileError("libauditshim reads variadic arguments on x86_64 and aarch64 Linux only");
    }
}

/// The assembly of a naked aarch64 entry for an execl-style function. It calls the hidden
/// function `target` (`fn (path: Str, args: [*]const usize) callconv(.c) c_int`) with x0 untouched
/// and x1 pointing at the argument array, and returns its result; errno is left as `target` set it.
///
/// Frame (80 bytes, sp stays 16-byte aligned): x29/x30 at sp+0/8, x1..x7 at sp+24..sp+72, and the
/// caller's first stacked argument at sp+80, the slot right after x7's.
pub fn listEntry(comptime target: []const u8) []const u8 {
    return 
    \\ stp x29, x30, [sp, #-80]!
    \\ mov x29, sp
    \\ str x1, [sp, #24]
    \\ stp x2, x3, [sp, #32]
    \\ stp x4, x5, [sp, #48]
    \\ stp x6, x7, [sp, #64]
    \\ add x1, sp, #24
    \\ bl 
    ++ target ++
        \\
        \\ ldp x29, x30, [sp], #80
        \\ ret
    ;
}
