//! Unit tests of the pure parts (encoding, decoding, configuration, policy matching).
//! Run with `zig build test`.
test {
    _ = @import("sys.zig");
    _ = @import("real.zig");
    _ = @import("json.zig");
    _ = @import("event.zig");
    _ = @import("config.zig");
    _ = @import("envp.zig");
    _ = @import("open_flags.zig");
    _ = @import("sockaddr.zig");
    _ = @import("policy.zig");
    _ = @import("process_id.zig");
}
