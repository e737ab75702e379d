//! Raw system calls and libc errno access. The shim does its own I/O with raw syscalls so that
//! it never enters a hooked libc function, never takes a libc lock and never allocates.
const std = @import("std");
const builtin = @import("builtin");
const linux = std.os.linux;

pub const fd_t = i32;

/// The errno a raw syscall result carries, or 0 on success.
pub fn errnoOf(rc: usize) u16 {
    const signed: isize = @bitCast(rc);
    if (signed < 0 and signed > -4096) return @intCast(-signed);
    return 0;
}

/// errno's distance from the thread pointer, learnt once at start-up (0 until then: libc's
/// __errno_location is asked instead). glibc keeps errno in static TLS, at the same offset from
/// every thread's thread pointer, and __errno_location computes exactly this sum; doing it here
/// saves a call into libc, which in a fork child (libc's code not mapped until touched) costs a
/// page fault before the exec.
var errno_offset = std.atomic.Value(isize).init(0);

inline fn threadPointer() usize {
    return asm volatile ("mov %%fs:0, %[tp]"
        : [tp] "=r" (-> usize),
    );
}

/// Learns errno's offset from the thread pointer (x86_64; other targets keep asking libc). The
/// offset is only used when it has the shape of a static TLS offset (just below the pointer).
pub fn learnErrnoOffset() void {
    if (builtin.cpu.arch != .x86_64) return;
    const location: isize = @bitCast(@intFromPtr(std.c._errno()));
    const offset = location -% @as(isize, @bitCast(threadPointer()));
    if (offset < 0 and offset > -(1 << 20)) errno_offset.store(offset, .monotonic);
}

fn errnoLocation() *c_int {
    if (builtin.cpu.arch == .x86_64) {
        const offset = errno_offset.load(.monotonic);
        if (offset != 0) {
            const tp: isize = @bitCast(threadPointer());
            return @ptrFromInt(@as(usize, @bitCast(tp +% offset)));
        }
    }
    return std.c._errno();
}

/// The calling thread's libc errno.
pub fn getErrno() c_int {
    return errnoLocation().*;
}

pub fn setErrno(value: c_int) void {
    errnoLocation().* = value;
}

/// Copies `n` bytes without calling libc's memcpy: in a fork child about to exec, libc code not
/// touched yet is a page fault (and the Exec event is most of what such a child does). Up to 32
/// bytes (most JSON keys and numbers) with a few overlapping word moves, which fold into plain
/// moves when `n` is known at compile time; up to 512 bytes (paths, an event's envelope) 32 bytes
/// per round, then `rep movsb` (x86_64), whose start-up costs more than such a short copy.
pub inline fn copyBytes(dst: [*]u8, src: [*]const u8, n: usize) void {
    if (n <= 32) {
        copySmall(dst, src, n);
        return;
    }
    if (n <= 512) {
        copyMedium(dst, src, n);
        return;
    }
    if (builtin.cpu.arch == .x86_64) {
        var d = dst;
        var s = src;
        var count = n;
        asm volatile ("rep movsb"
            : [d] "+{rdi}" (d),
              [s] "+{rsi}" (s),
              [count] "+{rcx}" (count),
            :
            : "memory"
        );
    } else {
        @memcpy(dst[0..n], src[0..n]);
    }
}

/// `n` <= 32 bytes, no loop (a loop would be turned back into a memcpy call by the optimizer).
inline fn copySmall(dst: [*]u8, src: [*]const u8, n: usize) void {
    if (n >= 16) {
        const a = load(u64, src);
        const b = load(u64, src + 8);
        const c = load(u64, src + n - 16);
        const d = load(u64, src + n - 8);
        store(u64, dst, a);
        store(u64, dst + 8, b);
        store(u64, dst + n - 16, c);
        store(u64, dst + n - 8, d);
    } else if (n >= 8) {
        const a = load(u64, src);
        const b = load(u64, src + n - 8);
        store(u64, dst, a);
        store(u64, dst + n - 8, b);
    } else if (n >= 4) {
        const a = load(u32, src);
        const b = load(u32, src + n - 4);
        store(u32, dst, a);
        store(u32, dst + n - 4, b);
    } else if (n > 0) {
        const a = src[0];
        const b = src[n / 2];
        const c = src[n - 1];
        dst[0] = a;
        dst[n / 2] = b;
        dst[n - 1] = c;
    }
}

/// 32 < `n` <= 512 bytes: 32-byte blocks, the last one overlapping the one before it.
fn copyMedium(dst: [*]u8, src: [*]const u8, n: usize) void {
    const V = @Vector(16, u8);
    var k: usize = 0;
    while (n - k > 32) : (k += 32) {
        const a = load(V, src + k);
        const b = load(V, src + k + 16);
        store(V, dst + k, a);
        store(V, dst + k + 16, b);
        // Keeps the optimizer from turning the loop back into a call to memcpy.
        asm volatile ("" ::: "memory");
    }
    const c = load(V, src + n - 32);
    const d = load(V, src + n - 16);
    store(V, dst + n - 32, c);
    store(V, dst + n - 16, d);
}

inline fn load(comptime T: type, p: [*]const u8) T {
    return @as(*align(1) const T, @ptrCast(p)).*;
}

