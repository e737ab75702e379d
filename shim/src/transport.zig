//! Transport: one SOCK_STREAM connection per process to the collector, raw syscalls only.
//!
//! - Whole lines: each event is one send() of one complete line while holding the process's
//!   writer lock, so lines of different threads never interleave. The lock is a futex word holding
//!   the owner's tid; it is never waited on by its own holder (a signal handler that emits while
//!   its thread holds the lock sends on a one-shot connection instead) and it is reset in a fork
//!   child, so it can never deadlock across fork or signals. Waiting for it is bounded.
//! - The socket is O_CLOEXEC, moved to fd >= 900, and before each use checked with one
//!   fcntl(F_GETFL) against the status flags the shim marked it with at connect (`markConnection`;
//!   fstat of device and inode when the flags differ or could not be set): if the program closed
//!   it or dup2()ed something over it, the fd is left alone (it is the program's now) and a new
//!   connection is made. Nothing is closed without the device/inode proof.
//! - A fork child never writes on its parent's connection (issue 4, rule 5): the pthread_atfork
//!   child handler gives it a fresh lock, seq and drop count and no connection. Its copy of the
//!   parent's socket is closed when it makes a connection of its own, or by its exec (O_CLOEXEC),
//!   whichever comes first: a shell's child that only execs sends its Exec event on a one-shot
//!   connection and never pays for the close. A line goes on the process connection only when it
//!   fits one kernel message (`line_max`), so a timeout can never leave half a line on it; larger
//!   lines go on a one-shot connection. A process that does not own the state (a vfork child
//!   sharing the parent's memory, a child of _Fork or of a raw fork or clone) never touches it and
//!   sends on one-shot connections.
//! - Collector restarted: a send that finds the connection broken goes once more on a new one.
//! - Collector absent: a reconnect is tried at most once per CONTAINAI_AUDIT_RECONNECT_MS; events
//!   in between are counted as dropped without being encoded. Collector stalled: the first send
//!   waits for room (poll, never a blocking send) at most CONTAINAI_AUDIT_SEND_TIMEOUT_MS, which
//!   SO_SNDTIMEO also bounds connect() with; later events are dropped at once until
//!   the collector has read everything queued (SIOCOUTQ is 0). Drops are reported in `dropped` on
//!   the next delivered event.
const std = @import("std");
const linux = std.os.linux;
const sys = @import("sys.zig");
const json = @import("json.zig");
const event = @import("event.zig");
const config = @import("config.zig");
const process_id = @import("process_id.zig");

const fd_floor: usize = 900;
const F_DUPFD_CLOEXEC: i32 = 1030;
/// Bytes written to a socket and not yet read by the peer (Unix sockets: queued skbs).
const SIOCOUTQ: u32 = 0x5411;
const EAGAIN: u16 = @intFromEnum(linux.E.AGAIN);
const EINTR: u16 = @intFromEnum(linux.E.INTR);

var lock_word = std.atomic.Value(i32).init(0);
var lock_waiters = std.atomic.Value(u32).init(0);
/// A lock owner that held the lock longer than the wait bound, or 0.
var stuck_owner = std.atomic.Value(i32).init(0);
var seq = std.atomic.Value(u64).init(0);
var dropped = std.atomic.Value(u64).init(0);
var stalled = std.atomic.Value(bool).init(false);
var connected = std.atomic.Value(bool).init(false);
/// Monotonic ns before which no reconnect is tried.
var retry_at = std.atomic.Value(u64).init(0);

// Guarded by lock_word. conn_fd is set to -1 by `init`, before any use: a non-zero initial
// value would put it in a .data section, a page fault in every process.
var conn_fd: i32 = 0;
/// Device and inode of conn_fd's socket; in a fork child until it connects, of `inherited_fd`'s.
var conn_dev: u64 = 0;
var conn_ino: u64 = 0;
/// In a fork child: its copy of the parent's connection, never written on; closed when the child
/// makes its own connection (the exec closes it otherwise). -1 when none (set by `init`).
var inherited_fd: i32 = 0;
/// The connection's file status flags with the shim's mark (`markConnection`), or 0.
var conn_marked_flags: usize = 0;
/// The longest line one send() on conn_fd queues as a single kernel message (one skb), so that a
/// send is queued whole or not at all and a timeout never leaves part of a line on the
/// connection: a Unix stream send is cut into pieces of at most min(SO_SNDBUF / 2 - 64, about
/// 36 KiB) (net/unix/af_unix.c, unix_stream_sendmsg), each queued whole. Read from the socket at
/// connect; 0 = unknown, then every line goes on a one-shot connection.
var line_max: u32 = 0;
/// The ~36 KiB piece limit minus the page-sized linear part, which is smaller on some kernels.
const piece_max: u32 = 32 * 1024;

