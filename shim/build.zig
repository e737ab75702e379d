//! Builds libauditshim.so, the LD_PRELOAD audit shim, and its unit tests.
const std = @import("std");

pub fn build(b: *std.Build) void {
    // Baseline CPU: the library is loaded into every program in the container, which may run on
    // another machine than the one that built it.
    const target = b.standardTargetOptions(.{
        .default_target = .{ .cpu_model = .baseline, .abi = .gnu },
    });
    // ReleaseFast by default: a safety check that fails in ReleaseSafe panics, and a panic kills
    // the audited program. The code bounds its indexes and loops itself instead (docs/shim.md).
    const optimize = b.option(
        std.builtin.OptimizeMode,
        "optimize",
        "Optimization mode (default ReleaseFast)",
    ) orelse .ReleaseFast;

    const module = b.createModule(.{
        .root_source_file = b.path("src/root.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .pic = true,
        // Stack traces and unwinding would need allocation and are never printed in a host program.
        .error_tracing = false,
        .omit_frame_pointer = false,
    });
    const library = b.addLibrary(.{
        .linkage = .dynamic,
        .name = "auditshim",
        .root_module = module,
    });
    // Two segments, code in the order it runs, the written state on one page: fewer page faults
    // when the library is loaded into a process and when its hooks run in a fork child
    // (layout.ld, docs/shim.md "Library layout"). Needs one section per function and variable.
    library.link_function_sections = true;
    library.link_data_sections = true;
    library.setLinkerScript(b.path("layout.ld"));
    b.installArtifact(library);

    const unit_module = b.createModule(.{
        .root_source_file = b.path("src/unit_tests.zig"),
        .target = target,
        .optimize = .Debug,
        .link_libc = true,
    });
    const unit_tests = b.addTest(.{ .root_module = unit_module });
    const run_unit_tests = b.addRunArtifact(unit_tests);
    b.step("test", "Run the shim's unit tests").dependOn(&run_unit_tests.step);
}
