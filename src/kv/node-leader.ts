/**
 * The leader's write path: refusing writes it must not take (not leader, no lease, disk stalled,
 * handing over), appending and applying to `head`, the commit rule as followers confirm, making
 * committed writes visible, answering waiters (or refusing them once the lease lapsed), sync
 * timeouts and degraded mode, and recovering `head` after the log could not write.
 */
import { commitLsn, type FollowerProgress, followerQuorumLsn } from './commit.js';
import type { KvNode } from './node.js';
import { KvError } from './protocol.js';
import { decodeRecord, encodeRecord, type Op, type WalRecord } from './record.js';
import { readLatestSnapshot } from './snapshot.js';

export function requireLeader(node: KvNode): void {
  if (node.role !== 'leader') throw new KvError('not_leader', `node ${node.config.id} is a follower; send writes to the leader`, { leader: node.leaderHttp() });
}

/** A leader serves reads only while its lease holds (a deposed leader could serve stale data). */
export function requireLeaderLease(node: KvNode): void {
  if (node.role === 'leader' && !node.leaseValid())
    throw new KvError('unavailable', `node ${node.config.id} has no valid leader lease (the monitor has not renewed it); try the current leader`, {
      leader: null,
    });
}

/** Checked before a write touches the log: refusing here is definite. */
export function requireWritable(node: KvNode): void {
  requireLeader(node);
  requireLeaderLease(node);
  const stalled = node.wal.stalled ?? (node.rebuildingHead ? { reason: 'recovering from a failed write', since: Date.now() } : undefined);
  if (stalled)
    throw new KvError(
      'insufficient_storage',
      `node ${node.config.id} cannot write its log (${stalled.reason}) since ${new Date(stalled.since).toISOString()}; writes are refused until the disk has room, reads are still served`,
    );
  if (node.state.kind === 'leader' && node.state.handingOver)
    throw new KvError('unavailable', `node ${node.config.id} is handing leadership over (switchover); retry on the new leader`, { leader: null });
}

/** Appends `op` and resolves once it is committed under the mode. */
export async function write(node: KvNode, op: Op): Promise<{ lsn: number; epoch: number }> {
  requireWritable(node);
  const lsn = node.wal.lastLsn + 1;
  const record: WalRecord = { lsn, epoch: node.epoch, timeMs: Date.now(), op };
  node.wal.appendEncoded(encodeRecord(record), record);
  node.head.apply(lsn, op);
  node.pending.push(lsn, op);
  node.writesTotal++;
  await waitCommitted(node, lsn);
  return { lsn, epoch: record.epoch };
}

/**
 * Compare-and-set against the latest state, pending writes included. A mismatch is only
 * reported once what it observed is committed, so a failed cas never reveals a write that a
 * crash could still take back.
 */
export async function cas(
  node: KvNode,
  key: string,
  expected: string | null,
  value: string,
): Promise<{ ok: true; lsn: number; epoch: number } | { ok: false; current: string | null; lsn: number; epoch: number }> {
  requireWritable(node);
  const current = node.head.get(key) ?? null;
  if (current !== expected) {
    const observed = node.wal.lastLsn;
    await waitCommitted(node, observed);
    return { ok: false, current, lsn: observed, epoch: node.epoch };
  }
  const r = await write(node, { type: 'put', key, value });
  return { ok: true, ...r };
}

/** Resolves when the node has committed `lsn` (and, for leader reads, made it visible). */
export function waitCommitted(node: KvNode, lsn: number): Promise<void> {
  if (node.commitLsn >= lsn) return Promise.resolve();
  return node.waiters.add(lsn);
}

/**
 * The log could not write records after `keptLsn` and forgot them: they were never flushed, so
 * never streamed, never acknowledged. Their writers get a definite 507, and the leader's `head`
 * (which applied them early, for cas) is rebuilt from what the log kept.
 */
export function onWalStalled(node: KvNode, keptLsn: number): void {
  node.pending.dropAfter(keptLsn);
  if (node.role !== 'leader') return;
  const reason = node.wal.stalled?.reason ?? 'write failed';
  node.waiters.rejectAfter(
    keptLsn,
    () => new KvError('insufficient_storage', `node ${node.config.id} could not write the record (${reason}); the write did not happen`),
  );
  node.rebuildingHead = true;
  void rebuildHead(node)
    .then(() => (node.rebuildingHead = false))
    .catch((e: unknown) => node.fatal(`cannot rebuild state after a failed write: ${(e as Error).message}`));
}

