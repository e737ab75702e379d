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
const SendMmsg = fn (c_int, ?[*]std.os.linux.mmsghdr_const, c_uint, c_int) callconv(.c) c_int;

/// An extern struct: its fields stay in declaration order, so the lookup can treat it as an array
/// (`entries`) indexed like `names`.
pub const Fns = extern struct {
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
    sendmmsg: ?*const SendMmsg = null,

    setuid: ?*const fn (u32) callconv(.c) c_int = null,
    setgid: ?*const fn (u32) callconv(.c) c_int = null,
    seteuid: ?*const fn (u32) callconv(.c) c_int = null,
    setegid: ?*const fn (u32) callconv(.c) c_int = null,
    setreuid: ?*const fn (u32, u32) callconv(.c) c_int = null,
    setregid: ?*const fn (u32, u32) callconv(.c) c_int = null,
    setresuid: ?*const fn (u32, u32, u32) callconv(.c) c_int = null,
    setresgid: ?*const fn (u32, u32, u32) callconv(.c) c_int = null,

    // Only their addresses are used, by the naked hooks in clone_hooks.zig (clone is variadic).
    vfork: ?*const fn () callconv(.c) c_int = null,
    clone: ?*const fn () callconv(.c) c_int = null,
};

pub var fns: Fns = .{};

const RTLD_NEXT: ?*anyopaque = @ptrFromInt(std.math.maxInt(usize));
extern "c" fn dlsym(handle: ?*anyopaque, symbol: [*:0]const u8) ?*anyopaque;

/// Resolves every real function: one pass over the loaded objects that follow this library
/// (`nextObjects`), then dlsym(RTLD_NEXT) for whatever that pass left open. One dlsym per name
/// was about 30,000 instructions in every process start (locks, error catching, the lookup);
/// the pass reads the same hash tables dlsym reads, without locks or allocation.
pub fn resolveAll() void {
    resolveByScan();
    const table = entries();
    for (names, 0..) |name, i| {
        if (table[i] == null) table[i] = dlsym(RTLD_NEXT, name.ptr);
    }
}

/// `fns` as an array in field order (a loop, not 40 unrolled copies of the lookup).
fn entries() *[names.len]?*const anyopaque {
    return @ptrCast(&fns);
}

comptime {
    std.debug.assert(@sizeOf(Fns) == names.len * @sizeOf(?*const anyopaque));
}

/// This library's file name as the dynamic loader has it (what dladdr reports), seen by the
/// lookup pass; null when the pass did not get that far.
pub var self_name: ?[*:0]const u8 = null;

/// The pass alone: fills the functions it can settle exactly as dlsym(RTLD_NEXT) would.
fn resolveByScan() void {
    var scan: Scan = .{ .self = @intFromPtr(&resolveAll) };
    _ = std.c.dl_iterate_phdr(visitObject, &scan);
}

const elf = std.elf;
const names = blk: {
    const fields = std.meta.fields(Fns);
    var list: [fields.len][:0]const u8 = undefined;
    for (fields, 0..) |field, i| list[i] = field.name;
    break :blk list;
};
/// Each name's GNU hash, computed at compile time.
const hashes = blk: {
    var list: [names.len]u32 = undefined;
    for (names, 0..) |name, i| list[i] = gnuHash(name);
    break :blk list;
};

pub fn gnuHash(name: []const u8) u32 {
    var h: u32 = 5381;
    for (name) |c| h = h *% 33 +% c;
    return h;
}

/// The state of one pass over the loaded objects.
const Scan = struct {
    /// An address inside this library.
    self: usize,
    seen_self: bool = false,
    /// Names settled by the pass: found, or left to dlsym (an IFUNC, TLS, unique or absolute
    /// symbol is resolved by dlsym, which finds the same definition and handles it).
    settled: u64 = 0,
};

comptime {
    std.debug.assert(names.len <= 64);
}