inline fn store(comptime T: type, p: [*]u8, value: T) void {
    @as(*align(1) T, @ptrCast(p)).* = value;
}

/// Checks an invariant. In Debug builds a broken invariant stops the program so unit tests find
/// it; release builds must never crash the audited program, so there the check only returns the
/// condition and the caller takes its safe path (usually: drop the event and count it).
pub inline fn invariant(ok: bool) bool {
    if (builtin.mode == .Debug and !ok) @panic("audit shim invariant broken");
    return ok;
}

pub const Ids = struct {
    pid: i32,
    ppid: i32,
    tid: i32,
    uid: u32,
    gid: u32,
};

pub fn getpid() i32 {
    return linux.getpid();
}

pub fn gettid() i32 {
    return linux.gettid();
}

/// Wall clock through libc's vDSO-backed clock_gettime: no syscall, no lock, async-signal-safe.
pub fn realtime() linux.timespec {
    var ts: linux.timespec = .{ .sec = 0, .nsec = 0 };
    _ = std.c.clock_gettime(.REALTIME, &ts);
    return ts;
}

/// Wall clock through the system call: for Exec events, most of which come from fork children
/// about to exec, where calling into libc's clock_gettime and the vDSO would cost two page faults
/// (their code is not mapped in a fork child until touched) and the exec discards them.
pub fn realtimeBySyscall() linux.timespec {
    var ts: linux.timespec = .{ .sec = 0, .nsec = 0 };
    _ = linux.syscall2(.clock_gettime, @intFromEnum(linux.CLOCK.REALTIME), @intFromPtr(&ts));
    return ts;
}

/// `ts` as nanoseconds (wrapping; negative parts count as 0).
pub fn timespecNs(ts: linux.timespec) u64 {
    const sec: u64 = @intCast(@max(ts.sec, 0));
    const nsec: u64 = @intCast(@max(ts.nsec, 0));
    return sec *% 1_000_000_000 +% nsec;
}

/// Monotonic nanoseconds, for rate limits.
pub fn monotonicNs() u64 {
    var ts: linux.timespec = .{ .sec = 0, .nsec = 0 };
    _ = std.c.clock_gettime(.MONOTONIC, &ts);
    const sec: u64 = @intCast(@max(ts.sec, 0));
    const nsec: u64 = @intCast(@max(ts.nsec, 0));
    return sec *% 1_000_000_000 +% nsec;
}

pub fn close(fd: fd_t) void {
    _ = linux.close(fd);
}

/// Reads the target of /proc/self/fd/<fd> into buf; returns the length or null.
pub fn fdPath(fd: i32, buf: []u8) ?usize {
    if (fd < 0) return null;
    var link: [32:0]u8 = undefined;
    const prefix = "/proc/self/fd/";
    @memcpy(link[0..prefix.len], prefix);
    var digits: [12]u8 = undefined;
    var n: u32 = @intCast(fd);
    var count: usize = 0;
    while (true) {
        digits[count] = @intCast('0' + n % 10);
        count += 1;
        n /= 10;
        if (n == 0 or count == digits.len) break;
    }
    var i: usize = 0;
    while (i < count) : (i += 1) link[prefix.len + i] = digits[count - 1 - i];
    link[prefix.len + count] = 0;
    const rc = linux.readlinkat(linux.AT.FDCWD, &link, buf.ptr, buf.len);
    if (errnoOf(rc) != 0) return null;
    return rc;
}

/// The working directory into buf, or null.
pub fn cwd(buf: []u8) ?[]const u8 {
    const rc = linux.getcwd(buf.ptr, buf.len);
    if (errnoOf(rc) != 0 or rc == 0) return null;
    // The syscall returns the length including the terminating NUL.
    return buf[0 .. rc - 1];
}

test "errno through the learnt thread-pointer offset is libc's errno" {
    learnErrnoOffset();
    if (builtin.cpu.arch == .x86_64) try std.testing.expect(errno_offset.load(.monotonic) != 0);
    setErrno(1234);
    try std.testing.expectEqual(@as(c_int, 1234), std.c._errno().*);
    std.c._errno().* = 4321;
    try std.testing.expectEqual(@as(c_int, 4321), getErrno());
}

test "errno stays per thread through the learnt offset" {
    learnErrnoOffset();
    setErrno(7);
    const T = struct {
        fn run(out: *c_int) void {
            setErrno(99);
            out.* = std.c._errno().*;
        }
    };
    var seen: c_int = 0;
    const thread = try std.Thread.spawn(.{}, T.run, .{&seen});
    thread.join();
    try std.testing.expectEqual(@as(c_int, 99), seen);
    try std.testing.expectEqual(@as(c_int, 7), getErrno());
}

test "copyBytes copies every length exactly and nothing past it" {
    var src: [600]u8 = undefined;
    for (&src, 0..) |*b, i| b.* = @truncate(i * 7 + 1);
    var n: usize = 0;
    while (n <= 600) : (n += 1) {
        var dst = [_]u8{0xaa} ** 600;
        copyBytes(&dst, &src, n);
        try std.testing.expectEqualSlices(u8, src[0..n], dst[0..n]);
        for (dst[n..]) |b| try std.testing.expectEqual(@as(u8, 0xaa), b);
    }
}