/** `head` as the checkpoint plus every record the log holds (leader: without touching `visible`). */
export async function rebuildHead(node: KvNode): Promise<void> {
  const snap = await readLatestSnapshot(node.config.dataDir);
  if (snap && snap.snapshot.lsn <= node.wal.lastLsn && snap.snapshot.lsn >= node.wal.baseLsn) node.head.reset(snap.snapshot.lsn, snap.snapshot.entries);
  else if (node.wal.baseLsn === 0) node.head.reset(0, []);
  else throw new Error(`no checkpoint covers the log's start (lsn ${node.wal.baseLsn})`);
  for (const r of node.wal.readFrom(node.head.lsn + 1, node.wal.lastLsn, Number.MAX_SAFE_INTEGER)) {
    const d = decodeRecord(r.buf);
    if (d.kind === 'ok') node.head.apply(d.record.lsn, d.record.op);
  }
}

export function followerList(node: KvNode): FollowerProgress[] {
  return [...node.progress.values()];
}

export function recomputeCommit(node: KvNode): void {
  const c = commitLsn({ settings: node.commitSettings(), localFlushedLsn: node.wal.flushedLsn, followers: followerList(node), degraded: node.degraded });
  if (c <= node.commitLsn) return;
  node.commitLsn = c;
  node.blockedWarned = false;
  if (node.config.visibility !== 'early') applyVisible(node, c);
  // The lease is checked again at the moment of acknowledging: a leader that was frozen past
  // its lease may commit locally, but must not tell a client so.
  const fenced = node.leaseValid()
    ? undefined
    : () => new KvError('fenced', `node ${node.config.id}'s lease expired before the write could be acknowledged; it may or may not survive`);
  node.waiters.settleThrough(c, fenced);
}

/** Makes writes through `upto` visible to reads here, and answers the reads that waited for them. */
export function applyVisible(node: KvNode, upto: number): void {
  const ready = node.pending.takeThrough(upto);
  for (const { lsn, op } of ready) node.visible.apply(lsn, op);
  if (ready.length > 0) node.readWaiters.notify(node.visible.lsn);
}

/** Degrade (or warn, in block mode) when the oldest uncommitted write waited past syncTimeoutMs. */
export function checkSyncTimeout(node: KvNode): void {
  if (node.role !== 'leader' || node.config.mode === 'async' || node.degraded) return;
  if (node.commitLsn >= node.wal.flushedLsn) return;
  const oldest = node.wal.recordAt(node.commitLsn + 1);
  if (!oldest || Date.now() - oldest.timeMs < node.config.syncTimeoutMs) return;
  if (node.config.onSyncTimeout === 'degrade') {
    node.degraded = true;
    node.recoveryTargetLsn = node.wal.flushedLsn;
    node.log.warn(
      { commitLsn: node.commitLsn, flushedLsn: node.wal.flushedLsn, syncTimeoutMs: node.config.syncTimeoutMs },
      'sync timeout: degrading to async until followers are back',
    );
    recomputeCommit(node);
  } else if (!node.blockedWarned) {
    node.blockedWarned = true;
    node.log.warn(
      { commitLsn: node.commitLsn, flushedLsn: node.wal.flushedLsn },
      'sync timeout: writes stay blocked until followers confirm (onSyncTimeout=block)',
    );
  }
}

/**
 * Leaves degraded mode once the followers the rule needs have caught up to where the leader was
 * at their previous confirmation, i.e. they keep up within one ack round trip.
 */
export function maybeRecover(node: KvNode): void {
  if (!node.degraded) return;
  const quorum = followerQuorumLsn(node.commitSettings(), followerList(node));
  if (quorum >= node.recoveryTargetLsn) {
    node.degraded = false;
    node.log.info({ quorumLsn: quorum }, 'followers caught up: leaving degraded mode');
  } else {
    node.recoveryTargetLsn = node.wal.flushedLsn;
  }
}
