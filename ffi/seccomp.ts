/**
 * Seccomp facts about the current process and kernel, asked through libc
 * without changing anything: no filter is installed and no_new_privs is not set.
 *
 * @module
 */
import { callWithErrno, type Libc } from "./libc.ts";
import { errnoName, type Finding, unknown } from "./finding.ts";

/** The process's seccomp mode as `prctl(PR_GET_SECCOMP)` reports it. */
export type SeccompMode = "disabled" | "strict" | "filter";

/**
 * Whether this process tree can install a seccomp filter: "allowed" right now
 * (CAP_SYS_ADMIN or no_new_privs already set), "requires_no_new_privs" (a
 * launcher must set no_new_privs first, which any process may do), or "blocked".
 */
export type FilterInstall = "allowed" | "requires_no_new_privs" | "blocked";

/** What the seccomp probe found. */
export interface SeccompInfo {
  /** Seccomp mode of this process. */
  seccomp_mode: Finding<SeccompMode>;
  /** Whether no_new_privs is set on this process. */
  no_new_privs: Finding<boolean>;
  /** Whether the kernel offers SECCOMP_RET_USER_NOTIF (the exec trap needs it). */
  user_notification: Finding<boolean>;
  /** Whether a filter could be installed. */
  filter_install: Finding<FilterInstall>;
}

const PR_GET_SECCOMP = 21;
const PR_GET_NO_NEW_PRIVS = 39;
const SECCOMP_SET_MODE_FILTER = 1n;
const SECCOMP_GET_ACTION_AVAIL = 2n;
const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
const EPERM = 1;
const EACCES = 13;
const EFAULT = 14;
const EINVAL = 22;
const ENOSYS = 38;
const EOPNOTSUPP = 95;

/** `__NR_seccomp` by architecture (the generic table's 277 on aarch64). */
const SECCOMP_SYSCALL: Readonly<Record<string, bigint>> = { x86_64: 317n, aarch64: 277n };

/**
 * An address user space can never map: copying a filter from it always fails
 * with EFAULT, so the kernel answers the permission question and then stops
 * before anything could be installed.
 */
const UNREADABLE_ADDRESS = 0xffff_8000_0000_0000n;

const MODES: readonly SeccompMode[] = ["disabled", "strict", "filter"];

/**
 * Probes seccomp through an open libc.
 *
 * @example
 * ```ts
 * import { openLibc } from "./libc.ts";
 * import { probeSeccomp } from "./seccomp.ts";
 * const opened = openLibc();
 * if (opened.ok) console.log(probeSeccomp(opened.libc).user_notification);
 * ```
 */
export function probeSeccomp(libc: Libc, arch: string = Deno.build.arch): SeccompInfo {
  return {
    seccomp_mode: seccompMode(libc),
    no_new_privs: noNewPrivs(libc),
    user_notification: userNotification(libc, arch),
    filter_install: filterInstall(libc, arch),
  };
}

function seccompMode(libc: Libc): Finding<SeccompMode> {
  const result = callWithErrno(libc, () => libc.symbols.prctl(PR_GET_SECCOMP, 0n, 0n, 0n, 0n));
  if (result.value === -1 && result.errno === EINVAL) {
    return { value: "disabled", source: "prctl", detail: "kernel built without seccomp" };
  }
  const mode = MODES[result.value];
  if (mode === undefined) {
    return unknown(`prctl(PR_GET_SECCOMP) returned ${result.value} (${errnoName(result.errno)})`);
  }
  return { value: mode, source: "prctl" };
}

function noNewPrivs(libc: Libc): Finding<boolean> {
  const result = callWithErrno(libc, () => libc.symbols.prctl(PR_GET_NO_NEW_PRIVS, 0n, 0n, 0n, 0n));
  if (result.value === 0 || result.value === 1) {
    return { value: result.value === 1, source: "prctl" };
  }
  return unknown(`prctl(PR_GET_NO_NEW_PRIVS) failed with ${errnoName(result.errno)}`);
}

function seccompCall(
  libc: Libc,
  arch: string,
  operation: bigint,
  argument: BufferSource,
): { value: number; errno: number } | { unsupported: string } {
  const number = SECCOMP_SYSCALL[arch];
  if (number === undefined) return { unsupported: `no seccomp syscall number known for ${arch}` };
  const pointer = Deno.UnsafePointer.of(argument);
  return callWithErrno(libc, () => libc.symbols.syscall(number, operation, 0n, pointer));
}

function userNotification(libc: Libc, arch: string): Finding<boolean> {
  const action = new Uint32Array([SECCOMP_RET_USER_NOTIF]);
  const result = seccompCall(libc, arch, SECCOMP_GET_ACTION_AVAIL, action);
  if ("unsupported" in result) return unknown(result.unsupported);
  if (result.value === 0) return { value: true, source: "seccomp" };
  const name = errnoName(result.errno);
  switch (result.errno) {
    case EOPNOTSUPP:
      return { value: false, source: "seccomp", detail: `${name}: kernel lacks user notification` };
    case EINVAL:
      return { value: false, source: "seccomp", detail: `${name}: kernel predates ACTION_AVAIL` };
    case ENOSYS:
      return { value: false, source: "seccomp", detail: `${name}: no seccomp syscall` };
    case EPERM:
      return { value: false, source: "seccomp", detail: `${name}: seccomp() blocked by a filter` };
    default:
      return unknown(`seccomp(SECCOMP_GET_ACTION_AVAIL) failed with ${name}`);
  }
}

function filterInstall(libc: Libc, arch: string): Finding<FilterInstall> {
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: one
  // instruction at an address that cannot be read.
  const program = new BigUint64Array([1n, UNREADABLE_ADDRESS]);
  const result = seccompCall(libc, arch, SECCOMP_SET_MODE_FILTER, program);
  if ("unsupported" in result) return unknown(result.unsupported);
  const name = errnoName(result.errno);
  switch (result.errno) {
    case EFAULT:
      return { value: "allowed", source: "seccomp", detail: "permission check passed" };
    case EACCES:
      return { value: "requires_no_new_privs", source: "seccomp", detail: name };
    case EINVAL:
    case ENOSYS:
      return { value: "blocked", source: "seccomp", detail: `${name}: no seccomp filter support` };
    case EPERM:
      return {
        value: "blocked",
        source: "seccomp",
        detail: `${name}: seccomp() blocked by a filter`,
      };
    default:
      if (result.value === 0) {
        return unknown("seccomp(SECCOMP_SET_MODE_FILTER) unexpectedly succeeded");
      }
      return { value: "blocked", source: "seccomp", detail: name };
  }
}
