/**
 * The commit rule and the writes waiting on it.
 *
 * The rule: given what the leader flushed and what each direct follower confirmed, the highest LSN
 * that counts as committed under the mode. Pure, so every mode is unit-tested. A follower's last
 * confirmed LSN keeps counting after it disconnects: it fdatasync'd those records, so they are
 * durable there whatever happens to the connection (with `ackLevel: write` only written: a power
 * cut on that follower can still take them, which is what that level risks).
 *
 * The waiters: writers waiting for their LSN to commit, in LSN order. A leader resolves them as the
 * commit point passes them and rejects them, with the reason a client sees, when it cannot
 * (shutdown, stepping down, a record the log could not write, a lapsed lease).
 */
import { assert } from '../../lib/assert.js';
import type { CommitSettings } from '../config.js';
import type { FollowerProgress } from '../replication/upstream.js';

export type { FollowerProgress };

export function confirmedLsn(settings: Pick<CommitSettings, 'ackLevel'>, f: FollowerProgress): number {
  switch (settings.ackLevel) {
    case 'write':
      return f.writtenLsn;
    case 'flush':
      return f.flushedLsn;
    case 'apply':
      return f.appliedLsn;
  }
}

/**
 * The LSN the followers alone would let commit (ignoring degrade and the local flush):
 * async → Infinity; semi-sync → the k-th highest confirmation; sync → the lowest among the
 * configured standbys (0 while any of them has never connected).
 */
export function followerQuorumLsn(settings: CommitSettings, followers: FollowerProgress[]): number {
  switch (settings.mode) {
    case 'async':
      return Infinity;
    case 'semi-sync': {
      const lsns = followers.map((f) => confirmedLsn(settings, f)).sort((a, b) => b - a);
      return lsns[settings.k - 1] ?? 0;
    }
    case 'sync': {
      const standbys = settings.syncStandbys.length > 0 ? settings.syncStandbys : followers.map((f) => f.id);
      if (standbys.length === 0) return 0;
      let min = Infinity;
      for (const id of standbys) {
        const f = followers.find((x) => x.id === id);
        min = Math.min(min, f ? confirmedLsn(settings, f) : 0);
      }
      return min;
    }
  }
}

export function commitLsn(input: { settings: CommitSettings; localFlushedLsn: number; followers: FollowerProgress[]; degraded: boolean }): number {
  if (input.degraded) return input.localFlushedLsn;
  return Math.min(input.localFlushedLsn, followerQuorumLsn(input.settings, input.followers));
}

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
