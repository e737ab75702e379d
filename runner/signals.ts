/**
 * Signal names and numbers (Linux x86_64/aarch64 numbering).
 *
 * @module
 */

const NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/**
 * The number of a signal name ("SIGTERM" -> 15); throws for a name this
 * table lacks, which would be a Deno signal this code has not met.
 *
 * @example
 * ```ts
 * import { signalNumber } from "./signals.ts";
 * console.log(128 + signalNumber("SIGKILL")); // 137
 * ```
 */
export function signalNumber(name: string): number {
  const number = NUMBERS[name];
  if (number === undefined) throw new Error(`unknown signal ${name}; add it to runner/signals.ts`);
  return number;
}
