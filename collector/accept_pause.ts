/**
 * Fewer wake-ups when producers connect one by one. Every forked exec under the shim opens a
 * connection of its own (a fork child never writes on its parent's connection), so an
 * exec-heavy agent makes the collector accept a connection every millisecond or so. Sleeping in
 * `epoll_wait` between them, the collector is woken for each one, and each wake-up costs the
 * producer a cross-CPU wake and the collector about 170-200 µs of CPU on this project's test
 * machines. After an accept, the main thread instead sleeps a few milliseconds on a futex (where
 * no connect can wake it): the connections made meanwhile wait in the listen backlog and are
 * taken in one batch. With no new connection the collector sleeps in `epoll_wait` as before, and
 * data on open connections is not delayed longer than one pause.
 *
 * @module
 */

/**
 * Pauses the calling thread's event loop for `pauseMs` once the work at hand is done, at most
 * one pause at a time; `pauseMs` 0 never pauses.
 *
 * @example
 * ```ts
 * import { AcceptPause } from "./accept_pause.ts";
 * const pause = new AcceptPause(5);
 * pause.afterAccept(); // the event loop sleeps 5 ms after the current task and the ready I/O
 * ```
 */
export class AcceptPause {
  readonly #pauseMs: number;
  readonly #cell = new Int32Array(new SharedArrayBuffer(4));
  #scheduled = false;

  /** @param pauseMs Milliseconds to sleep after an accept; 0 turns the pause off. */
  constructor(pauseMs: number) {
    this.#pauseMs = pauseMs;
  }

  /** Call after each accepted connection. */
  afterAccept(): void {
    if (this.#pauseMs <= 0 || this.#scheduled) return;
    this.#scheduled = true;
    // A timer, so that the connections already accepted and the reads already ready are handled
    // first. Nothing ever notifies the cell: the wait always runs to its timeout.
    setTimeout(() => {
      Atomics.wait(this.#cell, 0, 0, this.#pauseMs);
      this.#scheduled = false;
    }, 0);
  }
}