/// Events of processes that do not own the state (vfork children, raw clones) are numbered here,
/// keyed by pid, so that each of them still counts from 0.
const foreign_count = 16;
var foreign_pid = [_]std.atomic.Value(i32){.init(0)} ** foreign_count;
var foreign_seq = [_]std.atomic.Value(u64){.init(0)} ** foreign_count;

pub fn init() void {
    conn_fd = -1;
    inherited_fd = -1;
}

/// pthread_atfork child handler: the child starts with its own seq, drop count and lock, and no
/// connection: it never writes on its parent's (the module comment says when the copy is closed).
pub fn resetAfterFork() void {
    // Closing the copy here would cost every fork child two system calls (the identity check and
    // the close); most of them exec, which closes it for free.
    if (conn_fd >= 0) inherited_fd = conn_fd;
    conn_fd = -1;
    conn_marked_flags = 0;
    line_max = 0;
    connected.store(false, .release);
    fork_pending.store(0, .release);
    low_fd_holders.store(0, .release);
    // The child's first send may wait the timeout again rather than drop at once: most fork
    // children exec, and a drop count does not survive the exec.
    stalled.store(false, .release);
    retry_at.store(0, .release);
    seq.store(0, .release);
    dropped.store(0, .release);
    lock_waiters.store(0, .release);
    stuck_owner.store(0, .release);
    lock_word.store(0, .release);
    // The cached tid is not adopted here: thread-local storage is reached through
    // __tls_get_addr, a page fault in a fork child, and most fork children only exec.
}

/// Threads between socket() and the move of the new socket above fd 900, and whether a fork is
/// waiting for them: a fork child must not inherit a socket of the shim at a low descriptor
/// (its next open() would get another number than without the shim).
var low_fd_holders = std.atomic.Value(u32).init(0);
var fork_pending = std.atomic.Value(u32).init(0);
/// Bound of each wait on the other side (yields): a thread stopped in the window must not stop
/// a fork, a fork must not stop a send, for longer than about a millisecond.
const low_fd_wait_rounds: u32 = 1000;

/// pthread_atfork prepare handler: new sockets wait while the fork is made, and the fork waits
/// (bounded) for those already being created.
pub fn beforeFork() void {
    fork_pending.store(1, .release);
    var rounds: u32 = 0;
    while (low_fd_holders.load(.acquire) != 0 and rounds < low_fd_wait_rounds) : (rounds += 1) {
        _ = linux.sched_yield();
    }
}

/// pthread_atfork parent handler.
pub fn afterForkParent() void {
    fork_pending.store(0, .release);
}

fn enterLowFdWindow() void {
    var rounds: u32 = 0;
    while (rounds < low_fd_wait_rounds) : (rounds += 1) {
        if (fork_pending.load(.acquire) == 0) {
            _ = low_fd_holders.fetchAdd(1, .acq_rel);
            if (fork_pending.load(.acquire) == 0) return;
            _ = low_fd_holders.fetchSub(1, .acq_rel);
        }
        _ = linux.sched_yield();
    }
    // A fork that did not finish within the bound (a stopped thread): go on regardless.
    _ = low_fd_holders.fetchAdd(1, .acq_rel);
}

fn leaveLowFdWindow() void {
    _ = low_fd_holders.fetchSub(1, .acq_rel);
}

