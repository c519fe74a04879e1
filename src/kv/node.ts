/**
 * A replab KV node: the WAL, the state machine, the commit rule and both replication roles.
 * `server.ts` puts the HTTP API in front of it; `main.ts` runs it as a process.
 *
 * Leader write path: assign the next LSN → apply to `head` (so cas sees its own pending writes) →
 * append to the WAL (group commit) → once flushed, stream to followers → once the mode's commit
 * rule holds, apply to `visible` and answer. With `visibility: early`, `visible` advances at the
 * local flush instead, which is what lets a harness show phantom reads.
 *
 * Follower path: append streamed records → once flushed, apply → ack (flushed, applied) upstream,
 * and forward to its own followers (relay).
 *
 * Fencing (`fencing: lease`): a leader accepts a write, serves a leader read and acknowledges a
 * commit only while the lease the monitor renews is valid on this process's monotonic clock, so a
 * leader frozen with SIGSTOP that wakes after a failover acknowledges nothing. A node that learns
 * of a newer epoch (admin call or peer) steps down; told to follow, it rewinds any log suffix the
 * new leader does not have into `rewound.jsonl` (see `rewind`).
 *
 * Try it: `replab node --id n1 --role leader --data-dir /tmp/n1 --http 127.0.0.1:7001`.
 */

import { EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import { parseHostPort } from '../lib/addr.js';
import { assert } from '../lib/assert.js';
import type { Logger } from '../lib/log.js';
import { type Checkpoint, Checkpointer } from './checkpointer.js';
import { commitLsn, type FollowerProgress, followerQuorumLsn } from './commit.js';
import { CommitWaiters } from './commit-waiters.js';
import type { NodeConfig } from './config.js';
import { removeCheckpoints } from './data-dir.js';
import { type DownstreamHost, UpstreamLink } from './downstream.js';
import { epochOf } from './epochs.js';
import type { FollowerSession, UpstreamHost } from './follower-session.js';
import { FrameError } from './frames.js';
import { Lease } from './lease.js';
import { type EpochStart, type NodeMeta, readMeta, writeMeta } from './meta.js';
import { OpQueue } from './op-queue.js';
import { KvError } from './protocol.js';
import { decodeRecord, encodeRecord, type Op, type WalRecord } from './record.js';
import { appendRewound } from './rewound.js';
import { followerRole, leaderRole, type Role } from './role.js';
import { decodeSnapshot, installSnapshotFile, readLatestSnapshot } from './snapshot.js';
import type { FollowerStatus, UpstreamState } from './status.js';
import { KvState } from './store.js';
import { ReplicationServer } from './upstream.js';
import { Wal } from './wal.js';

export class KvNode extends EventEmitter {
  /** The settings the node was started with; never changed (the role carries what changes). */
  readonly config: Readonly<NodeConfig>;
  readonly log: Logger;
  readonly wal: Wal;
  /** The role and what it owns (role.ts); changed only by promote, demote and follow. */
  private state: Role;
  meta: NodeMeta = { epoch: 0, epochHistory: [] };
  /** Leader: every appended write (what cas decides on). Follower: the applied state. */
  readonly head = new KvState();
  commitLsn = 0;
  degraded = false;
  writesTotal = 0;
  httpAddress = '';
  replAddress = '';
  readonly replication: ReplicationServer;
  private readonly progress = new Map<string, FollowerProgress & { session?: FollowerSession }>();
  private readonly pending = new OpQueue();
  private readonly waiters = new CommitWaiters();
  /** The sync standbys the next promotion uses when the monitor names none. */
  private defaultSyncStandbys: string[];
  private recoveryTargetLsn = 0;
  private blockedWarned = false;
  private readonly checkpoints: Checkpointer;
  private syncTimer: NodeJS.Timeout | undefined;
  private applyTimer: NodeJS.Timeout | undefined;
  /** Set while `head` is rebuilt after the log dropped records it could not write. */
  private rebuildingHead = false;
  private stopped = false;
  /** This leader's lease (fencing: lease). */
  private readonly lease: Lease;
  private metaWrites: Promise<void> = Promise.resolve();
  /** Serialises role changes (promote, follow, step down, rewind). */
  private roleChange: Promise<unknown> = Promise.resolve();

  constructor(config: NodeConfig, log: Logger) {
    super();
    this.config = config;
    this.log = log;
    this.defaultSyncStandbys = config.syncStandbys;
    this.state = config.role === 'leader' ? leaderRole(this.head, config.syncStandbys) : followerRole(config.upstream);
    this.lease = new Lease(config.fencing);
    this.wal = new Wal({
      dir: config.dataDir,
      log,
      segmentBytes: config.segmentBytes,
      simulatePowerLoss: config.simulatePowerLoss,
      syncDelayMs: config.syncDelayMs,
    });
    this.replication = new ReplicationServer(this.upstreamHost(), config.heartbeatMs);
    this.checkpoints = new Checkpointer({
      dataDir: config.dataDir,
      checkpointBytes: config.checkpointBytes,
      log,
      wal: this.wal,
      head: this.head,
      epoch: () => this.epoch,
      isLeader: () => this.role === 'leader',
      lowestNeededLsn: () => this.replication.lowestNeededLsn(),
    });
  }

  // ---- the role ----------------------------------------------------------------------------

  get role(): 'leader' | 'follower' {
    return this.state.kind === 'leader' ? 'leader' : 'follower';
  }

  /** What reads see: a leader's committed state (also while stepping down), a follower's applied one. */
  get visible(): KvState {
    return this.state.kind === 'follower' ? this.head : this.state.visible;
  }

  get upstreamLink(): UpstreamLink | undefined {
    return this.state.kind === 'follower' ? this.state.link : undefined;
  }

  /** The replication address this node follows, or null (a leader, or a follower not yet told). */
  get upstreamAddress(): string | null {
    return this.state.kind === 'follower' ? (this.state.upstream ?? null) : null;
  }

  get syncStandbys(): string[] {
    return this.state.kind === 'follower' ? this.defaultSyncStandbys : this.state.syncStandbys;
  }

  /** The commit rule's settings: the node's, with the sync standbys its role names. */
  private commitSettings(): NodeConfig {
    return this.state.kind === 'follower' ? this.config : { ...this.config, syncStandbys: this.state.syncStandbys };
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Recovers from the data dir and opens the replication port. HTTP is started by server.ts. */
  async open(): Promise<void> {
    await fsp.mkdir(this.config.dataDir, { recursive: true });
    const stored = await readMeta(this.config.dataDir);
    this.meta = stored ?? (this.role === 'leader' ? { epoch: 1, epochHistory: [{ epoch: 1, startLsn: 1 }], leaderOf: 1 } : { epoch: 0, epochHistory: [] });
    // `--role leader` only bootstraps a fresh data dir. Later, a node resumes leadership only if
    // it still led the newest epoch it knows; otherwise it stepped down or someone else led since,
    // and it waits as a follower until the monitor says whom to follow.
    if (stored && this.role === 'leader' && stored.leaderOf !== this.meta.epoch) {
      this.log.warn(
        { epoch: this.meta.epoch, leaderOf: stored.leaderOf ?? null },
        'not the leader of the newest epoch: starting as a follower without upstream until told whom to follow',
      );
      this.state = followerRole(undefined);
    }
    // Only when it changed: a restart on a full disk must not need a new file to come up.
    if (JSON.stringify(stored) !== JSON.stringify(this.meta)) await this.persistMeta();
    const snap = await readLatestSnapshot(this.config.dataDir);
    if (snap) {
      this.head.reset(snap.snapshot.lsn, snap.snapshot.entries);
      this.checkpoints.startedFrom(snap.snapshot.lsn);
    }
    const records = await this.wal.recover(snap?.snapshot.lsn ?? 0);
    for (const r of records) this.head.apply(r.lsn, r.op);
    // The records carry their epochs: an epoch start whose meta.json write did not survive a
    // crash is recovered from the log itself.
    for (const r of records) {
      const last = this.meta.epochHistory[this.meta.epochHistory.length - 1];
      if (!last || last.epoch < r.epoch) this.meta.epochHistory.push({ epoch: r.epoch, startLsn: r.lsn });
    }
    if (this.state.kind === 'leader') this.state.visible.reset(this.head.lsn, this.head.data);
    // A restarted node counts its whole local log as committed: it cannot know what its
    // followers confirmed before the crash (PostgreSQL behaves the same way).
    this.commitLsn = this.wal.lastLsn;
    this.log.info({ snapshotLsn: snap?.snapshot.lsn ?? 0, replayed: records.length, lastLsn: this.wal.lastLsn, epoch: this.meta.epoch }, 'recovered');
    this.wal.on('flushed', () => this.onFlushed());
    this.wal.on('written', () => {
      if (this.role === 'follower' && this.upstreamLink?.ackLevel === 'write') this.upstreamLink.sendAck();
    });
    this.wal.on('error', (e: Error) => this.fatal(`WAL write failed: ${e.message}`));
    this.wal.on('stalled', (_info: unknown, keptLsn: number) => this.onWalStalled(keptLsn));
    const port = await this.replication.listen(this.config.replHost, this.config.replPort);
    this.replAddress = `${this.config.replHost}:${port}`;
    if (this.state.kind === 'follower' && this.state.upstream) this.startFollowing();
    this.syncTimer = setInterval(() => this.checkSyncTimeout(), Math.max(10, Math.min(100, this.config.syncTimeoutMs / 4)));
    this.syncTimer.unref();
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.syncTimer);
    clearTimeout(this.applyTimer);
    this.upstreamLink?.stop();
    await this.replication.close();
    this.waiters.rejectAll(() => new KvError('unavailable', 'node is shutting down'));
    await this.wal.close();
  }

  private fatal(message: string): void {
    this.log.fatal(message);
    // Writes waiting for commit may or may not be durable: their clients must see an indefinite error.
    this.waiters.rejectAll(() => new KvError('internal', message));
    this.emit('fatal', new Error(message));
  }

  private startFollowing(): void {
    const s = this.state;
    assert(s.kind === 'follower' && s.upstream !== undefined, `startFollowing as ${s.kind} without an upstream`);
    s.link = new UpstreamLink(this.downstreamHost(), parseHostPort(s.upstream, '--upstream'), this.config.heartbeatMs);
    s.link.start();
  }

  get epoch(): number {
    return this.meta.epoch;
  }

  /** Writes meta.json with the current `meta`; writes are queued so two never race on the temp file. */
  private persistMeta(): Promise<void> {
    const next = this.metaWrites.then(() => writeMeta(this.config.dataDir, this.meta));
    this.metaWrites = next.catch(() => {});
    return next;
  }

  /** Epoch of the last record in this node's log (0 when empty). */
  get lastLogEpoch(): number {
    return epochOf(this.meta.epochHistory, this.wal.lastLsn);
  }

  // ---- fencing and role changes ------------------------------------------------------------

  leaseValid(): boolean {
    return this.lease.valid();
  }

  leaseRemainingMs(): number {
    return this.lease.remainingMs();
  }

  /** Admin calls carry the caller's epoch: older is refused, newer is adopted (stepping down). */
  private async checkEpoch(epoch: number, what: string): Promise<void> {
    if (epoch < this.epoch && this.config.fencing !== 'none')
      throw new KvError('stale_epoch', `${what} from epoch ${epoch} refused: node ${this.config.id} is at epoch ${this.epoch}`, { epoch: this.epoch });
    if (epoch > this.epoch) await this.adoptEpoch(epoch, `${what} carries epoch ${epoch}`);
  }

  /** Persists a newer epoch; a leader that learns of one steps down (without an upstream yet). */
  private async adoptEpoch(epoch: number, why: string): Promise<void> {
    if (epoch <= this.epoch) return;
    // Step down first: a leader must never write a record under an epoch it does not own.
    if (this.role === 'leader') await this.demote(`${why}: a newer leader exists`);
    this.meta = { ...this.meta, epoch };
    await this.persistMeta();
    this.log.info({ epoch, why }, 'adopted newer epoch');
  }

  private serialized<T>(run: () => Promise<T>): Promise<T> {
    const next = this.roleChange.then(run, run);
    this.roleChange = next.catch(() => {});
    return next;
  }

  /**
   * The monitor renews the leader's lease (and thereby checks it is alive and current). The lease
   * runs from the monitor's send time `sentAtMs` (wall clock), not from when this node read the
   * request: a renewal that sat in a socket buffer while this process was frozen grants nothing.
   */
  renewLease(epoch: number, leaseMs: number, sentAtMs: number): Promise<void> {
    return this.serialized(async () => {
      await this.checkEpoch(epoch, 'lease');
      if (this.role !== 'leader') throw new KvError('not_leader', `node ${this.config.id} is not the leader; no lease to renew`, { leader: this.leaderHttp() });
      this.lease.extend(leaseMs, sentAtMs);
    });
  }

  /** Makes this follower the leader of `epoch`, which must be newer than any it has seen. */
  promote(epoch: number, leaseMs: number, sentAtMs: number, syncStandbys?: string[]): Promise<void> {
    return this.serialized(async () => {
      if (this.role === 'leader' && epoch === this.epoch) {
        this.lease.extend(leaseMs, sentAtMs);
        return;
      }
      if (epoch <= this.epoch)
        throw new KvError('stale_epoch', `promote to epoch ${epoch} refused: node ${this.config.id} has seen epoch ${this.epoch}`, { epoch: this.epoch });
      const s = this.state;
      assert(s.kind === 'follower', `promote of a node that is ${s.kind}`);
      s.link?.stop();
      s.link = undefined;
      await this.wal.sync();
      // A promoted standby replays everything first, whatever its apply delay (as PostgreSQL does).
      this.applyFollower(true);
      this.meta = { epoch, epochHistory: [...this.meta.epochHistory, { epoch, startLsn: this.wal.lastLsn + 1 }], leaderOf: epoch };
      await this.persistMeta();
      if (syncStandbys) this.defaultSyncStandbys = syncStandbys;
      this.state = leaderRole(this.head, this.defaultSyncStandbys);
      // Like a restarted leader, a promoted one counts everything it holds as committed.
      this.commitLsn = this.wal.lastLsn;
      this.degraded = false;
      for (const [id, p] of this.progress) if (!p.session || p.session.closed) this.progress.delete(id);
      this.lease.reset(leaseMs, sentAtMs);
      this.log.warn({ epoch, lastLsn: this.wal.lastLsn, syncStandbys: this.defaultSyncStandbys }, 'promoted to leader');
    });
  }

  /** Follows `upstream` (a replication address) from now on; a leader demotes itself first. */
  follow(epoch: number, upstream: string, leaderHttp: string | null): Promise<void> {
    return this.serialized(async () => {
      await this.checkEpoch(epoch, 'follow');
      if (this.state.kind === 'leader') await this.demote(`told to follow ${upstream}`);
      const s = this.state;
      assert(s.kind === 'follower', `follow as ${s.kind}`);
      if (leaderHttp !== null) s.info = { ...s.info, leaderHttp };
      if (s.link && s.upstream === upstream) return;
      s.link?.stop();
      s.link = undefined;
      s.upstream = upstream;
      this.log.info({ upstream, epoch: this.epoch }, 'following a new upstream');
      this.startFollowing();
    });
  }

  /** Planned switchover: stop taking writes and report how far the log goes once flushed. */
  handOver(epoch: number, on: boolean): Promise<{ lastLsn: number; commitLsn: number }> {
    return this.serialized(async () => {
      await this.checkEpoch(epoch, 'fence');
      this.requireLeader();
      if (this.state.kind === 'leader') this.state.handingOver = on;
      await this.wal.sync();
      return { lastLsn: this.wal.lastLsn, commitLsn: this.commitLsn };
    });
  }

  private async demote(reason: string): Promise<void> {
    const leading = this.state;
    if (leading.kind !== 'leader') return;
    // No new writes from here on; what is in flight is still answered as a leader answers it.
    this.state = { kind: 'stepping-down', visible: leading.visible, syncStandbys: leading.syncStandbys };
    this.meta = { epoch: this.meta.epoch, epochHistory: this.meta.epochHistory };
    await this.persistMeta();
    // Writes already in the log are answered by the commit rule as it stands once they are
    // flushed: with a lease, a stale leader's lease has lapsed and they are refused as fenced;
    // with `fencing: none` they are acknowledged, which is exactly the split brain that mode shows.
    await this.wal.sync();
    this.recomputeCommit();
    this.lease.revoke();
    this.waiters.rejectAll(() => new KvError('fenced', `node ${this.config.id} stepped down before the write was acknowledged; it may or may not survive`));
    this.pending.clear();
    this.state = followerRole(undefined);
    this.progress.clear();
    this.replication.closeAll('upstream stepped down');
    this.log.warn({ reason, epoch: this.epoch, lastLsn: this.wal.lastLsn }, 'stepped down to follower');
  }

  /**
   * Cuts this node's log back to `lsn` because the upstream's history diverges after it: the
   * removed records go to `rewound.jsonl` (epoch, lsn, key, value) and the state is rebuilt from
   * the checkpoint and what remains. Below the checkpoint the log cannot be cut; then the node
   * starts empty and bootstraps from a snapshot.
   */
  rewind(lsn: number): Promise<void> {
    return this.serialized(async () => {
      assert(this.state.kind === 'follower', `rewind of a node that is ${this.state.kind}`);
      await this.wal.sync();
      const from = Math.max(lsn, this.wal.baseLsn);
      const dropped = await this.wal.truncateAfter(from);
      if (lsn < this.wal.baseLsn) {
        const kept = this.wal
          .readFrom(lsn + 1, this.wal.lastLsn, Number.MAX_SAFE_INTEGER)
          .map((r) => decodeRecord(r.buf))
          .flatMap((d) => (d.kind === 'ok' ? [d.record] : []));
        dropped.unshift(...kept);
        this.log.warn(
          { divergesAfter: lsn, checkpointLsn: this.wal.baseLsn },
          'divergence lies before the checkpoint: dropping local state and bootstrapping from a snapshot',
        );
        await this.wal.resetTo(0, 0);
        await removeCheckpoints(this.config.dataDir);
        this.checkpoints.startedFrom(0);
      }
      await appendRewound(this.config.dataDir, dropped);
      this.meta = { ...this.meta, epochHistory: this.meta.epochHistory.filter((e) => e.startLsn <= Math.min(lsn, this.wal.lastLsn)) };
      await this.persistMeta();
      await this.rebuildState();
      this.commitLsn = Math.min(this.commitLsn, this.wal.lastLsn);
      this.log.warn(
        { divergesAfter: lsn, rewound: dropped.length, first: dropped[0]?.lsn ?? null, last: dropped[dropped.length - 1]?.lsn ?? null },
        'rewound log suffix the new leader does not have (see rewound.jsonl)',
      );
    });
  }

  private async rebuildState(): Promise<void> {
    this.pending.clear();
    const snap = await readLatestSnapshot(this.config.dataDir);
    if (snap && snap.snapshot.lsn <= this.wal.lastLsn) this.head.reset(snap.snapshot.lsn, snap.snapshot.entries);
    else this.head.reset(0, []);
    for (const r of this.wal.readFrom(this.head.lsn + 1, this.wal.lastLsn, Number.MAX_SAFE_INTEGER)) {
      const d = decodeRecord(r.buf);
      if (d.kind === 'ok') this.head.apply(d.record.lsn, d.record.op);
    }
  }

  leaderHttp(): string | null {
    return this.state.kind === 'leader' ? this.httpAddress : this.state.kind === 'follower' ? this.state.info.leaderHttp : null;
  }

  // ---- leader write path -------------------------------------------------------------------

  private requireLeader(): void {
    if (this.role !== 'leader')
      throw new KvError('not_leader', `node ${this.config.id} is a follower; send writes to the leader`, { leader: this.leaderHttp() });
  }

  /** A leader serves reads only while its lease holds (a deposed leader could serve stale data). */
  requireLeaderLease(): void {
    if (this.role === 'leader' && !this.leaseValid())
      throw new KvError('unavailable', `node ${this.config.id} has no valid leader lease (the monitor has not renewed it); try the current leader`, {
        leader: null,
      });
  }

  /** Checked before a write touches the log: refusing here is definite. */
  requireWritable(): void {
    this.requireLeader();
    this.requireLeaderLease();
    const stalled = this.wal.stalled ?? (this.rebuildingHead ? { reason: 'recovering from a failed write', since: Date.now() } : undefined);
    if (stalled)
      throw new KvError(
        'insufficient_storage',
        `node ${this.config.id} cannot write its log (${stalled.reason}) since ${new Date(stalled.since).toISOString()}; writes are refused until the disk has room, reads are still served`,
      );
    if (this.state.kind === 'leader' && this.state.handingOver)
      throw new KvError('unavailable', `node ${this.config.id} is handing leadership over (switchover); retry on the new leader`, { leader: null });
  }

  /** Appends `op` and resolves once it is committed under the mode. */
  async write(op: Op): Promise<{ lsn: number; epoch: number }> {
    this.requireWritable();
    const lsn = this.wal.lastLsn + 1;
    const record: WalRecord = { lsn, epoch: this.epoch, timeMs: Date.now(), op };
    this.wal.appendEncoded(encodeRecord(record), record);
    this.head.apply(lsn, op);
    this.pending.push(lsn, op);
    this.writesTotal++;
    await this.waitCommitted(lsn);
    return { lsn, epoch: record.epoch };
  }

  /**
   * Compare-and-set against the latest state, pending writes included. A mismatch is only
   * reported once what it observed is committed, so a failed cas never reveals a write that a
   * crash could still take back.
   */
  async cas(
    key: string,
    expected: string | null,
    value: string,
  ): Promise<{ ok: true; lsn: number; epoch: number } | { ok: false; current: string | null; lsn: number; epoch: number }> {
    this.requireWritable();
    const current = this.head.get(key) ?? null;
    if (current !== expected) {
      const observed = this.wal.lastLsn;
      await this.waitCommitted(observed);
      return { ok: false, current, lsn: observed, epoch: this.epoch };
    }
    const r = await this.write({ type: 'put', key, value });
    return { ok: true, ...r };
  }

  /** Resolves when the node has committed `lsn` (and, for leader reads, made it visible). */
  waitCommitted(lsn: number): Promise<void> {
    if (this.commitLsn >= lsn) return Promise.resolve();
    return this.waiters.add(lsn);
  }

  /**
   * The log could not write records after `keptLsn` and forgot them: they were never flushed, so
   * never streamed, never acknowledged. Their writers get a definite 507, and the leader's `head`
   * (which applied them early, for cas) is rebuilt from what the log kept.
   */
  private onWalStalled(keptLsn: number): void {
    this.pending.dropAfter(keptLsn);
    if (this.role !== 'leader') return;
    const reason = this.wal.stalled?.reason ?? 'write failed';
    this.waiters.rejectAfter(
      keptLsn,
      () => new KvError('insufficient_storage', `node ${this.config.id} could not write the record (${reason}); the write did not happen`),
    );
    this.rebuildingHead = true;
    void this.rebuildHead()
      .then(() => (this.rebuildingHead = false))
      .catch((e: unknown) => this.fatal(`cannot rebuild state after a failed write: ${(e as Error).message}`));
  }

  /** `head` as the checkpoint plus every record the log holds (leader: without touching `visible`). */
  private async rebuildHead(): Promise<void> {
    const snap = await readLatestSnapshot(this.config.dataDir);
    if (snap && snap.snapshot.lsn <= this.wal.lastLsn && snap.snapshot.lsn >= this.wal.baseLsn) this.head.reset(snap.snapshot.lsn, snap.snapshot.entries);
    else if (this.wal.baseLsn === 0) this.head.reset(0, []);
    else throw new Error(`no checkpoint covers the log's start (lsn ${this.wal.baseLsn})`);
    for (const r of this.wal.readFrom(this.head.lsn + 1, this.wal.lastLsn, Number.MAX_SAFE_INTEGER)) {
      const d = decodeRecord(r.buf);
      if (d.kind === 'ok') this.head.apply(d.record.lsn, d.record.op);
    }
  }

  private onFlushed(): void {
    // A node stepping down still answers its writes in flight as a leader does: its head already
    // holds them, so it must not apply them again as a follower would.
    if (this.state.kind !== 'follower') {
      if (this.config.visibility === 'early') this.applyVisible(this.wal.flushedLsn);
      this.recomputeCommit();
    } else {
      this.applyFollower();
      this.upstreamLink?.sendAck();
    }
    this.replication.pumpAll();
    this.checkpoints.maybe();
  }

  private followerList(): FollowerProgress[] {
    return [...this.progress.values()];
  }

  private recomputeCommit(): void {
    const c = commitLsn({ settings: this.commitSettings(), localFlushedLsn: this.wal.flushedLsn, followers: this.followerList(), degraded: this.degraded });
    if (c <= this.commitLsn) return;
    this.commitLsn = c;
    this.blockedWarned = false;
    if (this.config.visibility !== 'early') this.applyVisible(c);
    // The lease is checked again at the moment of acknowledging: a leader that was frozen past
    // its lease may commit locally, but must not tell a client so.
    const fenced = this.leaseValid()
      ? undefined
      : () => new KvError('fenced', `node ${this.config.id}'s lease expired before the write could be acknowledged; it may or may not survive`);
    this.waiters.settleThrough(c, fenced);
  }

  private applyVisible(upto: number): void {
    for (const { lsn, op } of this.pending.takeThrough(upto)) this.visible.apply(lsn, op);
  }

  /** Degrade (or warn, in block mode) when the oldest uncommitted write waited past syncTimeoutMs. */
  private checkSyncTimeout(): void {
    if (this.role !== 'leader' || this.config.mode === 'async' || this.degraded) return;
    if (this.commitLsn >= this.wal.flushedLsn) return;
    const oldest = this.wal.recordAt(this.commitLsn + 1);
    if (!oldest || Date.now() - oldest.timeMs < this.config.syncTimeoutMs) return;
    if (this.config.onSyncTimeout === 'degrade') {
      this.degraded = true;
      this.recoveryTargetLsn = this.wal.flushedLsn;
      this.log.warn(
        { commitLsn: this.commitLsn, flushedLsn: this.wal.flushedLsn, syncTimeoutMs: this.config.syncTimeoutMs },
        'sync timeout: degrading to async until followers are back',
      );
      this.recomputeCommit();
    } else if (!this.blockedWarned) {
      this.blockedWarned = true;
      this.log.warn(
        { commitLsn: this.commitLsn, flushedLsn: this.wal.flushedLsn },
        'sync timeout: writes stay blocked until followers confirm (onSyncTimeout=block)',
      );
    }
  }

  /**
   * Leaves degraded mode once the followers the rule needs have caught up to where the leader was
   * at their previous confirmation, i.e. they keep up within one ack round trip.
   */
  private maybeRecover(): void {
    if (!this.degraded) return;
    const quorum = followerQuorumLsn(this.commitSettings(), this.followerList());
    if (quorum >= this.recoveryTargetLsn) {
      this.degraded = false;
      this.log.info({ quorumLsn: quorum }, 'followers caught up: leaving degraded mode');
    } else {
      this.recoveryTargetLsn = this.wal.flushedLsn;
    }
  }

  // ---- follower path -----------------------------------------------------------------------

  /**
   * Applies flushed records, making them visible to reads here. With `applyDelayMs`, only those the
   * leader wrote at least that long ago; a timer comes back for the rest. Returns whether anything
   * was applied. `all` ignores the delay (promotion).
   */
  private applyFollower(all = false): boolean {
    const delay = all ? 0 : this.config.applyDelayMs;
    const ready = this.pending.takeThrough(this.wal.flushedLsn, delay > 0 ? Date.now() - delay : Infinity);
    for (const { lsn, op } of ready) this.head.apply(lsn, op);
    const next = this.pending.peek();
    if (delay > 0 && next && next.lsn <= this.wal.flushedLsn && !this.applyTimer) {
      this.applyTimer = setTimeout(
        () => {
          this.applyTimer = undefined;
          if (this.state.kind === 'follower' && this.applyFollower()) this.upstreamLink?.sendAck();
        },
        Math.max(1, next.timeMs + delay - Date.now()),
      );
    }
    return ready.length > 0;
  }

  /** Appends a RECORDS body from upstream. Validates every record before it touches the WAL. */
  private appendReplicated(frameBody: Buffer): void {
    // One copy per frame, not per record: `frameBody` is a view into the decoder's buffer, which
    // retained records must not pin; the copy holds exactly this frame's records, all retained.
    const body = Buffer.from(frameBody);
    let o = 0;
    while (o < body.length) {
      const d = decodeRecord(body, o);
      if (d.kind !== 'ok') throw new FrameError(`RECORDS: ${d.kind === 'short' ? 'truncated record' : d.reason} at byte ${o}`);
      const r = d.record;
      const buf = body.subarray(o, o + d.bytes);
      o += d.bytes;
      if (r.lsn <= this.wal.lastLsn) continue;
      if (r.lsn !== this.wal.lastLsn + 1) throw new FrameError(`RECORDS: gap, got lsn ${r.lsn} after ${this.wal.lastLsn}`);
      if (r.epoch > this.epoch) throw new FrameError(`RECORDS: record epoch ${r.epoch} above the stream's ${this.epoch}`);
      this.noteEpochStart(r.epoch, r.lsn);
      this.wal.appendEncoded(buf, r);
      this.pending.push(r.lsn, r.op, r.timeMs);
      this.checkpoints.noteAppended(buf.length);
    }
  }

  private noteEpochStart(epoch: number, lsn: number): void {
    const last = this.meta.epochHistory[this.meta.epochHistory.length - 1];
    if (!last || last.epoch < epoch) {
      this.meta.epochHistory.push({ epoch, startLsn: lsn });
      void this.persistMeta().catch((e: unknown) => this.fatal(`cannot write meta.json: ${(e as Error).message}`));
    }
  }

  private async installSnapshot(bytes: Buffer, upstreamHistory: EpochStart[]): Promise<void> {
    const snap = decodeSnapshot(bytes, 'from upstream');
    await this.wal.resetTo(snap.lsn, snap.epoch);
    // The log before the snapshot is the upstream's: so is that part of the epoch history.
    this.meta = { ...this.meta, epochHistory: upstreamHistory.filter((e) => e.startLsn <= snap.lsn) };
    if (this.meta.epochHistory.length === 0 && snap.lsn > 0) this.meta.epochHistory = [{ epoch: snap.epoch, startLsn: 1 }];
    await this.persistMeta();
    await installSnapshotFile(this.config.dataDir, snap.lsn, bytes);
    this.pending.clear();
    this.head.reset(snap.lsn, snap.entries);
    this.checkpoints.startedFrom(snap.lsn);
    this.log.info({ lsn: snap.lsn, keys: snap.entries.length, bytes: bytes.length }, 'installed snapshot from upstream');
    this.emit('snapshot-installed', snap.lsn);
  }

  /** Takes a checkpoint now (or joins the one running). */
  checkpoint(): Promise<Checkpoint> {
    return this.checkpoints.take();
  }

  // ---- follower bookkeeping on the upstream side ------------------------------------------

  private onFollowerProgress(s: FollowerSession): void {
    this.progress.set(s.id, { id: s.id, writtenLsn: s.writtenLsn, flushedLsn: s.flushedLsn, appliedLsn: s.appliedLsn, session: s });
    if (this.role !== 'leader') return;
    this.maybeRecover();
    this.recomputeCommit();
  }

  followerStatuses(): FollowerStatus[] {
    const now = Date.now();
    const out: FollowerStatus[] = [];
    for (const p of this.progress.values()) {
      const s = p.session;
      const connected = !!s && !s.closed && now - s.lastAckMs < Math.max(10 * this.config.heartbeatMs, 1000);
      const lagRecords = Math.max(0, this.wal.lastLsn - p.appliedLsn);
      const next = this.wal.recordAt(p.appliedLsn + 1);
      const lagMs = lagRecords === 0 ? 0 : next ? now - next.timeMs : -1;
      out.push({
        id: p.id,
        address: s?.address ?? '',
        connected,
        writtenLsn: p.writtenLsn,
        flushedLsn: p.flushedLsn,
        appliedLsn: p.appliedLsn,
        lagRecords,
        lagMs,
      });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The upstream's view, for a follower's /status. */
  upstreamStatus(): UpstreamState | null {
    const s = this.state;
    if (s.kind !== 'follower' || !s.link) return null;
    const u = s.info;
    return {
      address: s.upstream ?? null,
      id: u.upstreamId ?? null,
      connected: s.link.connected,
      streaming: s.link.streaming,
      upstreamLastLsn: u.lastLsn ?? null,
      lagRecords: u.lastLsn === undefined ? null : Math.max(0, u.lastLsn - this.head.lsn),
    };
  }

  // ---- adapters for the replication modules -------------------------------------------------

  private upstreamHost(): UpstreamHost {
    return {
      id: this.config.id,
      token: this.config.token,
      ackLevel: this.config.ackLevel,
      wal: this.wal,
      log: this.log,
      epoch: () => this.epoch,
      leaderHttp: () => this.leaderHttp(),
      latestCheckpoint: () => this.checkpoints.latest(),
      epochHistory: () => this.meta.epochHistory,
      isLeader: () => this.role === 'leader',
      // A follower relays only while it streams from its own upstream: a node that just stepped
      // down, or whose log may diverge, must not hand its log (or a checkpoint of it) to others.
      canServe: () => this.role === 'leader' || !!this.upstreamLink?.streaming,
      onNewerEpoch: (epoch, why) =>
        void this.serialized(() => this.adoptEpoch(epoch, why)).catch((e: unknown) => this.fatal(`cannot persist epoch: ${(e as Error).message}`)),
      onFollowerProgress: (s) => this.onFollowerProgress(s),
      onFollowerJoined: (s) => {
        this.progress.set(s.id, { id: s.id, writtenLsn: s.writtenLsn, flushedLsn: s.flushedLsn, appliedLsn: s.appliedLsn, session: s });
        this.log.info({ follower: s.id, address: s.address }, 'follower joined');
      },
      onFollowerLeft: (s) => this.log.info({ follower: s.id }, 'follower left'),
      heartbeatBody: () => ({
        leaderHttp: this.leaderHttp(),
        lastLsn: this.state.kind === 'follower' ? (this.state.info.lastLsn ?? this.wal.lastLsn) : this.wal.lastLsn,
        commitLsn: this.commitLsn,
        timeMs: Date.now(),
      }),
    };
  }

  private downstreamHost(): DownstreamHost {
    return {
      id: this.config.id,
      token: this.config.token,
      log: this.log,
      epoch: () => this.epoch,
      lastLsn: () => this.wal.lastLsn,
      lastEpoch: () => this.lastLogEpoch,
      writtenLsn: () => this.wal.writtenLsn,
      flushedLsn: () => this.wal.flushedLsn,
      appliedLsn: () => this.head.lsn,
      adoptEpoch: (epoch) => this.serialized(() => this.adoptEpoch(epoch, 'upstream frame')),
      rewind: (lsn) => this.rewind(lsn),
      installSnapshot: (bytes, history) => this.installSnapshot(bytes, history),
      appendReplicated: (body) => this.appendReplicated(body),
      onUpstreamInfo: (info) => {
        const s = this.state;
        if (s.kind === 'follower') s.info = { ...s.info, ...Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) };
        if (info.commitLsn !== undefined) this.commitLsn = Math.min(info.commitLsn, this.wal.flushedLsn);
      },
    };
  }
}
