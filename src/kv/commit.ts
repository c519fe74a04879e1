/**
 * The commit rule: given what the leader flushed and what each direct follower confirmed, the
 * highest LSN that counts as committed under the mode. Pure, so every mode is unit-tested.
 *
 * A follower's last confirmed LSN keeps counting after it disconnects: it fdatasync'd those
 * records, so they are durable there whatever happens to the connection (with `ackLevel: write`
 * only written: a power cut on that follower can still take them, which is what that level risks).
 */
import type { CommitSettings } from './config.js';

export interface FollowerProgress {
  id: string;
  /** Written (page cache), fdatasync'd, and visible to reads on that follower. */
  writtenLsn: number;
  flushedLsn: number;
  appliedLsn: number;
}

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
