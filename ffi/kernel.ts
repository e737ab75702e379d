/**
 * Kernel release and WSL detection from /proc text files.
 *
 * @module
 */
import { type Finding, unknown } from "./finding.ts";

/** Which Windows Subsystem for Linux, if any, the kernel belongs to. */
export type WslKind = "wsl2" | "wsl1" | "none";

/** What the /proc text files say about the kernel. */
export interface KernelInfo {
  /** `uname -r`, from `<proc>/sys/kernel/osrelease`. */
  kernel_release: Finding<string>;
  /** WSL detection from osrelease and `<proc>/version`. */
  wsl: Finding<WslKind>;
}

/** The outcome of reading one /proc file. */
export type TextRead = { ok: true; text: string } | { ok: false; reason: string };

/** Reads one text file; the probe supplies one that can fall back to libc. */
export type TextReader = (path: string) => TextRead;

/**
 * Classifies a kernel string. WSL2 kernels are built as
 * "*-microsoft-standard-WSL2" (custom ones keep "microsoft-standard"); WSL1
 * reports a fake "4.4.0-NNNNN-Microsoft" release.
 *
 * @example
 * ```ts
 * import { classifyWsl } from "./kernel.ts";
 * console.log(classifyWsl("5.15.153.1-microsoft-standard-WSL2")); // "wsl2"
 * ```
 */
export function classifyWsl(text: string): WslKind {
  if (/WSL2|microsoft-standard/i.test(text)) return "wsl2";
  if (/microsoft/i.test(text)) return "wsl1";
  return "none";
}

/**
 * Reads the kernel release and detects WSL under `procRoot` (normally "/proc").
 *
 * @example
 * ```ts
 * import { readKernelInfo } from "./kernel.ts";
 * const info = readKernelInfo("/proc", (path) => ({ ok: true, text: Deno.readTextFileSync(path) }));
 * console.log(info.wsl.value); // "none" on a plain Linux host
 * ```
 */
export function readKernelInfo(procRoot: string, read: TextReader): KernelInfo {
  const osrelease = trimmed(read(`${procRoot}/sys/kernel/osrelease`));
  const version = trimmed(read(`${procRoot}/version`));
  const kernel_release: Finding<string> = osrelease.ok
    ? { value: osrelease.text, source: "proc" }
    : unknown(osrelease.reason);
  return { kernel_release, wsl: detectWsl(osrelease, version) };
}

function detectWsl(osrelease: TextRead, version: TextRead): Finding<WslKind> {
  const texts = [osrelease, version].filter((read) => read.ok).map((read) => read.text);
  if (texts.length === 0) {
    const reasons = [osrelease, version].map((read) => read.ok ? "" : read.reason);
    return unknown(reasons.join("; "));
  }
  const kinds = texts.map(classifyWsl);
  const value = kinds.includes("wsl2") ? "wsl2" : kinds.includes("wsl1") ? "wsl1" : "none";
  const files = [osrelease.ok ? "osrelease" : "", version.ok ? "version" : ""].filter(Boolean);
  return { value, source: "proc", detail: `from ${files.join(" and ")}` };
}

function trimmed(read: TextRead): TextRead {
  return read.ok ? { ok: true, text: read.text.trim() } : read;
}