/// Cheap check before encoding: while the collector is unreachable and no reconnect is due, the
/// event is counted as dropped and not encoded at all. Returns whether to encode and send.
pub fn admit(pid: i32) bool {
    if (!process_id.isOwner(pid)) return true;
    if (connected.load(.acquire)) return true;
    // No pause pending (a fresh fork child): no need to read the clock.
    const pause_until = retry_at.load(.monotonic);
    if (pause_until == 0 or sys.monotonicNs() >= pause_until) return true;
    _ = seq.fetchAdd(1, .monotonic);
    _ = dropped.fetchAdd(1, .monotonic);
    return false;
}

/// Sends an Exec event. A process that has no connection yet (the common case: a shell's forked
/// child) sends it on a one-shot connection: it is about to be replaced by the exec, so recording
/// a connection's identity would be wasted system calls.
pub fn sendBeforeExec(w: *json.Writer, process: sys.Ids) void {
    if (!process_id.isOwner(process.pid) or connected.load(.acquire)) {
        send(w, process);
        return;
    }
    const n = seq.fetchAdd(1, .monotonic);
    const owed = dropped.swap(0, .acq_rel);
    event.close(w, n, owed);
    if (w.overflow or !sendOneShot(w.written(), !stalled.load(.monotonic))) {
        _ = dropped.fetchAdd(owed + 1, .monotonic);
        const pause = @as(u64, config.current.reconnect_ms) * std.time.ns_per_ms;
        retry_at.store(sys.monotonicNs() + pause, .monotonic);
    }
}

/// Counts an event that could not even be encoded: its seq number is skipped and it is reported
/// in `dropped` with the next delivered event of this process.
pub fn countDropped() void {
    _ = seq.fetchAdd(1, .monotonic);
    _ = dropped.fetchAdd(1, .monotonic);
}

/// Closes the event in `w` with seq/dropped and delivers it as one line.
pub fn send(w: *json.Writer, ids: sys.Ids) void {
    if (!process_id.isOwner(ids.pid)) {
        sendForeign(w, ids.pid);
        return;
    }
    if (lock_word.load(.acquire) == ids.tid) {
        // A signal handler interrupted this thread inside send(): waiting for the lock would
        // deadlock and writing on the connection could split the line in flight.
        sendNested(w);
        return;
    }
    if (!lock(ids.tid)) {
        // The holder did not let go within the bound (stopped, or a signal handler jumped out of
        // a send with siglongjmp): this event goes on a connection of its own instead.
        sendNested(w);
        return;
    }
    // Held from here on, except in the child of a fork() made by a signal handler that interrupted
    // this hook: its fork handler freed the lock, and the child (one thread) finishes the send.
    defer unlock(ids.tid);
    const n = seq.fetchAdd(1, .monotonic);
    if (!ensureConnected()) {
        _ = dropped.fetchAdd(1, .monotonic);
        return;
    }
    // Read first, and swapped only when non-zero: the usual event then makes no locked
    // read-modify-write here. A drop counted after the read is reported with the next event, as
    // one counted after a swap would be.
    const owed = if (dropped.load(.acquire) == 0) 0 else dropped.swap(0, .acq_rel);
    event.close(w, n, owed);
    if (!w.overflow) {
        if (sendLine(w.written())) return;
        // A broken connection (the collector restarted; sendLine has closed it): the line goes
        // once more on a new one. Without this a restart would cost the next event of every
        // process, and a fork child that inherited the dead connection would lose its Exec event
        // together with the drop count (the exec starts a new count).
        if (!connected.load(.acquire) and ensureConnected() and sendLine(w.written())) return;
    }
    _ = dropped.fetchAdd(owed + 1, .monotonic);
}

fn sendForeign(w: *json.Writer, pid: i32) void {
    const i: usize = @as(u32, @bitCast(pid)) % foreign_count;
    if (foreign_pid[i].swap(pid, .acq_rel) != pid) foreign_seq[i].store(0, .release);
    const n = foreign_seq[i].fetchAdd(1, .monotonic);
    event.close(w, n, 0);
    if (!w.overflow) _ = sendOneShot(w.written(), !stalled.load(.monotonic));
}

fn sendNested(w: *json.Writer) void {
    const n = seq.fetchAdd(1, .monotonic);
    event.close(w, n, 0);
    if (w.overflow or !sendOneShot(w.written(), !stalled.load(.monotonic))) {
        _ = dropped.fetchAdd(1, .monotonic);
    }
}

