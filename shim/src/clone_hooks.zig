//! vfork and clone hooks. They report nothing: they exist so that the pid cache (process_id.zig)
//! is switched off before a child that shares this process's memory can run a hook, since such a
//! child would read the parent's cached pid. Both are naked tail calls into the real function,
//! written in assembly (x86_64 only; elsewhere the cache is off and these are not exported):
//! - vfork's child returns from the real vfork into its caller's frame and runs on the parent's
//!   stack, so a hook with a frame of its own would have it overwritten before the parent returns
//!   through it; the real vfork must be entered with the caller's stack exactly as it was.
//! - clone is variadic (parent_tid, tls, child_tid follow `arg`), so its arguments are passed on
//!   untouched, registers and stack alike.
//! glibc's own posix_spawn, system and popen create their child with an internal clone that no
//! hook sees, but that child runs no hooked function (glibc calls its internal aliases there).
const std = @import("std");
const sys = @import("sys.zig");
const real = @import("real.zig");
const process_id = @import("process_id.zig");

const ENOSYS: c_int = 38;

/// The real vfork's address, for the naked hook. Called before the child exists, on the caller's
/// stack. With no real vfork to be found (not on glibc), a function that fails with ENOSYS.
fn realVfork() callconv(.c) usize {
    if (real.get("vfork")) |f| return @intFromPtr(f);
    return @intFromPtr(&unavailable);
}

/// The real clone's address, as realVfork.
fn realClone() callconv(.c) usize {
    if (real.get("clone")) |f| return @intFromPtr(f);
    return @intFromPtr(&unavailable);
}

fn unavailable() callconv(.c) c_int {
    sys.setErrno(ENOSYS);
    return -1;
}

/// vfork (and __vfork, the same function in glibc): CPython's subprocess and other spawners call
/// it; its child then calls execve (hooked) on the parent's memory.
fn hookVfork() callconv(.naked) noreturn {
    asm volatile (
        \\ movl $1, containai_shim_shared_vm(%%rip)
        \\ subq $8, %%rsp
        \\ call containai_shim_real_vfork
        \\ addq $8, %%rsp
        \\ jmpq *%%rax
    );
}

/// clone (and __clone): a child made with CLONE_VM but without CLONE_THREAD is a new process on
/// this process's memory. Threads (CLONE_THREAD) share the pid and need nothing.
fn hookClone() callconv(.naked) noreturn {
    asm volatile (
        \\ testl $0x100, %%edx
        \\ jz 1f
        \\ testl $0x10000, %%edx
        \\ jnz 1f
        \\ movl $1, containai_shim_shared_vm(%%rip)
        \\1:
        \\ pushq %%rdi
        \\ pushq %%rsi
        \\ pushq %%rdx
        \\ pushq %%rcx
        \\ pushq %%r8
        \\ pushq %%r9
        \\ subq $8, %%rsp
        \\ call containai_shim_real_clone
        \\ addq $8, %%rsp
        \\ popq %%r9
        \\ popq %%r8
        \\ popq %%rcx
        \\ popq %%rdx
        \\ popq %%rsi
        \\ popq %%rdi
        \\ jmpq *%%rax
    );
}

comptime {
    if (process_id.supported) {
        @export(&realVfork, .{ .name = "containai_shim_real_vfork", .visibility = .hidden });
        @export(&realClone, .{ .name = "containai_shim_real_clone", .visibility = .hidden });
        @export(&hookVfork, .{ .name = "vfork" });
        @export(&hookVfork, .{ .name = "__vfork" });
        @export(&hookClone, .{ .name = "clone" });
        @export(&hookClone, .{ .name = "__clone" });
    }
}
