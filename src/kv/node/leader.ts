/**
 * The leader role and what only it owns: the state reads see (committed writes, or flushed ones
 * with early visibility), the writes waiting to commit, the commit point and the rule that moves
 * it, the lease, degraded mode and its recovery target, a switchover's fence, and rebuilding its
 * state after the log could not write.
 *
 * Write path: refuse what it must not take (not leading, no lease, disk stalled, handing over) →
 * assign the next LSN → apply to `head` (so cas sees its own pending writes) → append to the WAL
 * (group commit) → once flushed it streams to followers (the node pumps the replication port) →
 * once the mode's commit rule holds, apply to `visible` and answer the writer.
 *
 * Stepping down is part of this role: from `stepDown` on it takes no write, and answers those in
 * flight as the commit rule stands once they are flushed; then the node makes it a follower.
 */
import { toError } from '../../lib/errors.js';
import type { Timer } from '../../lib/io/clock.js';
import type { NodeConfig } from '../config.js';
import { KvError } from '../protocol.js';
import { replayInto } from '../state/replay.js';
import { KvState } from '../state/store.js';
import { encodeRecord, type Op, type WalRecord } from '../wal/record.js';
import { CommitWaiters, commitLsn, followerQuorumLsn } from './commit.js';
import type { NodeCore } from './core.js';
import { Lease, type LeaseAnchor } from './lease.js';
import { OpQueue } from './op-queue.js';

export type CasResult = { ok: true; lsn: number; epoch: number } | { ok: false; current: string | null; lsn: number; epoch: number };

export class LeaderRole {
  /** What reads see: committed writes (or, with early visibility, flushed ones). */
  readonly visible = new KvState();
  private readonly lease: Lease;
  /** Appended writes not yet visible, in LSN order. */
  private readonly pending = new OpQueue();
  private readonly waiters = new CommitWaiters();
  private commit: number;
  private steppingDown = false;
  /** A planned switchover: refuse new writes while the successor catches up. */
  private handingOver = false;
  /** Committing on the local flush alone (onSyncTimeout: degrade) until followers are back. */
  private isDegraded = false;
  private recoveryTargetLsn = 0;
  private blockedWarned = false;
  /** Set while `head` is rebuilt after the log dropped records it could not write. */
  private rebuildingHead = false;
  private syncTimer: Timer | undefined;
  private readonly onFlushedListener = () => this.onFlushed();
  private readonly onStalledListener = (_info: unknown, keptLsn: number) => this.onWalStalled(keptLsn);

  /**
   * A leader whose reads start from everything `head` holds: a restarted or promoted leader
   * counts its whole log as committed (it cannot know what followers confirmed before; PostgreSQL
   * behaves the same way).
   */
  constructor(
    private readonly core: NodeCore,
    /** The followers sync mode waits for (the monitor names them at promotion). */
    readonly syncStandbys: string[],
    /** The lease a promotion grants: `holdMs` after the node's own `anchor` (lease.ts). */
    lease?: { holdMs: number; anchor: LeaseAnchor | undefined },
  ) {
    this.visible.reset(core.head.lsn, core.head.data);
    this.commit = core.wal.lastLsn;
    this.lease = new Lease(core.config.fencing, core.io.clock, core.boot);
    if (lease) this.lease.extend(lease.holdMs, lease.anchor);
  }

  /** Becomes the node's role: hears the log's flushes and stalls, and watches for sync timeouts. */
  enter(): void {
    const { wal, config, io } = this.core;
    wal.on('flushed', this.onFlushedListener);
    wal.on('stalled', this.onStalledListener);
    this.syncTimer = io.clock.every(Math.max(10, Math.min(100, config.syncTimeoutMs / 4)), () => this.checkSyncTimeout());
  }

  /** Is no longer the node's role. */
  leave(): void {
    this.core.wal.off('flushed', this.onFlushedListener);
    this.core.wal.off('stalled', this.onStalledListener);
    this.syncTimer?.cancel();
  }

  get kind(): 'leader' | 'stepping-down' {
    return this.steppingDown ? 'stepping-down' : 'leader';
  }
  get commitLsn(): number {
    return this.commit;
  }
  get degraded(): boolean {
    return this.isDegraded;
  }
  leaseValid(): boolean {
    return this.lease.valid();
  }
  leaseRemainingMs(): number {
    return this.lease.remainingMs();
  }