fn lock(tid: i32) bool {
    // A holder that already outlasted one full wait is not waited for again.
    const stuck = stuck_owner.load(.monotonic);
    if (stuck != 0 and lock_word.load(.acquire) == stuck) return false;
    var deadline: u64 = 0;
    var rounds: u32 = 0;
    while (rounds < 100_000) : (rounds += 1) {
        const owner = lock_word.cmpxchgStrong(0, tid, .acquire, .monotonic) orelse return true;
        const now = sys.monotonicNs();
        if (deadline == 0) {
            deadline = now + 4 * @as(u64, config.current.send_timeout_ms) * std.time.ns_per_ms;
        } else if (now > deadline) {
            stuck_owner.store(owner, .monotonic);
            return false;
        }
        _ = lock_waiters.fetchAdd(1, .acq_rel);
        const timeout: linux.timespec = .{ .sec = 0, .nsec = 10 * std.time.ns_per_ms };
        _ = linux.futex_wait(
            &lock_word.raw,
            linux.FUTEX.WAIT | linux.FUTEX.PRIVATE_FLAG,
            owner,
            &timeout,
        );
        _ = lock_waiters.fetchSub(1, .acq_rel);
    }
    return false;
}

fn unlock(tid: i32) void {
    // A holder once judged stuck that let go normally is waited for again next time.
    if (stuck_owner.load(.monotonic) == tid) stuck_owner.store(0, .monotonic);
    lock_word.store(0, .release);
    if (lock_waiters.load(.acquire) > 0) {
        _ = linux.futex_wake(&lock_word.raw, linux.FUTEX.WAKE | linux.FUTEX.PRIVATE_FLAG, 1);
    }
}

/// Whether `fd` still holds the connection. With the flag signature (`marked`) one fcntl
/// compares the file status flags; otherwise fstat compares device and inode.
fn stillOurs(fd: i32) bool {
    if (conn_marked_flags != 0) {
        if (linux.fcntl(fd, linux.F.GETFL, 0) == conn_marked_flags) return true;
        // Other flags do not prove another descriptor: the program may have changed the shim's
        // own socket's flags (F_SETFL O_NONBLOCK on every descriptor it has). Taking that for a
        // closed or replaced descriptor would leave the socket open, unused, at each such pass.
        if (!sameSocket(fd)) return false;
        conn_marked_flags = markConnection(fd);
        return true;
    }
    return sameSocket(fd);
}

/// The exact identity: device and inode of the socket recorded at connect.
fn sameSocket(fd: i32) bool {
    var st: linux.Stat = undefined;
    if (sys.errnoOf(linux.fstat(fd, &st)) != 0) return false;
    return st.dev == conn_dev and st.ino == conn_ino;
}

/// Marks the connection's open file description with O_APPEND | O_NOATIME, status flags that
/// change nothing for a socket and that no program sets on one, and returns the flags read back
/// (0: not marked, the identity check then uses fstat). Checking them costs one fcntl per event
/// instead of an fstat (about 180 ns instead of 320 here). A program's own socket put on the
/// shim's descriptor number would have to carry both flags to be taken for the connection; the
/// close after a failed send still checks device and inode (`disconnect`), so the shim can never
/// close a descriptor of the program.
fn markConnection(fd: i32) usize {
    const mark: usize = @as(u32, @bitCast(linux.O{ .ACCMODE = .RDWR, .APPEND = true, .NOATIME = true }));
    if (sys.errnoOf(linux.fcntl(fd, linux.F.SETFL, mark)) != 0) return 0;
    const flags = linux.fcntl(fd, linux.F.GETFL, 0);
    if (sys.errnoOf(flags) != 0 or flags & mark != mark) return 0;
    return flags;
}

fn disconnect(close_fd: bool) void {
    // Closed only when device and inode prove it is still the shim's socket (the flag check
    // alone is not proof enough to close a descriptor).
    if (close_fd and conn_fd >= 0 and sameSocket(conn_fd)) sys.close(conn_fd);
    conn_fd = -1;
    conn_marked_flags = 0;
    connected.store(false, .release);
}

