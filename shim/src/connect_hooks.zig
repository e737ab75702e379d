//! Connect hooks, reported after the call with its result. connect() covers stream sockets;
//! sendto()/sendmsg() with a destination cover connectionless sockets (UDP, Unix datagrams), which
//! reach a peer without ever calling connect().
const std = @import("std");
const sys = @import("sys.zig");
const json = @import("json.zig");
const real = @import("real.zig");
const report = @import("report.zig");
const policy = @import("decision.zig");
const sockaddr = @import("sockaddr.zig");

const ENOSYS: c_int = 38;
const EFAULT: c_int = 14;

const ConnectPayload = struct {
    call: []const u8,
    fd: c_int,
    decoded: sockaddr.Decoded,
    err: c_int,

    pub fn write(self: *const ConnectPayload, w: *json.Writer) void {
        w.raw("\"call\":\"");
        w.raw(self.call);
        w.raw("\",\"fd\":");
        w.int(@max(self.fd, 0));
        w.byte(',');
        if (self.err > 0 and self.err < 4096) {
            w.key("errno");
            w.int(self.err);
            w.byte(',');
        }
        sockaddr.write(w, &self.decoded);
    }
};

fn reportConnect(
    call: []const u8,
    fd: c_int,
    addr: real.Sockaddr,
    len: u32,
    failed: bool,
    err: c_int,
) void {
    // The kernel could not read the address (or, for sendto/sendmsg, the data): the address may
    // be unreadable, and decoding it would crash the program where the real call returned.
    if (failed and err == EFAULT) return;
    const decoded = sockaddr.decode(addr, len) orelse return;
    report.emit(
        .Connect,
        ConnectPayload{ .call = call, .fd = fd, .decoded = decoded, .err = if (failed) err else 0 },
    );
}

/// Where a call sends: the socket and the destination address as the caller gave it.
const Peer = struct { fd: c_int, addr: real.Sockaddr, len: u32 };

/// connect, and sendto/sendmsg with a destination: the policy decides on the address before the
/// real call (`args` are its arguments, `R` its result type), the event reports the address with
/// the result, and the caller sees the real call's errno. Without a destination (a send on a
/// connected socket) only the real call runs, so a busy socket's sends cost nothing extra.
fn toPeer(comptime call: [:0]const u8, comptime R: type, peer: Peer, args: anytype) R {
    const named = peer.addr != null and peer.len > 0;
    if (named) {
        switch (policy.decideConnect(call, peer.addr, peer.len)) {
            .allow => {},
            .deny => |e| {
                sys.setErrno(e);
                return -1;
            },
        }
    }
    const f = real.get(call) orelse {
        sys.setErrno(ENOSYS);
        return -1;
    };
    const rc = @call(.auto, f, args);
    if (!named) return rc;
    const err = sys.getErrno();
    reportConnect(call, peer.fd, peer.addr, peer.len, rc < 0, err);
    sys.setErrno(err);
    return rc;
}

/// connect: every stream connection and connected datagram socket.
fn hookConnect(fd: c_int, addr: real.Sockaddr, len: u32) callconv(.c) c_int {
    return toPeer("connect", c_int, .{ .fd = fd, .addr = addr, .len = len }, .{ fd, addr, len });
}

/// sendto with a destination: a datagram to a peer without connect() (UDP, Unix datagrams).
fn hookSendto(
    fd: c_int,
    buf: ?*const anyopaque,
    n: usize,
    flags: c_int,
    addr: real.Sockaddr,
    len: u32,
) callconv(.c) isize {
    const peer: Peer = .{ .fd = fd, .addr = addr, .len = len };
    return toPeer("sendto", isize, peer, .{ fd, buf, n, flags, addr, len });
}

/// sendmsg with msg_name: the same for scatter/gather senders (DNS libraries, QUIC, syslog).
fn hookSendmsg(fd: c_int, msg: ?*const std.os.linux.msghdr_const, flags: c_int) callconv(.c) isize {
    const name: real.Sockaddr = if (msg) |m| @ptrCast(m.name) else null;
    const len: u32 = if (msg) |m| m.namelen else 0;
    return toPeer("sendmsg", isize, .{ .fd = fd, .addr = name, .len = len }, .{ fd, msg, flags });
}

/// Most messages one sendmmsg call sends (the kernel's UIO_MAXIOV): the bound of the hook's loops.
const max_mmsg: usize = 1024;

/// sendmmsg: sendmsg for a batch of datagrams (QUIC, DNS, syslog senders), each with its own
/// destination. The policy looks at each destination in order; the messages before the first
/// denied one are sent (a short count, as when the kernel stops at a failing message), and a
/// denied first message fails the call. Each sent message with a destination is reported, and
/// on failure the first one, with the errno.
fn hookSendmmsg(
    fd: c_int,
    vec: ?[*]std.os.linux.mmsghdr_const,
    vlen: c_uint,
    flags: c_int,
) callconv(.c) c_int {
    const f = real.get("sendmmsg") orelse {
        sys.setErrno(ENOSYS);
        return -1;
    };
    const msgs = vec orelse return f(fd, vec, vlen, flags);
    const n: usize = @min(vlen, max_mmsg);
    var allowed: usize = n;
    var i: usize = 0;
    while (i < n) : (i += 1) {
        const h = &msgs[i].hdr;
        if (h.name == null or h.namelen == 0) continue;
        switch (policy.decideConnect("sendmmsg", @ptrCast(h.name), h.namelen)) {
            .allow => {},
            .deny => |e| {
                if (i == 0) {
                    sys.setErrno(e);
                    return -1;
                }
                allowed = i;
                break;
            },
        }
    }
    const count: c_uint = if (allowed < n) @intCast(allowed) else vlen;
    const rc = f(fd, vec, count, flags);
    const err = sys.getErrno();
    // Sent messages; on failure the first message, which the error is about.
    const reported: usize = if (rc >= 0) @min(@as(usize, @intCast(rc)), n) else @min(n, 1);
    i = 0;
    while (i < reported) : (i += 1) {
        const h = &msgs[i].hdr;
        if (h.name == null or h.namelen == 0) continue;
        reportConnect("sendmmsg", fd, @ptrCast(h.name), h.namelen, rc < 0, err);
    }
    sys.setErrno(err);
    return rc;
}

comptime {
    @export(&hookSendmmsg, .{ .name = "sendmmsg" });
    @export(&hookConnect, .{ .name = "connect" });
    @export(&hookSendto, .{ .name = "sendto" });
    @export(&hookSendmsg, .{ .name = "sendmsg" });
}
