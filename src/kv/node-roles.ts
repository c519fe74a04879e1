/**
 * A node's role changes, serialized on the node: adopting a newer epoch, lease renewal,
 * promotion, stepping down, following an upstream, the switchover fence, and rewinding a log
 * that diverged from the new leader's. Each transition asserts the role it starts from
 * (role.ts); the admin API (server.ts) and the replication links call them.
 */
import { assert } from '../lib/assert.js';
import type { KvNode } from './node.js';
import { applyFollower, rebuildState } from './node-follower.js';
import { recomputeCommit, requireLeader } from './node-leader.js';
import { KvError } from './protocol.js';
import { decodeRecord } from './record.js';
import { appendRewound } from './rewound.js';
import { followerRole, leaderRole, type UpstreamRef } from './role.js';
import { removeCheckpoints } from './snapshot.js';

/** Admin calls carry the caller's epoch: older is refused, newer is adopted (stepping down). */
export async function checkEpoch(node: KvNode, epoch: number, what: string): Promise<void> {
  if (epoch < node.epoch && node.config.fencing !== 'none')
    throw new KvError('stale_epoch', `${what} from epoch ${epoch} refused: node ${node.config.id} is at epoch ${node.epoch}`, { epoch: node.epoch });
  if (epoch > node.epoch) await adoptEpoch(node, epoch, `${what} carries epoch ${epoch}`);
}

/** Persists a newer epoch; a leader that learns of one steps down (without an upstream yet). */
export async function adoptEpoch(node: KvNode, epoch: number, why: string): Promise<void> {
  if (epoch <= node.epoch) return;
  // Step down first: a leader must never write a record under an epoch it does not own.
  if (node.role === 'leader') await demote(node, `${why}: a newer leader exists`);
  node.meta = { ...node.meta, epoch };
  await node.persistMeta();
  node.log.info({ epoch, why }, 'adopted newer epoch');
}

/**
 * The monitor renews the leader's lease (and thereby checks it is alive and current). The lease
 * runs from the monitor's send time `sentAtMs` (wall clock), not from when this node read the
 * request: a renewal that sat in a socket buffer while this process was frozen grants nothing.
 */
export function renewLease(node: KvNode, epoch: number, leaseMs: number, sentAtMs: number): Promise<void> {
  return node.serialized(async () => {
    await checkEpoch(node, epoch, 'lease');
    if (node.role !== 'leader') throw new KvError('not_leader', `node ${node.config.id} is not the leader; no lease to renew`, { leader: node.leaderHttp() });
    node.lease.extend(leaseMs, sentAtMs);
  });
}

/** Makes this follower the leader of `epoch`, which must be newer than any it has seen. */
export function promote(node: KvNode, epoch: number, leaseMs: number, sentAtMs: number, syncStandbys?: string[]): Promise<void> {
  return node.serialized(async () => {
    if (node.role === 'leader' && epoch === node.epoch) {
      node.lease.extend(leaseMs, sentAtMs);
      return;
    }
    if (epoch <= node.epoch)
      throw new KvError('stale_epoch', `promote to epoch ${epoch} refused: node ${node.config.id} has seen epoch ${node.epoch}`, { epoch: node.epoch });
    const s = node.state;
    assert(s.kind === 'follower', `promote of a node that is ${s.kind}`);
    s.link?.stop();
    s.link = undefined;
    await node.wal.sync();
    // A promoted standby replays everything first, whatever its apply delay (as PostgreSQL does).
    applyFollower(node, true);
    node.meta = { epoch, epochHistory: [...node.meta.epochHistory, { epoch, startLsn: node.wal.lastLsn + 1 }], leaderOf: epoch };
    await node.persistMeta();
    if (syncStandbys) node.defaultSyncStandbys = syncStandbys;
    node.state = leaderRole(node.head, node.defaultSyncStandbys);
    node.freshness.reset();
    // Like a restarted leader, a promoted one counts everything it holds as committed.
    node.commitLsn = node.wal.lastLsn;
    node.degraded = false;
    for (const [id, p] of node.progress) if (!p.session || p.session.closed) node.progress.delete(id);
    node.lease.reset(leaseMs, sentAtMs);
    node.log.warn({ epoch, lastLsn: node.wal.lastLsn, syncStandbys: node.defaultSyncStandbys }, 'promoted to leader');
  });
}