  /** The monitor renewed the lease (the node checked the epoch): `holdMs` after the node's own `anchor`. */
  renewLease(holdMs: number, anchor: LeaseAnchor | undefined): void {
    this.lease.extend(holdMs, anchor);
  }

  /** Switchover: stop (or resume) taking writes; how far the log goes once flushed. */
  async handOver(on: boolean): Promise<{ lastLsn: number; commitLsn: number }> {
    this.handingOver = on;
    await this.core.wal.sync();
    return { lastLsn: this.core.wal.lastLsn, commitLsn: this.commit };
  }

  /** A leader serves reads only while its lease holds (a deposed leader could serve stale data). */
  requireLease(): void {
    if (!this.steppingDown && !this.lease.valid())
      throw new KvError('unavailable', `node ${this.core.config.id} has no valid leader lease (the monitor has not renewed it); try the current leader`, {
        leader: null,
      });
  }

  /** Checked before a write touches the log: refusing here is definite. */
  requireWritable(): void {
    const { config, wal, io } = this.core;
    if (this.steppingDown) throw new KvError('not_leader', `node ${config.id} is stepping down; send writes to the new leader`, { leader: null });
    this.requireLease();
    const stalled = wal.stalled ?? (this.rebuildingHead ? { reason: 'recovering from a failed write', since: io.clock.now() } : undefined);
    if (stalled)
      throw new KvError(
        'insufficient_storage',
        `node ${config.id} cannot write its log (${stalled.reason}) since ${new Date(stalled.since).toISOString()}; writes are refused until the disk has room, reads are still served`,
      );
    if (this.handingOver)
      throw new KvError('unavailable', `node ${config.id} is handing leadership over (switchover); retry on the new leader`, { leader: null });
  }

  /** Appends `op` and resolves once it is committed under the mode. */
  async write(op: Op): Promise<{ lsn: number; epoch: number }> {
    this.requireWritable();
    const { wal, head, meta, io } = this.core;
    const record: WalRecord = { lsn: wal.lastLsn + 1, epoch: meta.epoch, timeMs: io.clock.now(), op };
    wal.appendEncoded(encodeRecord(record), record);
    this.core.countWrite();
    head.apply(record.lsn, op);
    this.pending.push(record.lsn, op);
    await this.committed(record.lsn);
    return { lsn: record.lsn, epoch: record.epoch };
  }

  /**
   * Compare-and-set against the latest state, pending writes included. A mismatch is only
   * reported once what it observed is committed, so a failed cas never reveals a write that a
   * crash could still take back.
   */
  async cas(key: string, expected: string | null, value: string): Promise<CasResult> {
    this.requireWritable();
    const current = this.core.head.get(key) ?? null;
    if (current !== expected) {
      const observed = this.core.wal.lastLsn;
      await this.committed(observed);
      return { ok: false, current, lsn: observed, epoch: this.core.meta.epoch };
    }
    const r = await this.write({ type: 'put', key, value });
    return { ok: true, ...r };
  }

  /** The log flushed more: with early visibility it is visible now; the commit point may move. */
  private onFlushed(): void {
    if (this.core.config.visibility === 'early') this.applyVisible(this.core.wal.flushedLsn);
    this.recomputeCommit();
  }

  /** A follower confirmed more: leave degraded mode if they keep up, and move the commit point. */
  onFollowerProgress(): void {
    if (this.steppingDown) return;
    this.maybeRecover();
    this.recomputeCommit();
  }

  /**
   * The log could not write records after `keptLsn` and forgot them: they were never flushed, so
   * never streamed, never acknowledged. Their writers get a definite 507, and `head` (which applied
   * them early, for cas) is rebuilt from what the log kept.
   */
  private onWalStalled(keptLsn: number): void {
    const { config, wal } = this.core;
    this.pending.dropAfter(keptLsn);
    if (this.steppingDown) return;
    const reason = wal.stalled?.reason ?? 'write failed';
    this.waiters.rejectAfter(
      keptLsn,
      () => new KvError('insufficient_storage', `node ${config.id} could not write the record (${reason}); the write did not happen`),
    );
    this.rebuildingHead = true;
    void replayInto(this.core.head, this.core.checkpoints.files, wal)
      .then(() => {
        this.rebuildingHead = false;
      })
      .catch((e: unknown) => this.core.fatal(`cannot rebuild state after a failed write: ${toError(e).message}`));
  }

