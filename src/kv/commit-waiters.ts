/**
 * Writers waiting for their LSN to commit, in LSN order: a leader resolves them as the commit
 * point passes them and rejects them, with the reason a client sees, when it cannot (shutdown,
 * stepping down, a record the log could not write, a lapsed lease).
 */
import { assert } from '../lib/assert.js';

interface Waiter {
  lsn: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class CommitWaiters {
  private waiters: Waiter[] = [];

  /** Resolves once `settle` passes `lsn`. Writes wait in LSN order. */
  add(lsn: number): Promise<void> {
    const last = this.waiters[this.waiters.length - 1];
    assert(!last || last.lsn <= lsn, `commit waiter for lsn ${lsn} after one for ${last?.lsn}`);
    return new Promise((resolve, reject) => this.waiters.push({ lsn, resolve, reject }));
  }

  /** Every waiter through `lsn`: resolved, or rejected with `fenced()` when it must not be acknowledged. */
  settleThrough(lsn: number, fenced?: () => Error): void {
    let i = 0;
    while (i < this.waiters.length && this.waiters[i]!.lsn <= lsn) {
      const w = this.waiters[i++]!;
      if (fenced) w.reject(fenced());
      else w.resolve();
    }
    if (i > 0) this.waiters.splice(0, i);
  }

  /** Rejects every waiter after `lsn` (their records were never written). */
  rejectAfter(lsn: number, error: () => Error): void {
    const kept: Waiter[] = [];
    for (const w of this.waiters) w.lsn > lsn ? w.reject(error()) : kept.push(w);
    this.waiters = kept;
  }

  rejectAll(error: () => Error): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.reject(error());
  }
}
