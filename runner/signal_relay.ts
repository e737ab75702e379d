/**
 * Relays SIGINT/SIGTERM/SIGHUP from the runner to the audited command.
 *
 * @module
 */
import { inForegroundOfTerminal } from "../ffi/mod.ts";

/** The signals the runner relays to the command. */
export const FORWARDED_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Holds the runner's signal listeners for a whole run, so a signal never
 * kills the runner with its default action (which would orphan a collector
 * it started). Signals that arrive before the command runs are delivered as
 * soon as it does; those after it ended are dropped, as the run is ending.
 *
 * @example
 * ```ts
 * import { SignalRelay } from "./signal_relay.ts";
 * using relay = new SignalRelay();
 * const child = new Deno.Command("sleep", { args: ["1"] }).spawn();
 * relay.attach(child);
 * await child.status;
 * relay.detach();
 * ```
 */
export class SignalRelay implements Disposable {
  #child: Deno.ChildProcess | null = null;
  #pending: Deno.Signal[] = [];
  #ended = false;
  #handlers: Array<[Deno.Signal, () => void]>;

  /** Installs the listeners. */
  constructor() {
    this.#handlers = FORWARDED_SIGNALS.map((signal) => [signal, () => this.#receive(signal)]);
    for (const [signal, handler] of this.#handlers) Deno.addSignalListener(signal, handler);
  }

  #receive(signal: Deno.Signal): void {
    // A Ctrl-C typed on our terminal already reached the command (it is in
    // the terminal's foreground process group with us); relaying it would
    // deliver it twice.
    if (signal === "SIGINT" && Deno.stdin.isTerminal() && inForegroundOfTerminal(0) === true) {
      return;
    }
    if (this.#ended) return;
    if (this.#child === null) this.#pending.push(signal);
    else deliver(this.#child, signal);
  }

  /** The command runs: deliver what arrived before, relay from now on. */
  attach(child: Deno.ChildProcess): void {
    this.#child = child;
    for (const signal of this.#pending.splice(0)) deliver(child, signal);
  }

  /** The command ended (or never started): relay nothing more. */
  detach(): void {
    this.#ended = true;
    this.#child = null;
  }

  /** Removes the listeners. */
  [Symbol.dispose](): void {
    for (const [signal, handler] of this.#handlers) Deno.removeSignalListener(signal, handler);
  }
}

function deliver(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // The child has already exited; its status is on its way.
  }
}