fn ensureConnected() bool {
    if (conn_fd >= 0) {
        if (stillOurs(conn_fd)) return true;
        // Closed by the program (close_range, closefrom) or replaced (dup2): the number is the
        // program's now, so it is not closed; reconnect at once.
        disconnect(false);
        retry_at.store(0, .monotonic);
    }
    const now = sys.monotonicNs();
    if (now < retry_at.load(.monotonic)) return false;
    closeInherited();
    const fd = openConnection() orelse {
        const pause = @as(u64, config.current.reconnect_ms) * std.time.ns_per_ms;
        retry_at.store(now + pause, .monotonic);
        return false;
    };
    var st: linux.Stat = undefined;
    if (sys.errnoOf(linux.fstat(fd, &st)) != 0) {
        sys.close(fd);
        return false;
    }
    conn_fd = fd;
    conn_dev = st.dev;
    conn_ino = st.ino;
    conn_marked_flags = markConnection(fd);
    line_max = singleMessageMax(fd);
    stalled.store(false, .release);
    connected.store(true, .release);
    return true;
}

/// A fork child about to make its own connection closes its copy of the parent's, so that it
/// holds one shim socket, not two. Only if it still is that socket: the program may have closed
/// the number or put a descriptor of its own there.
fn closeInherited() void {
    if (inherited_fd < 0) return;
    if (sameSocket(inherited_fd)) sys.close(inherited_fd);
    inherited_fd = -1;
}

/// The longest line a send on `fd` queues as one kernel message; 0 when SO_SNDBUF is unreadable.
fn singleMessageMax(fd: i32) u32 {
    var sndbuf: i32 = 0;
    var len: u32 = @sizeOf(i32);
    const rc = linux.getsockopt(fd, linux.SOL.SOCKET, linux.SO.SNDBUF, std.mem.asBytes(&sndbuf), &len);
    if (sys.errnoOf(rc) != 0 or len != @sizeOf(i32) or sndbuf < 256) return 0;
    const half: u32 = @as(u32, @intCast(sndbuf)) / 2 - 64;
    return @min(half, piece_max);
}

/// A connected socket to the collector at fd 900 or above, or null. It is moved up at once,
/// before the (possibly blocking) connect: while it sits at a low number, an open() of another
/// thread gets a different descriptor than without the shim, and a fork child inherits it.
fn openConnection() ?i32 {
    const cfg = &config.current;
    enterLowFdWindow();
    const rc = linux.socket(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.CLOEXEC, 0);
    if (sys.errnoOf(rc) != 0) {
        leaveLowFdWindow();
        return null;
    }
    var fd: i32 = @intCast(rc);
    const high = linux.fcntl(fd, F_DUPFD_CLOEXEC, fd_floor);
    // With RLIMIT_NOFILE <= 900 the socket stays where it is.
    if (sys.errnoOf(high) == 0) {
        sys.close(fd);
        fd = @intCast(high);
    }
    leaveLowFdWindow();
    // The timeout also bounds connect(), which blocks when a stalled collector's backlog is full.
    const ms = cfg.send_timeout_ms;
    const tv: linux.timeval = .{ .sec = @intCast(ms / 1000), .usec = @intCast((ms % 1000) * 1000) };
    _ = linux.setsockopt(
        fd,
        linux.SOL.SOCKET,
        linux.SO.SNDTIMEO,
        std.mem.asBytes(&tv),
        @sizeOf(linux.timeval),
    );
    var addr: linux.sockaddr.un = .{ .family = linux.AF.UNIX, .path = [_]u8{0} ** 108 };
    sys.copyBytes(&addr.path, &cfg.socket_path, cfg.socket_len);
    const len: u32 = @intCast(@offsetOf(linux.sockaddr.un, "path") + cfg.socket_len + 1);
    if (sys.errnoOf(linux.connect(fd, &addr, len)) != 0) {
        sys.close(fd);
        return null;
    }
    return fd;
}