/// dl_iterate_phdr visits the objects in link-map order: the program, the vDSO, the preloaded
/// libraries, then their dependencies, the dynamic linker placed where it is in the search list.
/// dlsym(RTLD_NEXT) searches the objects after the caller in the global search list, which is
/// that order without the vDSO. The pass stops at the dynamic linker (objects after it were
/// dlopen()ed, possibly outside the global scope) and at any object it cannot read exactly as
/// dlsym does (no DT_GNU_HASH): dlsym then resolves every name still open, in the same order.
fn visitObject(info: *std.c.dl_phdr_info, size: usize, data: ?*anyopaque) callconv(.c) c_int {
    _ = size;
    const scan: *Scan = @ptrCast(@alignCast(data.?));
    const object = Object.read(info) orelse return 1;
    if (!scan.seen_self) {
        scan.seen_self = object.contains(scan.self);
        if (scan.seen_self) self_name = info.name;
        // The dynamic linker before the shim: the shim was dlopen()ed, and RTLD_NEXT then
        // searches another scope. dlsym resolves everything.
        if (!scan.seen_self and info.addr == std.c.getauxval(elf.AT_BASE)) return 1;
        return 0;
    }
    if (info.addr == std.c.getauxval(elf.AT_SYSINFO_EHDR)) return 0;
    const tables = object.tables() orelse return 1;
    const table = entries();
    for (names, 0..) |name, i| {
        const bit = @as(u64, 1) << @intCast(i);
        if (scan.settled & bit == 0) {
            switch (tables.lookup(name, hashes[i])) {
                .absent => {},
                .defer_to_dlsym => scan.settled |= bit,
                .at => |address| {
                    scan.settled |= bit;
                    table[i] = @ptrFromInt(address);
                },
            }
        }
    }
    // The dynamic linker is the last object of the initial search list.
    if (info.addr == std.c.getauxval(elf.AT_BASE)) return 1;
    return 0;
}

/// A loaded object: its load bias and the extent of its PT_LOAD segments.
const Object = struct {
    bias: usize,
    low: usize,
    high: usize,
    dynamic: ?[*]const elf.Dyn,

    fn read(info: *const std.c.dl_phdr_info) ?Object {
        var o: Object = .{ .bias = info.addr, .low = std.math.maxInt(usize), .high = 0, .dynamic = null };
        var k: usize = 0;
        while (k < info.phnum) : (k += 1) {
            const ph = info.phdr[k];
            if (ph.p_type == elf.PT_LOAD) {
                o.low = @min(o.low, info.addr +% ph.p_vaddr);
                o.high = @max(o.high, info.addr +% ph.p_vaddr +% ph.p_memsz);
            } else if (ph.p_type == elf.PT_DYNAMIC) {
                o.dynamic = @ptrFromInt(info.addr +% ph.p_vaddr);
            }
        }
        if (o.low >= o.high) return null;
        return o;
    }

    fn contains(self: Object, address: usize) bool {
        return address >= self.low and address < self.high;
    }

    /// A dynamic-section address: glibc rewrites these in place to absolute addresses when the
    /// section is writable; a read-only section keeps them relative to the load bias.
    fn pointer(self: Object, value: usize) ?usize {
        if (self.contains(value)) return value;
        if (self.contains(value +% self.bias)) return value +% self.bias;
        return null;
    }

    fn tables(self: Object) ?Tables {
        const dynamic = self.dynamic orelse return null;
        var t: Tables = .{ .bias = self.bias, .symtab = undefined, .strtab = undefined, .gnu = undefined, .versym = null };
        var have: u3 = 0;
        var k: usize = 0;
        while (k < 4096 and dynamic[k].d_tag != elf.DT_NULL) : (k += 1) {
            const value: usize = dynamic[k].d_val;
            switch (dynamic[k].d_tag) {
                elf.DT_SYMTAB => {
                    t.symtab = @ptrFromInt(self.pointer(value) orelse return null);
                    have |= 1;
                },
                elf.DT_STRTAB => {
                    t.strtab = @ptrFromInt(self.pointer(value) orelse return null);
                    have |= 2;
                },
                elf.DT_GNU_HASH => {
                    t.gnu = @ptrFromInt(self.pointer(value) orelse return null);
                    have |= 4;
                },
                elf.DT_VERSYM => t.versym = @ptrFromInt(self.pointer(value) orelse return null),
                else => {},
            }
        }
        if (have != 7) return null;
        return t;
    }
};

const Lookup = union(enum) { absent, defer_to_dlsym, at: usize };

