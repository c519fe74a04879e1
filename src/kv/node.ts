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
 * This file holds the node's state, its lifecycle and the API the server calls; the role is one
 * value (role.ts), and the code of each part lives beside it: node-leader.ts (write path, commit
 * rule), node-follower.ts (apply path), node-roles.ts (role changes), node-replication.ts (what
 * the replication modules see), checkpointer.ts, commit-waiters.ts, lease.ts, op-queue.ts.
 *
 * Try it: `replab node --id n1 --role leader --data-dir /tmp/n1 --http 127.0.0.1:7001`.
 */

import { EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import { parseHostPort } from '../lib/addr.js';
import { assert } from '../lib/assert.js';
import type { Logger } from '../lib/log.js';
import { AppliedWaiters } from './applied-waiters.js';
import { type Checkpoint, Checkpointer } from './checkpointer.js';
import type { FollowerProgress } from './commit.js';
import { CommitWaiters } from './commit-waiters.js';
import type { NodeConfig } from './config.js';
import { UpstreamLink } from './downstream.js';
import { epochOf } from './epochs.js';
import type { FollowerSession } from './follower-session.js';
import { Freshness } from './freshness.js';
import { Lease } from './lease.js';
import { type NodeMeta, readMeta, writeMeta } from './meta.js';
import * as follower from './node-follower.js';
import * as leader from './node-leader.js';
import * as replication from './node-replication.js';
import * as roles from './node-roles.js';
import { OpQueue } from './op-queue.js';
import { KvError } from './protocol.js';
import type { Op } from './record.js';
import { followerRole, leaderRole, type Role, type UpstreamRef } from './role.js';
import { readLatestSnapshot } from './snapshot.js';
import type { FollowerStatus, UpstreamState } from './status.js';
import { KvState } from './store.js';
import { ReplicationServer } from './upstream.js';
import { Wal } from './wal.js';

export class KvNode extends EventEmitter {
  /** The settings the node was started with; never changed (the role carries what changes). */
  readonly config: Readonly<NodeConfig>;
  readonly log: Logger;
  readonly wal: Wal;
  /** Reads waiting for this node to apply an LSN (`after:<lsn>`); refused when the role changes or the node closes. */
  readonly readWaiters = new AppliedWaiters();
  private current!: Role;
  meta: NodeMeta = { epoch: 0, epochHistory: [] };
  /** Leader: every appended write (what cas decides on). Follower: the applied state. */
  readonly head = new KvState();
  commitLsn = 0;
  degraded = false;
  writesTotal = 0;
  httpAddress = '';
  replAddress = '';
  readonly replication: ReplicationServer;
  readonly progress = new Map<string, FollowerProgress & { session?: FollowerSession }>();
  readonly pending = new OpQueue();
  readonly waiters = new CommitWaiters();
  /** A follower's known distance behind the leader (bounded-staleness reads, per-hop lag). */
  readonly freshness = new Freshness();
  /** The sync standbys the next promotion uses when the monitor names none. */
  defaultSyncStandbys: string[];
  recoveryTargetLsn = 0;
  blockedWarned = false;
  readonly checkpoints: Checkpointer;
  syncTimer: NodeJS.Timeout | undefined;
  applyTimer: NodeJS.Timeout | undefined;
  /** Set while `head` is rebuilt after the log dropped records it could not write. */
  rebuildingHead = false;
  stopped = false;
  /** This leader's lease (fencing: lease). */
  readonly lease: Lease;
  metaWrites: Promise<void> = Promise.resolve();
  /** Serialises role changes (promote, follow, step down, rewind). */
  roleChange: Promise<unknown> = Promise.resolve();

  constructor(config: NodeConfig, log: Logger) {
    super();
    this.config = config;
    this.log = log;
    this.defaultSyncStandbys = config.syncStandbys;
    this.state =
      config.role === 'leader'
        ? leaderRole(this.head, config.syncStandbys)
        : followerRole(config.upstream && config.upstreamId ? { address: config.upstream, id: config.upstreamId } : undefined);
    this.lease = new Lease(config.fencing);
    this.wal = new Wal({
      dir: config.dataDir,
      log,
      segmentBytes: config.segmentBytes,
      simulatePowerLoss: config.simulatePowerLoss,
      syncDelayMs: config.syncDelayMs,
    });
    this.replication = new ReplicationServer(replication.upstreamHost(this), config.heartbeatMs);
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

  /** The role and what it owns (role.ts); changed only by promote, demote and follow. */
  get state(): Role {
    return this.current;
  }

  /**
   * A new role also ends every read waiting for an LSN: it waited on the old role's state (a
   * follower's applied log, a leader's committed one), and a deposed leader must not answer it.
   * Those reads are refused definitely, so their clients may try elsewhere.
   */
  set state(next: Role) {
    const before = this.current?.kind;
    this.current = next;
    if (before !== undefined && before !== next.kind)
      this.readWaiters.rejectAll(
        () => new KvError('unavailable', `node ${this.config.id} changed role (${before} → ${next.kind}) while the read waited; retry it`, { leader: null }),
      );
  }

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
    return this.state.kind === 'follower' ? (this.state.upstream?.address ?? null) : null;
  }

  get syncStandbys(): string[] {
    return this.state.kind === 'follower' ? this.defaultSyncStandbys : this.state.syncStandbys;
  }

  /** The commit rule's settings: the node's, with the sync standbys its role names. */
  commitSettings(): NodeConfig {
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
    this.wal.on('stalled', (_info: unknown, keptLsn: number) => {
      leader.onWalStalled(this, keptLsn);
      this.upstreamLink?.suspend(`this node's WAL cannot write (${this.wal.stalled?.reason ?? 'stalled'})`);
    });
    this.wal.on('resumed', () => this.upstreamLink?.resume());
    const port = await this.replication.listen(this.config.replHost, this.config.replPort);
    this.replAddress = `${this.config.replHost}:${port}`;
    if (this.state.kind === 'follower' && this.state.upstream) this.startFollowing();
    this.syncTimer = setInterval(() => leader.checkSyncTimeout(this), Math.max(10, Math.min(100, this.config.syncTimeoutMs / 4)));
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
    this.readWaiters.rejectAll(() => new KvError('unavailable', `node ${this.config.id} is shutting down`, { leader: null }));
    await this.wal.close();
  }

  fatal(message: string): void {
    this.log.fatal(message);
    // Writes waiting for commit may or may not be durable: their clients must see an indefinite error.
    this.waiters.rejectAll(() => new KvError('internal', message));
    this.emit('fatal', new Error(message));
  }

  startFollowing(): void {
    const s = this.state;
    assert(s.kind === 'follower' && s.upstream !== undefined, `startFollowing as ${s.kind} without an upstream`);
    s.link = new UpstreamLink(replication.downstreamHost(this), parseHostPort(s.upstream.address, '--upstream'), s.upstream.id, this.config.heartbeatMs);
    s.link.start();
  }

  get epoch(): number {
    return this.meta.epoch;
  }

  /** Writes meta.json with the current `meta`; writes are queued so two never race on the temp file. */
  persistMeta(): Promise<void> {
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

  serialized<T>(run: () => Promise<T>): Promise<T> {
    const next = this.roleChange.then(run, run);
    this.roleChange = next.catch(() => {});
    return next;
  }

  // ---- what the HTTP API calls (each lives with its role's code) ----------------------------

  /** Appends `op` and resolves once it is committed under the mode (node-leader.ts). */
  write(op: Op): Promise<{ lsn: number; epoch: number }> {
    return leader.write(this, op);
  }

  cas(key: string, expected: string | null, value: string): ReturnType<typeof leader.cas> {
    return leader.cas(this, key, expected, value);
  }

  requireWritable(): void {
    leader.requireWritable(this);
  }

  requireLeaderLease(): void {
    leader.requireLeaderLease(this);
  }

  renewLease(epoch: number, leaseMs: number, sentAtMs: number): Promise<void> {
    return roles.renewLease(this, epoch, leaseMs, sentAtMs);
  }

  promote(epoch: number, leaseMs: number, sentAtMs: number, syncStandbys?: string[]): Promise<void> {
    return roles.promote(this, epoch, leaseMs, sentAtMs, syncStandbys);
  }

  follow(epoch: number, upstream: UpstreamRef, leaderHttp: string | null): Promise<void> {
    return roles.follow(this, epoch, upstream, leaderHttp);
  }

  handOver(epoch: number, on: boolean): Promise<{ lastLsn: number; commitLsn: number }> {
    return roles.handOver(this, epoch, on);
  }

  followerStatuses(): FollowerStatus[] {
    return replication.followerStatuses(this);
  }

  upstreamStatus(): UpstreamState | null {
    return replication.upstreamStatus(this);
  }

  /**
   * How far behind the leader this node knows it is (ms): 0 on a leader, undefined when not known
   * (a follower before its first heartbeat, or a leader stepping down: it no longer leads and has
   * heard from no one who does).
   */
  stalenessMs(): number | undefined {
    if (this.state.kind === 'leader') return 0;
    return this.state.kind === 'follower' ? this.freshness.stalenessMs() : undefined;
  }

  /**
   * Waits until reads here see `lsn` (an `after:<lsn>` read), at most `waitMs`, and refuses the
   * read definitely when they do not: `not_caught_up` past the wait, `unavailable` when too many
   * reads wait already (or the node closes or changes role meanwhile).
   */
  async waitVisible(lsn: number, waitMs: number, signal?: AbortSignal): Promise<void> {
    if (this.visible.lsn >= lsn) return;
    const startedMs = Date.now();
    const end = await this.readWaiters.wait(lsn, waitMs, signal);
    if (end === 'applied' && this.visible.lsn >= lsn) return;
    if (end === 'full')
      throw new KvError('unavailable', `node ${this.config.id} has too many reads waiting to catch up already; retry later or on another node`, {
        leader: null,
      });
    const waitedMs = Date.now() - startedMs;
    throw new KvError('not_caught_up', `node ${this.config.id} had applied lsn ${this.visible.lsn}, not ${lsn}, after waiting ${waitedMs} ms`, {
      appliedLsn: this.visible.lsn,
      wantedLsn: lsn,
      waitedMs,
    });
  }

  leaderHttp(): string | null {
    return this.state.kind === 'leader' ? this.httpAddress : this.state.kind === 'follower' ? this.state.info.leaderHttp : null;
  }

  // ---- leader write path -------------------------------------------------------------------

  private onFlushed(): void {
    // A node stepping down still answers its writes in flight as a leader does: its head already
    // holds them, so it must not apply them again as a follower would.
    if (this.state.kind !== 'follower') {
      if (this.config.visibility === 'early') leader.applyVisible(this, this.wal.flushedLsn);
      leader.recomputeCommit(this);
    } else {
      follower.applyFollower(this);
      this.upstreamLink?.sendAck();
    }
    this.replication.pumpAll();
    this.checkpoints.maybe();
  }

  // ---- follower path -----------------------------------------------------------------------

  /** Takes a checkpoint now (or joins the one running). */
  checkpoint(): Promise<Checkpoint> {
    return this.checkpoints.take();
  }

  // ---- follower bookkeeping on the upstream side ------------------------------------------

  // ---- adapters for the replication modules -------------------------------------------------
}