/** Follows `upstream` (a replication address) from now on; a leader demotes itself first. */
export function follow(node: KvNode, epoch: number, upstream: UpstreamRef, leaderHttp: string | null): Promise<void> {
  return node.serialized(async () => {
    await checkEpoch(node, epoch, 'follow');
    if (node.state.kind === 'leader') await demote(node, `told to follow ${upstream.id} at ${upstream.address}`);
    const s = node.state;
    assert(s.kind === 'follower', `follow as ${s.kind}`);
    if (leaderHttp !== null) s.info = { ...s.info, leaderHttp };
    if (s.link && s.upstream?.address === upstream.address && s.upstream.id === upstream.id) return;
    s.link?.stop();
    s.link = undefined;
    s.upstream = upstream;
    node.freshness.reset();
    node.log.info({ upstream, epoch: node.epoch }, 'following a new upstream');
    node.startFollowing();
  });
}

/** Planned switchover: stop taking writes and report how far the log goes once flushed. */
export function handOver(node: KvNode, epoch: number, on: boolean): Promise<{ lastLsn: number; commitLsn: number }> {
  return node.serialized(async () => {
    await checkEpoch(node, epoch, 'fence');
    requireLeader(node);
    if (node.state.kind === 'leader') node.state.handingOver = on;
    await node.wal.sync();
    return { lastLsn: node.wal.lastLsn, commitLsn: node.commitLsn };
  });
}

export async function demote(node: KvNode, reason: string): Promise<void> {
  const leading = node.state;
  if (leading.kind !== 'leader') return;
  // No new writes from here on; what is in flight is still answered as a leader answers it.
  node.state = { kind: 'stepping-down', visible: leading.visible, syncStandbys: leading.syncStandbys };
  node.meta = { epoch: node.meta.epoch, epochHistory: node.meta.epochHistory };
  await node.persistMeta();
  // Writes already in the log are answered by the commit rule as it stands once they are
  // flushed: with a lease, a stale leader's lease has lapsed and they are refused as fenced;
  // with `fencing: none` they are acknowledged, which is exactly the split brain that mode shows.
  await node.wal.sync();
  recomputeCommit(node);
  node.lease.revoke();
  node.waiters.rejectAll(() => new KvError('fenced', `node ${node.config.id} stepped down before the write was acknowledged; it may or may not survive`));
  node.pending.clear();
  node.state = followerRole(undefined);
  node.progress.clear();
  node.replication.closeAll('upstream stepped down');
  node.log.warn({ reason, epoch: node.epoch, lastLsn: node.wal.lastLsn }, 'stepped down to follower');
}

/**
 * Cuts this node's log back to `lsn` because the upstream's history diverges after it: the
 * removed records go to `rewound.jsonl` (epoch, lsn, key, value) and the state is rebuilt from
 * the checkpoint and what remains. Below the checkpoint the log cannot be cut; then the node
 * starts empty and bootstraps from a snapshot.
 */
export function rewind(node: KvNode, lsn: number): Promise<void> {
  return node.serialized(async () => {
    assert(node.state.kind === 'follower', `rewind of a node that is ${node.state.kind}`);
    await node.wal.sync();
    const from = Math.max(lsn, node.wal.baseLsn);
    const dropped = await node.wal.truncateAfter(from);
    if (lsn < node.wal.baseLsn) {
      const kept = node.wal
        .readFrom(lsn + 1, node.wal.lastLsn, Number.MAX_SAFE_INTEGER)
        .map((r) => decodeRecord(r.buf))
        .flatMap((d) => (d.kind === 'ok' ? [d.record] : []));
      dropped.unshift(...kept);
      node.log.warn(
        { divergesAfter: lsn, checkpointLsn: node.wal.baseLsn },
        'divergence lies before the checkpoint: dropping local state and bootstrapping from a snapshot',
      );
      await node.wal.resetTo(0, 0);
      // A rewind below the newest checkpoint makes every checkpoint wrong.
      await removeCheckpoints(node.config.dataDir, () => true);
      node.checkpoints.startedFrom(0);
    }
    await appendRewound(node.config.dataDir, dropped);
    node.meta = { ...node.meta, epochHistory: node.meta.epochHistory.filter((e) => e.startLsn <= Math.min(lsn, node.wal.lastLsn)) };
    await node.persistMeta();
    await rebuildState(node);
    node.commitLsn = Math.min(node.commitLsn, node.wal.lastLsn);
    node.log.warn(
      { divergesAfter: lsn, rewound: dropped.length, first: dropped[0]?.lsn ?? null, last: dropped[dropped.length - 1]?.lsn ?? null },
      'rewound log suffix the new leader does not have (see rewound.jsonl)',
    );
  });
}
