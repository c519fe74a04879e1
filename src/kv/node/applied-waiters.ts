/**
 * Reads waiting for this node to apply an LSN (`consistency=after:<lsn>`): each waits until what
 * reads see here reaches its LSN, or until its own deadline, whichever comes first. The node
 * notifies the queue wherever its visible state advances (a follower applying records or
 * installing a checkpoint, a leader making committed writes visible) and refuses every waiter
 * when it closes or changes role, since what it waited on no longer means the same thing.
 *
 * Bounded twice: at most `max` reads wait at once (a caller is told `full` and refuses the read
 * rather than queue without limit), and every waiter owns one timer that is cleared however it
 * ends, so nothing outlives the request that created it.
 */

import { type Clock, systemClock, type Timer } from '../../lib/io/clock.js';

/** How many reads may wait on one node at once. */
export const MAX_WAITING_READS = 1024;

/** How a wait ended, when it did not end with the error given to `rejectAll`. */
export type WaitEnd = 'applied' | 'timed-out' | 'full' | 'cancelled';

interface Waiter {
  lsn: number;
  timer: Timer;
  end: (how: WaitEnd) => void;
  fail: (e: Error) => void;
}

export class AppliedWaiters {
  /** Sorted by LSN, so a notification settles a prefix. */
  private waiters: Waiter[] = [];

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly max = MAX_WAITING_READS,
  ) {}

  /** Reads waiting now. */
  get size(): number {
    return this.waiters.length;
  }

  /**
   * Resolves `applied` once `notify` reports `lsn` or beyond, `timed-out` after `timeoutMs`,
   * `cancelled` when `signal` aborts (the client went away), or at once with `full` when `max`
   * reads already wait. Rejects with the error of `rejectAll`. The caller checks the current
   * position first: a wait only ever ends through one of these.
   */
  wait(lsn: number, timeoutMs: number, signal?: AbortSignal): Promise<WaitEnd> {
    if (this.waiters.length >= this.max) return Promise.resolve('full');
    if (signal?.aborted) return Promise.resolve('cancelled');
    return new Promise<WaitEnd>((resolve, reject) => {
      const onAbort = () => finish(() => resolve('cancelled'));
      const finish = (settle: () => void) => {
        w.timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        this.remove(w);
        settle();
      };
      const w: Waiter = {
        lsn,
        timer: this.clock.after(timeoutMs, () => finish(() => resolve('timed-out'))),
        end: (how) => finish(() => resolve(how)),
        fail: (e) => finish(() => reject(e)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.insert(w);
    });
  }

  /** Reads now see `appliedLsn`: every waiter at or below it is answered. */
  notify(appliedLsn: number): void {
    let i = 0;
    while (i < this.waiters.length && this.waiters[i]!.lsn <= appliedLsn) i++;
    if (i === 0) return;
    // Taken out in one step; each `end` then finds its waiter gone already.
    for (const w of this.waiters.splice(0, i)) w.end('applied');
  }

  /** Refuses every waiting read with `error()` (the node is closing or changed role). */
  rejectAll(error: () => Error): void {
    for (const w of [...this.waiters]) w.fail(error());
  }

  private insert(w: Waiter): void {
    // Binary search for the first waiter with a higher LSN: equal LSNs keep their arrival order.
    let lo = 0;
    let hi = this.waiters.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.waiters[mid]!.lsn <= w.lsn) lo = mid + 1;
      else hi = mid;
    }
    this.waiters.splice(lo, 0, w);
  }

  private remove(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}
