/**
 * The command-line entry of ContainAI audit. It only dispatches: each
 * subcommand lives in the folder of the part it drives.
 *
 * @module
 */
import { collectCommand } from "./collector/mod.ts";
import { runCommand } from "./runner/mod.ts";
import { probeCommand } from "./ffi/mod.ts";
import { buildCommand } from "./toolchain/mod.ts";
import { buildImageCommand } from "./container/mod.ts";
import { schemaCommand } from "./protocol/schema_command.ts";

/** A subcommand: takes its own arguments, returns the process exit code. */
type Command = (args: string[]) => Promise<number>;

const COMMANDS: ReadonlyMap<string, { summary: string; run: Command }> = new Map([
  ["collect", {
    summary: "serve the audit socket and write per-session JSONL logs",
    run: collectCommand,
  }],
  ["run", { summary: "run a command under audit and summarise what it did", run: runCommand }],
  ["probe", {
    summary: "report seccomp/WSL2 support and the capture mode run would use",
    run: probeCommand,
  }],
  ["build", { summary: "build libauditshim.so with the pinned Zig", run: buildCommand }],
  ["image", { summary: "build the container image with podman, offline", run: buildImageCommand }],
  ["schema", { summary: "regenerate protocol/audit-event.schema.json", run: schemaCommand }],
]);

function usage(): string {
  const lines = [...COMMANDS].map(([name, { summary }]) => `  ${name.padEnd(8)} ${summary}`);
  return [
    "usage: main.ts <command> [options]   (or: ./task <command> ...)",
    "",
    "commands:",
    ...lines,
    "",
    "Each command takes --help.",
  ].join("\n");
}

/** Dispatches `args[0]` to its subcommand and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.get(name);
  if (command === undefined) {
    console.error(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return await command.run(rest);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
