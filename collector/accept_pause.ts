/**
 * Fewer wake-ups when producers connect one by one. Every forked exec under the shim opens a
 * connection of its own (a fork child never writes on its parent's connection), so an
 * exec-heavy agent makes the collector accept a connection every millisecond or so. Sleeping in
 * `epoll_wait` between them, the collector is woken for each one, and each wake-up costs the
 * producer a cross-CPU wake and the collector about 170-200 µs of CPU on this project's test
 * machines. After an accept, the main thread instead sleeps a few milliseconds on a futex (where
 * no connect can wake it): the connections made meanwhile wait in the listen backlog and are
 * taken in one batch. Only while connections come less than a pause apart, and no producer is
 * streaming on an open connection: otherwise the collector sleeps in `epoll_wait` as before, and
 * data on open connections is not delayed longer than one pause.
 *
 * @module
 */

/**
 * While pauses run, a streaming connection is read once per pause and the work after it: the
 * window that tells it from one-shot connections must span more than one such round.
 */
const STREAM_WINDOW_PAUSES = 4;

/**
 * Pauses the calling thread's event loop for `pauseMs` once the work at hand is done, at most
 * one pause at a time; `pauseMs` 0 never pauses.
 *
 * @example
 * ```ts
 * import { AcceptPause } from "./accept_pause.ts";
 * const pause = new AcceptPause(5);
 * pause.afterAccept(); // a lone connection: no pause
 * pause.afterAccept(); // less than 5 ms after the last: the event loop sleeps 5 ms
 * ```
 */
export class AcceptPause {
  readonly #pauseMs: number;
  readonly #cell = new Int32Array(new SharedArrayBuffer(4));
  #scheduled = false;
  #lastAcceptMs = Number.NEGATIVE_INFINITY;
  #pauses = 0;
  #streamingAtMs = Number.NEGATIVE_INFINITY;

  /** @param pauseMs Milliseconds to sleep after an accept; 0 turns the pause off. */
  constructor(pauseMs: number) {
    this.#pauseMs = pauseMs;
  }

  /** Pauses scheduled so far. */
  get pauses(): number {
    return this.#pauses;
  }

  /**
   * Call after each read that returned bytes, with the time this connection's previous one did
   * (-Infinity for its first); returns this read's time, to pass next time. A connection read
   * again less than STREAM_WINDOW_PAUSES pauses after its previous read has a producer streaming
   * on it, and while one does, accepts do not pause: each pause would hold its bytes, and once its
   * socket buffer is full the producer itself waits (200,000 opens under the shim took 2.3-2.9x
   * as long during an exec storm).
   */
  afterRead(previousReadMs: number): number {
    const now = performance.now();
    if (now - previousReadMs < STREAM_WINDOW_PAUSES * this.#pauseMs) this.#streamingAtMs = now;
    return now;
  }

  /**
   * Call after each accepted connection. Pauses only when the previous accept was less than a
   * pause ago: a lone connection (a `run` sending its Exec, then its Exit; an interactive
   * program's child) is handled at once, and the pauses start with a stream of them.
   */
  afterAccept(): void {
    const now = performance.now();
    const streaming = now - this.#lastAcceptMs < this.#pauseMs;
    this.#lastAcceptMs = now;
    if (this.#pauseMs <= 0 || this.#scheduled || !streaming) return;
    if (now - this.#streamingAtMs < STREAM_WINDOW_PAUSES * this.#pauseMs) return;
    this.#scheduled = true;
    this.#pauses++;
    // A timer, so that the connections already accepted and the reads already ready are handled
    // first. Nothing ever notifies the cell: the wait always runs to its timeout.
    setTimeout(() => {
      Atomics.wait(this.#cell, 0, 0, this.#pauseMs);
      this.#scheduled = false;
    }, 0);
  }
}
