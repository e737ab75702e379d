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
    const decoded = sockaddr.decode(addr, len) orelse return;
    report.emit(
        .Connect,
        ConnectPayload{ .call = call, .fd = fd, .decoded = decoded, .err = if (failed) err else 0 },
    );
}

/// connect: every stream connection and connected datagram socket.
fn hookConnect(fd: c_int, addr: real.Sockaddr, len: u32) callconv(.c) c_int {
    switch (policy.decideConnect("connect", addr, len)) {
        .allow => {},
        .deny => |e| {
            sys.setErrno(e);
            return -1;
        },
    }
    const f = real.get("connect") orelse {
        sys.setErrno(ENOSYS);
        return -1;
    };
    const rc = f(fd, addr, len);
    const err = sys.getErrno();
    reportConnect("connect", fd, addr, len, rc != 0, err);
    sys.setErrno(err);
    return rc;
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
    if (addr != null and len > 0) {
        switch (policy.decideConnect("sendto", addr, len)) {
            .allow => {},
            .deny => |e| {
                sys.setErrno(e);
                return -1;
            },
        }
    }
    const f = real.get("sendto") orelse {
        sys.setErrno(ENOSYS);
        return -1;
    };
    const rc = f(fd, buf, n, flags, addr, len);
    if (addr == null or len == 0) return rc;
    const err = sys.getErrno();
    reportConnect("sendto", fd, addr, len, rc < 0, err);
    sys.setErrno(err);
    return rc;
}

/// sendmsg with msg_name: the same for scatter/gather senders (DNS libraries, QUIC, syslog).
fn hookSendmsg(fd: c_int, msg: ?*const std.os.linux.msghdr_const, flags: c_int) callconv(.c) isize {
    const name: real.Sockaddr = if (msg) |m| @ptrCast(m.name) else null;
    const len: u32 = if (msg) |m| m.namelen else 0;
    if (name != null and len > 0) {
        switch (policy.decideConnect("sendmsg", name, len)) {
            .allow => {},
            .deny => |e| {
                sys.setErrno(e);
                return -1;
            },
        }
    }
    const f = real.get("sendmsg") orelse {
        sys.setErrno(ENOSYS);
        return -1;
    };
    const rc = f(fd, msg, flags);
    if (name == null or len == 0) return rc;
    const err = sys.getErrno();
    reportConnect("sendmsg", fd, name, len, rc < 0, err);
    sys.setErrno(err);
    return rc;
}

comptime {
    @export(&hookConnect, .{ .name = "connect" });
    @export(&hookSendto, .{ .name = "sendto" });
    @export(&hookSendmsg, .{ .name = "sendmsg" });
}