/// An object's symbol tables, searched as glibc's do_lookup_x/check_match search them for
/// dlsym (no version asked, DL_LOOKUP_RETURN_NEWEST).
const Tables = struct {
    bias: usize,
    symtab: [*]const elf.Sym,
    strtab: [*:0]const u8,
    gnu: [*]const u32,
    versym: ?[*]const u16,

    fn lookup(self: Tables, name: [:0]const u8, hash: u32) Lookup {
        const nbuckets = self.gnu[0];
        const symoffset = self.gnu[1];
        const bloom_size = self.gnu[2];
        const bloom_shift: u5 = @truncate(self.gnu[3]);
        if (nbuckets == 0 or bloom_size == 0) return .absent;
        const bloom: [*]align(4) const usize = @ptrCast(self.gnu + 4);
        const word_bits = @bitSizeOf(usize);
        const word = bloom[(hash / word_bits) % bloom_size];
        const mask = (@as(usize, 1) << @intCast(hash % word_bits)) |
            (@as(usize, 1) << @intCast((hash >> bloom_shift) % word_bits));
        if (word & mask != mask) return .absent;
        const buckets: [*]const u32 = self.gnu + 4 + bloom_size * (@sizeOf(usize) / 4);
        const chain: [*]const u32 = buckets + nbuckets;
        var index: usize = buckets[hash % nbuckets];
        if (index < symoffset) return .absent;
        var versioned: ?usize = null;
        var versions: usize = 0;
        var rounds: usize = 0;
        while (rounds < 1 << 20) : (rounds += 1) {
            const entry = chain[index - symoffset];
            if ((entry | 1) == (hash | 1)) {
                switch (self.check(name, index)) {
                    .no => {},
                    .yes => return self.take(index),
                    .versioned => {
                        if (versions == 0) versioned = index;
                        versions += 1;
                    },
                }
            }
            if (entry & 1 != 0) break;
            index += 1;
        }
        if (versions == 1) return self.take(versioned.?);
        return .absent;
    }

    const Match = enum { no, yes, versioned };

    fn check(self: Tables, name: [:0]const u8, index: usize) Match {
        const sym = self.symtab[index];
        const kind = sym.st_type();
        if (sym.st_value == 0 and sym.st_shndx != elf.SHN_ABS and kind != elf.STT_TLS) return .no;
        const allowed = (1 << elf.STT_NOTYPE) | (1 << elf.STT_OBJECT) | (1 << elf.STT_FUNC) |
            (1 << elf.STT_COMMON) | (1 << elf.STT_TLS) | (1 << elf.STT_GNU_IFUNC);
        if ((@as(u32, 1) << kind) & allowed == 0) return .no;
        if (!std.mem.orderZ(u8, self.strtab + sym.st_name, name.ptr).compare(.eq)) return .no;
        const versym = self.versym orelse return .yes;
        const v = versym[index];
        if (v & 0x7fff < 2) return .yes;
        // A versioned definition: only the default (not hidden) one counts.
        return if (v & 0x8000 == 0) .versioned else .no;
    }

    fn take(self: Tables, index: usize) Lookup {
        const sym = self.symtab[index];
        switch (sym.st_bind()) {
            elf.STB_GLOBAL, elf.STB_WEAK => {},
            elf.STB_GNU_UNIQUE => return .defer_to_dlsym,
            else => return .absent,
        }
        const kind = sym.st_type();
        if (kind == elf.STT_GNU_IFUNC or kind == elf.STT_TLS or sym.st_shndx == elf.SHN_ABS) {
            return .defer_to_dlsym;
        }
        return .{ .at = self.bias +% sym.st_value };
    }
};

/// The real function for `name`, resolving it now if the constructor has not run yet.
pub inline fn get(comptime name: [:0]const u8) @FieldType(Fns, name) {
    if (@field(fns, name)) |f| return f;
    const f: @FieldType(Fns, name) = @ptrCast(@alignCast(dlsym(RTLD_NEXT, name.ptr)));
    @field(fns, name) = f;
    return f;
}

test "GNU hashes match the values of the format's description" {
    try std.testing.expectEqual(@as(u32, 5381), gnuHash(""));
    try std.testing.expectEqual(@as(u32, 0x156b2bb8), gnuHash("printf"));
    try std.testing.expectEqual(@as(u32, 0x7c967e3f), gnuHash("exit"));
    try std.testing.expectEqual(@as(u32, 0xbac212a0), gnuHash("syscall"));
}

test "the one-pass lookup finds what dlsym(RTLD_NEXT) finds, for every real function" {
    defer fns = .{};
    fns = .{};
    resolveByScan();
    var found: usize = 0;
    inline for (std.meta.fields(Fns)) |field| {
        const expected: ?*anyopaque = dlsym(RTLD_NEXT, field.name);
        const got: ?*anyopaque = @constCast(@ptrCast(@field(fns, field.name)));
        if (got != null) {
            found += 1;
            try std.testing.expectEqual(expected, got);
        }
    }
    // glibc defines all of them, none as IFUNC: the pass settles every one itself.
    try std.testing.expectEqual(names.len, found);
}

test "versioned functions resolve to their default version, as dlsym does" {
    defer fns = .{};
    fns = .{};
    resolveByScan();
    // posix_spawn has a hidden GLIBC_2.2.5 version and the default GLIBC_2.15 one.
    const expected: ?*anyopaque = dlsym(RTLD_NEXT, "posix_spawn");
    try std.testing.expect(expected != null);
    try std.testing.expectEqual(expected, @as(?*anyopaque, @constCast(@ptrCast(fns.posix_spawn))));
}

test "the lookup pass records the file name of the object it started from" {
    defer fns = .{};
    self_name = null;
    resolveByScan();
    // From the test program itself, the main program: the dynamic loader names it "".
    try std.testing.expect(self_name != null);
    try std.testing.expectEqualStrings("", std.mem.span(self_name.?));
}
