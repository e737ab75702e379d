/**
 * The environment probe: kernel release, WSL, and seccomp support, each answer
 * typed or "unknown" with its reason. It never throws.
 *
 * @module
 */
import { DEFAULT_LIBC, type Libc, openLibc, readTextWithLibc } from "./libc.ts";
import { type Finding, unknown } from "./finding.ts";
import { readKernelInfo, type TextRead, type TextReader, type WslKind } from "./kernel.ts";
import { type FilterInstall, probeSeccomp, type SeccompMode } from "./seccomp.ts";

/** Everything the probe reports. Keys are snake_case: it travels in Exec payloads. */
export interface ProbeResult {
  /** CPU architecture (`Deno.build.arch`). */
  arch: string;
  /** Kernel release, as `uname -r`. */
  kernel_release: Finding<string>;
  /** WSL detection. */
  wsl: Finding<WslKind>;
  /** This process's seccomp mode. */
  seccomp_mode: Finding<SeccompMode>;
  /** Whether no_new_privs is set on this process. */
  no_new_privs: Finding<boolean>;
  /** Whether SECCOMP_RET_USER_NOTIF is available. */
  user_notification: Finding<boolean>;
  /** Whether a seccomp filter could be installed. */
  filter_install: Finding<FilterInstall>;
}

/** Inputs of {@linkcode probeEnvironment}, injectable for tests. */
export interface ProbeOptions {
  /** Where /proc is mounted; default "/proc". */
  procRoot?: string;
  /** The libc to dlopen; default "libc.so.6". */
  libc?: string;
  /** Architecture to pick the seccomp syscall number for; default `Deno.build.arch`. */
  arch?: string;
}

/**
 * Probes the kernel and this process.
 *
 * When libc cannot be opened, seccomp mode and no_new_privs come from
 * `<proc>/self/status` instead, and the answers only a syscall can give are
 * "unknown" with the reason.
 *
 * @example
 * ```ts
 * import { probeEnvironment } from "./probe.ts";
 * const probe = probeEnvironment();
 * console.log(probe.user_notification.value); // true, false or "unknown"
 * ```
 */
export function probeEnvironment(options: ProbeOptions = {}): ProbeResult {
  const procRoot = options.procRoot ?? "/proc";
  const arch = options.arch ?? Deno.build.arch;
  const opened = openLibc(options.libc ?? DEFAULT_LIBC);
  const read = textReader(opened.ok ? opened.libc : null);
  try {
    const kernel = readKernelInfo(procRoot, read);
    if (opened.ok) return { arch, ...kernel, ...probeSeccomp(opened.libc, arch) };
    const status = statusFields(read(`${procRoot}/self/status`));
    return {
      arch,
      ...kernel,
      seccomp_mode: statusSeccompMode(status, opened.reason),
      no_new_privs: statusNoNewPrivs(status, opened.reason),
      user_notification: unknown(opened.reason),
      filter_install: unknown(opened.reason),
    };
  } finally {
    if (opened.ok) opened.libc.close();
  }
}

/**
 * Deno 2 demands --allow-all for any read under /proc, so a refused read is
 * retried through libc (which --allow-ffi already permits).
 */
function textReader(libc: Libc | null): TextReader {
  return (path: string): TextRead => {
    try {
      return { ok: true, text: Deno.readTextFileSync(path) };
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) {
        const text = libc === null ? null : readTextWithLibc(libc, path);
        if (text !== null) return { ok: true, text };
        return {
          ok: false,
          reason: `no permission to read ${path} (Deno needs --allow-all for /proc, ` +
            `or --allow-ffi with libc.so.6)`,
        };
      }
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, reason: `cannot read ${path}: ${message}` };
    }
  };
}

type StatusFields = { ok: true; fields: Map<string, string> } | { ok: false; reason: string };

function statusFields(read: TextRead): StatusFields {
  if (!read.ok) return read;
  const fields = new Map<string, string>();
  for (const line of read.text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { ok: true, fields };
}

const STATUS_MODES: Readonly<Record<string, SeccompMode>> = {
  "0": "disabled",
  "1": "strict",
  "2": "filter",
};

function statusSeccompMode(status: StatusFields, libcReason: string): Finding<SeccompMode> {
  if (!status.ok) return unknown(`${libcReason}; ${status.reason}`);
  const mode = STATUS_MODES[status.fields.get("Seccomp") ?? ""];
  if (mode !== undefined) return { value: mode, source: "proc", detail: "self/status Seccomp" };
  return unknown(`${libcReason}; self/status has no usable Seccomp field`);
}

function statusNoNewPrivs(status: StatusFields, libcReason: string): Finding<boolean> {
  if (!status.ok) return unknown(`${libcReason}; ${status.reason}`);
  const flag = status.fields.get("NoNewPrivs");
  if (flag === "0" || flag === "1") {
    return { value: flag === "1", source: "proc", detail: "self/status NoNewPrivs" };
  }
  return unknown(`${libcReason}; self/status has no usable NoNewPrivs field`);
}