/// Sends one whole line on the process connection. A line is either delivered whole or not at
/// all: it fits one kernel message (`line_max`), queued whole or not at all; a longer line goes
/// on a one-shot connection, where a timeout can cut it as the last thing on that connection.
/// The partial-write handling below is kept for a kernel that splits anyway.
fn sendLine(bytes: []const u8) bool {
    if (!sys.invariant(bytes.len > 0 and bytes[bytes.len - 1] == '\n')) return false;
    // Connected by the caller; only a fork() made by a signal handler that interrupted this send
    // resets it in the child, which then retries on a connection of its own (see `send`).
    if (conn_fd < 0) return false;
    var wait = true;
    if (stalled.load(.monotonic)) {
        // Stalled: drop without trying until the collector has read everything queued, so that a
        // collector that drains slowly does not make every other send wait the timeout again.
        var queued: c_int = 0;
        const rc = linux.ioctl(conn_fd, SIOCOUTQ, @intFromPtr(&queued));
        if (sys.errnoOf(rc) == 0 and queued > 0) return false;
        wait = sys.errnoOf(rc) == 0;
    }
    // A line queued in pieces could be cut by the timeout, leaving half a line on the connection.
    if (bytes.len > line_max) {
        if (sendOneShot(bytes, wait)) return true;
        // Most likely the collector's backlog is full: later lines drop at once, as above.
        stalled.store(true, .monotonic);
        return false;
    }
    const sent = sendAll(conn_fd, bytes, wait);
    if (sent.bytes == bytes.len) {
        stalled.store(false, .monotonic);
        return true;
    }
    if (sent.bytes == 0 and sent.err == EAGAIN) {
        // Timed out (or would block while stalled) before writing anything: the stream is intact.
        stalled.store(true, .monotonic);
        return false;
    }
    // Broken connection, or a line cut in the middle: start over on a new connection.
    disconnect(true);
    retry_at.store(0, .monotonic);
    return false;
}

fn timeoutNs() u64 {
    return @as(u64, config.current.send_timeout_ms) * std.time.ns_per_ms;
}

const Sent = struct { bytes: usize, err: u16 };

/// Writes `bytes` to `fd` without ever blocking inside the kernel: each send is MSG_DONTWAIT, and
/// while the socket is full, poll() waits for room, at most the send timeout in total (`wait`
/// false: none before the first byte). SO_SNDTIMEO alone is not enough: another thread of the
/// program can put its own socket on the descriptor between the identity check and the send (a
/// raw dup2 no hook sees); that socket has no send timeout, and a blocking send into it could
/// wait for ever, hanging the program.
fn sendAll(fd: i32, bytes: []const u8, wait: bool) Sent {
    var off: usize = 0;
    var err: u16 = 0;
    var deadline: u64 = 0;
    var rounds: u32 = 0;
    const flags: u32 = linux.MSG.NOSIGNAL | linux.MSG.DONTWAIT;
    while (off < bytes.len and rounds < 4096) : (rounds += 1) {
        const rc = linux.sendto(fd, bytes.ptr + off, bytes.len - off, flags, null, 0);
        err = sys.errnoOf(rc);
        if (err == 0) {
            off += rc;
            continue;
        }
        if (err != EAGAIN and err != EINTR) break;
        err = EAGAIN;
        if (!wait and off == 0) break;
        const now = sys.monotonicNs();
        if (deadline == 0) deadline = now + timeoutNs();
        if (now >= deadline) break;
        const left_ms = @min((deadline - now + std.time.ns_per_ms - 1) / std.time.ns_per_ms, 10_000);
        var poll_fds = [1]linux.pollfd{.{ .fd = fd, .events = linux.POLL.OUT, .revents = 0 }};
        // Woken early by a signal or by room for less than the line: the loop tries again.
        _ = linux.poll(&poll_fds, 1, @intCast(left_ms));
    }
    return .{ .bytes = off, .err = err };
}

/// Sends a line on a connection of its own, closed right after (a timeout can cut the line only
/// there, as the last thing on it). `wait` false: no waiting for room before the first byte.
fn sendOneShot(bytes: []const u8, wait: bool) bool {
    const fd = openConnection() orelse return false;
    defer sys.close(fd);
    return sendAll(fd, bytes, wait).bytes == bytes.len;
}