  /**
   * Stops leading. Writes already in the log are answered by the commit rule as it stands once
   * they are flushed: with a lease, a stale leader's lease has lapsed and they are refused as
   * fenced; with `fencing: none` they are acknowledged, which is exactly the split brain that mode
   * shows. Everything else waiting is refused as fenced (it may or may not survive).
   */
  async stepDown(): Promise<void> {
    this.steppingDown = true;
    // A restart from here on must not resume leadership.
    await this.core.meta.stopLeading();
    await this.core.wal.sync();
    this.recomputeCommit();
    this.lease.revoke();
    this.waiters.rejectAll(
      () => new KvError('fenced', `node ${this.core.config.id} stepped down before the write was acknowledged; it may or may not survive`),
    );
    this.pending.clear();
    this.syncTimer?.cancel();
  }

  /** The node is closing (or failed): writers still waiting get `error`. */
  close(error: () => Error): void {
    this.leave();
    this.waiters.rejectAll(error);
  }

  private committed(lsn: number): Promise<void> {
    if (this.commit >= lsn) return Promise.resolve();
    return this.waiters.add(lsn);
  }

  private settings(): NodeConfig {
    return { ...this.core.config, syncStandbys: this.syncStandbys };
  }

  private recomputeCommit(): void {
    const { wal, replication, config } = this.core;
    const c = commitLsn({ settings: this.settings(), localFlushedLsn: wal.flushedLsn, followers: replication.followerProgress(), degraded: this.isDegraded });
    if (c <= this.commit) return;
    this.commit = c;
    this.blockedWarned = false;
    if (config.visibility !== 'early') this.applyVisible(c);
    // The lease is checked again at the moment of acknowledging: a leader that was frozen past
    // its lease may commit locally, but must not tell a client so.
    const fenced = this.lease.valid()
      ? undefined
      : () => new KvError('fenced', `node ${config.id}'s lease expired before the write could be acknowledged; it may or may not survive`);
    this.waiters.settleThrough(c, fenced);
  }

  /** Makes writes through `upto` visible to reads here, and answers the reads that waited for them. */
  private applyVisible(upto: number): void {
    const ready = this.pending.takeThrough(upto);
    for (const { lsn, op } of ready) this.visible.apply(lsn, op);
    if (ready.length > 0) this.core.readWaiters.notify(this.visible.lsn);
  }

  /** Degrade (or warn, in block mode) when the oldest uncommitted write waited past syncTimeoutMs. */
  private checkSyncTimeout(): void {
    const { config, wal, log, io } = this.core;
    if (this.steppingDown || config.mode === 'async' || this.isDegraded) return;
    if (this.commit >= wal.flushedLsn) return;
    const oldest = wal.recordAt(this.commit + 1);
    if (!oldest || io.clock.now() - oldest.timeMs < config.syncTimeoutMs) return;
    if (config.onSyncTimeout === 'degrade') {
      this.isDegraded = true;
      this.recoveryTargetLsn = wal.flushedLsn;
      log.warn(
        { commitLsn: this.commit, flushedLsn: wal.flushedLsn, syncTimeoutMs: config.syncTimeoutMs },
        'sync timeout: degrading to async until followers are back',
      );
      this.recomputeCommit();
    } else if (!this.blockedWarned) {
      this.blockedWarned = true;
      log.warn({ commitLsn: this.commit, flushedLsn: wal.flushedLsn }, 'sync timeout: writes stay blocked until followers confirm (onSyncTimeout=block)');
    }
  }

  /**
   * Leaves degraded mode once the followers the rule needs have caught up to where the leader was
   * at their previous confirmation, i.e. they keep up within one ack round trip.
   */
  private maybeRecover(): void {
    if (!this.isDegraded) return;
    const quorum = followerQuorumLsn(this.settings(), this.core.replication.followerProgress());
    if (quorum >= this.recoveryTargetLsn) {
      this.isDegraded = false;
      this.core.log.info({ quorumLsn: quorum }, 'followers caught up: leaving degraded mode');
    } else {
      this.recoveryTargetLsn = this.core.wal.flushedLsn;
    }
  }
}
