//! The real libc functions behind each hook, found with dlsym(RTLD_NEXT) so that another
//! preloaded library later in the search order keeps working (its hook is "the real one" to us).
//! Resolved eagerly in the constructor because dlsym may allocate on first use; a hook that runs
//! before the constructor resolves its own function on demand.
const std = @import("std");

pub const Str = ?[*:0]const u8;
pub const StrArray = ?[*:null]const ?[*:0]const u8;
pub const File = ?*anyopaque;
pub const Sockaddr = ?*const anyopaque;

const Opaque = ?*const anyopaque;
const Spawn = fn (?*c_int, Str, Opaque, Opaque, StrArray, StrArray) callconv(.c) c_int;
const SendTo = fn (c_int, Opaque, usize, c_int, Sockaddr, u32) callconv(.c) isize;

pub const Fns = struct {
    execve: ?*const fn (Str, StrArray, StrArray) callconv(.c) c_int = null,
    execveat: ?*const fn (c_int, Str, StrArray, StrArray, c_int) callconv(.c) c_int = null,
    fexecve: ?*const fn (c_int, StrArray, StrArray) callconv(.c) c_int = null,
    execv: ?*const fn (Str, StrArray) callconv(.c) c_int = null,
    execvp: ?*const fn (Str, StrArray) callconv(.c) c_int = null,
    execvpe: ?*const fn (Str, StrArray, StrArray) callconv(.c) c_int = null,
    posix_spawn: ?*const Spawn = null,
    posix_spawnp: ?*const Spawn = null,
    system: ?*const fn (Str) callconv(.c) c_int = null,
    popen: ?*const fn (Str, Str) callconv(.c) File = null,

    open: ?*const fn (Str, c_int, ...) callconv(.c) c_int = null,
    open64: ?*const fn (Str, c_int, ...) callconv(.c) c_int = null,
    openat: ?*const fn (c_int, Str, c_int, ...) callconv(.c) c_int = null,
    openat64: ?*const fn (c_int, Str, c_int, ...) callconv(.c) c_int = null,
    __open_2: ?*const fn (Str, c_int) callconv(.c) c_int = null,
    __open64_2: ?*const fn (Str, c_int) callconv(.c) c_int = null,
    __openat_2: ?*const fn (c_int, Str, c_int) callconv(.c) c_int = null,
    __openat64_2: ?*const fn (c_int, Str, c_int) callconv(.c) c_int = null,
    creat: ?*const fn (Str, c_uint) callconv(.c) c_int = null,
    creat64: ?*const fn (Str, c_uint) callconv(.c) c_int = null,
    fopen: ?*const fn (Str, Str) callconv(.c) File = null,
    fopen64: ?*const fn (Str, Str) callconv(.c) File = null,
    freopen: ?*const fn (Str, Str, File) callconv(.c) File = null,
    freopen64: ?*const fn (Str, Str, File) callconv(.c) File = null,

    connect: ?*const fn (c_int, Sockaddr, u32) callconv(.c) c_int = null,
    sendto: ?*const SendTo = null,
    sendmsg: ?*const fn (c_int, ?*const std.os.linux.msghdr_const, c_int) callconv(.c) isize = null,

    setuid: ?*const fn (u32) callconv(.c) c_int = null,
    setgid: ?*const fn (u32) callconv(.c) c_int = null,
    seteuid: ?*const fn (u32) callconv(.c) c_int = null,
    setegid: ?*const fn (u32) callconv(.c) c_int = null,
    setreuid: ?*const fn (u32, u32) callconv(.c) c_int = null,
    setregid: ?*const fn (u32, u32) callconv(.c) c_int = null,
    setresuid: ?*const fn (u32, u32, u32) callconv(.c) c_int = null,
    setresgid: ?*const fn (u32, u32, u32) callconv(.c) c_int = null,
};

pub var fns: Fns = .{};

const RTLD_NEXT: ?*anyopaque = @ptrFromInt(std.math.maxInt(usize));
extern "c" fn dlsym(handle: ?*anyopaque, symbol: [*:0]const u8) ?*anyopaque;

pub fn resolveAll() void {
    inline for (std.meta.fields(Fns)) |field| {
        if (@field(fns, field.name) == null) {
            @field(fns, field.name) = @ptrCast(dlsym(RTLD_NEXT, field.name));
        }
    }
}

/// The real function for `name`, resolving it now if the constructor has not run yet.
pub inline fn get(comptime name: [:0]const u8) @FieldType(Fns, name) {
    if (@field(fns, name)) |f| return f;
    const f: @FieldType(Fns, name) = @ptrCast(dlsym(RTLD_NEXT, name.ptr));
    @field(fns, name) = f;
    return f;
}
