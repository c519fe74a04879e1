/**
 * A replab KV node: its log, its state, its epoch record, its replication port, and one role at a
 * time (leader.ts, follower.ts), which owns everything only that role needs. This file holds what
 * every role shares, the node's lifecycle (recovery, close, a fatal error), and the role changes,
 * serialized on the node:
 *
 *   follower ──promote──► leader ──step down──► (stepping down) ──► follower
 *
 * A relay is a follower that others stream from (its replication port serves while it streams).
 * Stepping down takes a while (the log is flushed and what it holds answered by the commit rule);
 * during it the node takes no writes and does not apply as a follower would, because the writes in
 * flight were applied to its head when they were taken.
 *
 * Fencing (`fencing: lease`): a leader accepts a write, serves a leader read and acknowledges a
 * commit only while the lease the monitor renews is valid on this node's monotonic clock, so a
 * leader frozen with SIGSTOP that wakes after a failover acknowledges nothing. A node that learns
 * of a newer epoch (admin call or peer) steps down; told to follow, it rewinds any log suffix the
 * new leader does not have into `rewound.jsonl`.
 *
 * The node reaches the world only through `io` (clock, network, disk: src/lib/io/), so a test can
 * run several nodes in one process on simulated ones (src/sim/).
 *
 * Try it: `replab node --id n1 --role leader --data-dir /tmp/n1 --http 127.0.0.1:7001`.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostIo, type Io } from '../../lib/io/io.js';
import type { Logger } from '../../lib/log.js';
import type { NodeConfig } from '../config.js';
import { KvError } from '../protocol.js';
import type { FollowerReport } from '../replication/upstream.js';
import { ReplicationServer } from '../replication/upstream.js';
import { type Checkpoint, Checkpointer } from '../state/checkpointer.js';
import { NodeMetaStore } from '../state/meta.js';
import { CheckpointFiles } from '../state/snapshot.js';
import { KvState } from '../state/store.js';
import type { Op } from '../wal/record.js';
import { Wal } from '../wal/wal.js';
import { AppliedWaiters } from './applied-waiters.js';
import type { NodeCore } from './core.js';
import { FollowerRole, type UpstreamRef } from './follower.js';
import { type CasResult, LeaderRole } from './leader.js';
import type { LeaseAnchor } from './lease.js';
import type { NodeStatus, ShortStatus } from './status.js';

export type { UpstreamRef };

export class KvNode extends EventEmitter {
  /** The settings the node was started with; never changed (the role carries what changes). */
  readonly config: Readonly<NodeConfig>;
  readonly log: Logger;
  private readonly io: Io;
  private readonly wal: Wal;
  private readonly head = new KvState();
  private readonly meta: NodeMetaStore;
  private readonly checkpoints: Checkpointer;
  private readonly replication: ReplicationServer;
  /** Reads waiting for this node to apply an LSN (`after:<lsn>`); refused when the role changes or the node closes. */
  private readonly readWaiters: AppliedWaiters;
  private readonly core: NodeCore;
  /** Names this process in lease anchors: a restarted node's monotonic clock has another origin. */
  private readonly boot = randomUUID();
  private role: LeaderRole | FollowerRole;
  /** The sync standbys the next promotion uses when the monitor names none. */
  private defaultSyncStandbys: string[];
  private writes = 0;
  private stopped = false;
  /** Serialises role changes (promote, follow, step down, rewind, snapshot install). */
  private roleChange: Promise<unknown> = Promise.resolve();
  private http = '';
  private repl = '';

  constructor(config: NodeConfig, log: Logger, io: Io = hostIo) {
    super();
    this.config = config;
    this.log = log;
    this.io = io;
    this.defaultSyncStandbys = config.syncStandbys;
    this.readWaiters = new AppliedWaiters(io.clock);
    this.wal = new Wal({
      dir: config.dataDir,
      log,
      disk: io.disk,
      clock: io.clock,
      segmentBytes: config.segmentBytes,
      simulatePowerLoss: config.simulatePowerLoss,
      syncDelayMs: config.syncDelayMs,
    });
    this.meta = new NodeMetaStore(io.disk, config.dataDir);
    this.replication = new ReplicationServer(
      {
        id: config.id,
        cluster: config.cluster,
        token: config.token,
        ackLevel: config.ackLevel,
        wal: this.wal,
        log,
        clock: io.clock,
        epoch: () => this.meta.epoch,
        leaderHttp: () => this.leaderHttp(),
        latestCheckpoint: () => this.checkpoints.latest(),
        epochHistory: () => this.meta.history,
        isLeader: () => this.roleKind === 'leader',
        // A follower relays only while it streams from its own upstream: a node that just stepped
        // down, or whose log may diverge, must not hand its log (or a checkpoint of it) to others.
        canServe: () => this.roleKind === 'leader' || (this.role instanceof FollowerRole && this.role.streaming),
        onNewerEpoch: (epoch, why) => void this.adoptEpoch(epoch, why).catch((e: unknown) => this.fatal(`cannot persist epoch: ${String(e)}`)),
        onFollowerProgress: () => {
          if (this.role instanceof LeaderRole) this.role.onFollowerProgress();
        },
        heartbeatBody: () =>
          this.role instanceof FollowerRole
            ? this.role.relayHeartbeat()
            : { leaderHttp: this.leaderHttp(), lastLsn: this.wal.lastLsn, commitLsn: this.role.commitLsn, timeMs: io.clock.now() },
      },
      io.network,
      config.heartbeatMs,
    );
    this.checkpoints = new Checkpointer({
      files: new CheckpointFiles(io.disk, config.dataDir),
      clock: io.clock,
      checkpointBytes: config.checkpointBytes,
      log,
      wal: this.wal,
      head: this.head,
      epoch: () => this.meta.epoch,
      isLeader: () => this.roleKind === 'leader',
      lowestNeededLsn: () => this.replication.lowestNeededLsn(),
    });
    this.core = {
      config,
      log,
      io,
      boot: this.boot,
      wal: this.wal,
      head: this.head,
      meta: this.meta,
      checkpoints: this.checkpoints,
      replication: this.replication,
      readWaiters: this.readWaiters,
      adoptEpoch: (epoch, why) => this.adoptEpoch(epoch, why),
      countWrite: () => {
        this.writes++;
      },
      fatal: (message) => this.fatal(message),
      serialized: (run) => this.serialized(run),
    };
    // Until `open` has read the data dir, the node is a follower that follows no one.
    this.role = new FollowerRole(this.core, { commitLsn: 0 });
  }

  // ---- what the node is now ------------------------------------------------------------------

  /** 'leader', 'stepping-down' or 'follower'. */
  get roleKind(): 'leader' | 'stepping-down' | 'follower' {
    return this.role.kind;
  }

  /** The role as clients see it: a node stepping down no longer leads. */
  get roleName(): 'leader' | 'follower' {
    return this.role.kind === 'leader' ? 'leader' : 'follower';
  }

  get epoch(): number {
    return this.meta.epoch;
  }

  /** What reads see: a leader's committed state (also while stepping down), a follower's applied one. */
  get visible(): KvState {
    return this.role.visible;
  }

  /** The HTTP address of the current leader as this node knows it, or null. */
  leaderHttp(): string | null {
    if (this.role instanceof FollowerRole) return this.role.leaderHttp();
    return this.role.kind === 'leader' ? this.http : null;
  }

  /**
   * How far behind the leader this node knows it is (ms): 0 on a leader, undefined when not known
   * (a follower before its first heartbeat, or a leader stepping down: it no longer leads and has
   * heard from no one who does).
   */
  stalenessMs(): number | undefined {
    if (this.role instanceof FollowerRole) return this.role.stalenessMs();
    return this.role.kind === 'leader' ? 0 : undefined;
  }

  /** Where the node listens (set by whoever serves its HTTP API, and by `open`). */
  get httpAddress(): string {
    return this.http;
  }
  set httpAddress(address: string) {
    this.http = address;
  }
  get replAddress(): string {
    return this.repl;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Recovers from the data dir and opens the replication port. HTTP is served by api/server.ts. */
  async open(): Promise<void> {
    const { config, log, io } = this;
    await io.disk.mkdir(config.dataDir);
    const bootstrapLeader = config.role === 'leader';
    const stored = await this.meta.load(
      bootstrapLeader ? { epoch: 1, epochHistory: [{ epoch: 1, startLsn: 1 }], leaderOf: 1 } : { epoch: 0, epochHistory: [] },
    );
    // `--role leader` only bootstraps a fresh data dir. Later, a node resumes leadership only if
    // it still led the newest epoch it knows; otherwise it stepped down or someone else led since,
    // and it waits as a follower until the monitor says whom to follow.
    const leads = bootstrapLeader && (!stored || stored.leaderOf === stored.epoch);
    if (bootstrapLeader && !leads)
      log.warn(
        { epoch: this.meta.epoch, leaderOf: stored?.leaderOf ?? null },
        'not the leader of the newest epoch: starting as a follower without upstream until told whom to follow',
      );
    const snap = await this.checkpoints.files.latest();
    if (snap) {
      this.head.reset(snap.snapshot.lsn, snap.snapshot.entries);
      this.checkpoints.startedFrom(snap.snapshot.lsn);
    }
    const records = await this.wal.recover(snap?.snapshot.lsn ?? 0);
    for (const r of records) this.head.apply(r.lsn, r.op);
    // The records carry their epochs: an epoch start whose meta.json write did not survive a
    // crash is recovered from the log itself.
    this.meta.noteRecovered(records);
    log.info({ snapshotLsn: snap?.snapshot.lsn ?? 0, replayed: records.length, lastLsn: this.wal.lastLsn, epoch: this.meta.epoch }, 'recovered');
    // A restarted node counts its whole local log as committed: it cannot know what its
    // followers confirmed before the crash (PostgreSQL behaves the same way).
    const upstream = !leads && config.upstream && config.upstreamId ? { address: config.upstream, id: config.upstreamId } : undefined;
    this.wal.on('error', (e: Error) => this.fatal(`WAL write failed: ${e.message}`));
    const port = await this.replication.listen(config.replHost, config.replPort);
    this.repl = `${config.replHost}:${port}`;
    this.checkpoints.start();
    this.setRole(
      leads
        ? new LeaderRole(this.core, config.syncStandbys)
        : new FollowerRole(this.core, { upstream: bootstrapLeader ? undefined : upstream, commitLsn: this.wal.lastLsn }),
    );
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.role instanceof FollowerRole) this.role.leave();
    else this.role.close(() => new KvError('unavailable', 'node is shutting down'));
    await this.replication.close();
    this.readWaiters.rejectAll(() => new KvError('unavailable', `node ${this.config.id} is shutting down`, { leader: null }));
    await this.wal.close();
  }

  /** Stops the node: writes waiting for commit may or may not be durable, so their clients see an indefinite error. */
  fatal(message: string): void {
    this.log.fatal(message);
    if (this.role instanceof LeaderRole) this.role.close(() => new KvError('internal', message));
    this.emit('fatal', new Error(message));
  }

  /** Takes a checkpoint now (or joins the one running). */
  checkpoint(): Promise<Checkpoint> {
    return this.checkpoints.take();
  }

  // ---- the client API (api/server.ts) -------------------------------------------------------

  /** Appends `op` and resolves once it is committed under the mode. */
  async write(op: Op): Promise<{ lsn: number; epoch: number }> {
    return this.leading().write(op);
  }

  /** Deletes `key`; `existed` says whether the leader's latest state (pending writes included) had it. */
  async del(key: string): Promise<{ lsn: number; epoch: number; existed: boolean }> {
    const leader = this.leading();
    leader.requireWritable();
    const existed = this.head.get(key) !== undefined;
    return { ...(await leader.write({ type: 'del', key })), existed };
  }

  async cas(key: string, expected: string | null, value: string): Promise<CasResult> {
    return this.leading().cas(key, expected, value);
  }

  /** Refuses a write before its body is read: not the leader, no lease, a stalled disk, a switchover. */
  requireWritable(): void {
    this.leading().requireWritable();
  }

  /** A leader serves reads only while its lease holds. */
  requireLeaderLease(): void {
    if (this.role instanceof LeaderRole) this.role.requireLease();
  }

  /**
   * Waits until reads here see `lsn` (an `after:<lsn>` read), at most `waitMs`, and refuses the
   * read definitely when they do not: `not_caught_up` past the wait, `unavailable` when too many
   * reads wait already (or the node closes or changes role meanwhile).
   */
  async waitVisible(lsn: number, waitMs: number, signal?: AbortSignal): Promise<void> {
    if (this.visible.lsn >= lsn) return;
    const { clock } = this.io;
    const startedMs = clock.monotonic();
    const end = await this.readWaiters.wait(lsn, waitMs, signal);
    if (end === 'applied' && this.visible.lsn >= lsn) return;
    if (end === 'full')
      throw new KvError('unavailable', `node ${this.config.id} has too many reads waiting to catch up already; retry later or on another node`, {
        leader: null,
      });
    const waitedMs = Math.round(clock.monotonic() - startedMs);
    throw new KvError('not_caught_up', `node ${this.config.id} had applied lsn ${this.visible.lsn}, not ${lsn}, after waiting ${waitedMs} ms`, {
      appliedLsn: this.visible.lsn,
      wantedLsn: lsn,
      waitedMs,
    });
  }

  /** Refuses every read still waiting for an LSN (the HTTP API is closing). */
  refuseWaitingReads(error: () => Error): void {
    this.readWaiters.rejectAll(error);
  }

  // ---- the admin API: role changes, each with the caller's epoch -----------------------------

  /**
   * The monitor renews the leader's lease (and thereby checks it is alive and current): `holdMs`
   * after `anchor`, a reading of this node's own monotonic clock that an earlier answer carried
   * (lease.ts). Counting from the node's own earlier reading, not from when this request arrived,
   * means a renewal that sat in a socket buffer while this process was frozen grants no more than
   * the monitor counted on, and no clock of the monitor's is ever compared with this node's.
   */
  renewLease(epoch: number, holdMs: number, anchor: LeaseAnchor | undefined): Promise<void> {
    return this.serialized(async () => {
      await this.checkEpoch(epoch, 'lease');
      if (!(this.role instanceof LeaderRole) || this.role.kind !== 'leader')
        throw new KvError('not_leader', `node ${this.config.id} is not the leader; no lease to renew`, { leader: this.leaderHttp() });
      this.role.renewLease(holdMs, anchor);
    });
  }

  /** A reading of this node's monotonic clock to echo in a lease grant (every status document carries one). */
  leaseAnchor(): LeaseAnchor {
    return { boot: this.boot, atMs: this.io.clock.monotonic() };
  }

  /** Makes this follower the leader of `epoch`, which must be newer than any it has seen. */
  promote(epoch: number, holdMs: number, anchor: LeaseAnchor | undefined, syncStandbys?: string[]): Promise<void> {
    return this.serialized(async () => {
      const current = this.role;
      if (current instanceof LeaderRole && current.kind === 'leader' && epoch === this.meta.epoch) {
        current.renewLease(holdMs, anchor);
        return;
      }
      if (epoch <= this.meta.epoch)
        throw new KvError('stale_epoch', `promote to epoch ${epoch} refused: node ${this.config.id} has seen epoch ${this.meta.epoch}`, {
          epoch: this.meta.epoch,
        });
      if (!(current instanceof FollowerRole)) throw new Error(`promote of a node that is ${current.kind}`);
      current.finishForPromotion();
      await this.wal.sync();
      await this.meta.startLeading(epoch, this.wal.lastLsn + 1);
      if (syncStandbys) this.defaultSyncStandbys = syncStandbys;
      // The confirmations of followers no longer connected were for another leader's stream.
      this.replication.forgetDisconnected();
      this.setRole(new LeaderRole(this.core, this.defaultSyncStandbys, { holdMs, anchor }));
      this.log.warn({ epoch, lastLsn: this.wal.lastLsn, syncStandbys: this.defaultSyncStandbys }, 'promoted to leader');
    });
  }

  /** Follows `upstream` (a replication address) from now on; a leader steps down first. */
  follow(epoch: number, upstream: UpstreamRef, leaderHttp: string | null): Promise<void> {
    return this.serialized(async () => {
      await this.checkEpoch(epoch, 'follow');
      await this.stepDown(`told to follow ${upstream.id} at ${upstream.address}`);
      const current = this.role;
      if (!(current instanceof FollowerRole)) throw new Error(`follow as ${current.kind}`);
      if (current.follow(upstream, leaderHttp)) this.log.info({ upstream, epoch: this.meta.epoch }, 'following a new upstream');
    });
  }

  /** Planned switchover: stop taking writes and report how far the log goes once flushed. */
  handOver(epoch: number, on: boolean): Promise<{ lastLsn: number; commitLsn: number }> {
    return this.serialized(async () => {
      await this.checkEpoch(epoch, 'fence');
      return this.leading().handOver(on);
    });
  }

  // ---- status ------------------------------------------------------------------------------

  /** The short document each admin call answers with. */
  shortStatus(): ShortStatus {
    const role = this.role;
    return {
      id: this.config.id,
      role: this.roleName,
      epoch: this.meta.epoch,
      lastEpoch: this.meta.epochOf(this.wal.lastLsn),
      lastLsn: this.wal.lastLsn,
      writtenLsn: this.wal.writtenLsn,
      flushedLsn: this.wal.flushedLsn,
      commitLsn: role.commitLsn,
      appliedLsn: role.visible.lsn,
      degraded: role instanceof LeaderRole && role.degraded,
      leaseValid: role instanceof LeaderRole && role.kind === 'leader' && role.leaseValid(),
      upstream: role instanceof FollowerRole ? role.upstreamAddress : null,
      leaseAnchor: this.leaseAnchor(),
    };
  }

  /** GET /status. */
  status(): NodeStatus {
    const c = this.config;
    const role = this.role;
    const leading = role instanceof LeaderRole && role.kind === 'leader' ? role : undefined;
    return {
      ...this.shortStatus(),
      epochHistory: [...this.meta.history],
      checkpointLsn: this.wal.baseLsn,
      http: this.http,
      repl: this.repl,
      leader: this.leaderHttp(),
      upstream: role instanceof FollowerRole ? role.upstreamStatus() : null,
      mode: c.mode,
      k: c.k,
      ackLevel: c.ackLevel,
      applyDelayMs: c.applyDelayMs,
      syncDelayMs: c.syncDelayMs,
      simulatePowerLoss: c.simulatePowerLoss,
      syncStandbys: role instanceof LeaderRole ? role.syncStandbys : this.defaultSyncStandbys,
      onSyncTimeout: c.onSyncTimeout,
      syncTimeoutMs: c.syncTimeoutMs,
      visibility: c.visibility,
      diskStalled: this.wal.stalled ?? null,
      fencing: c.fencing,
      leaseRemainingMs: leading && c.fencing === 'lease' ? leading.leaseRemainingMs() : null,
      fsyncs: this.wal.fsyncCount,
      writes: this.writes,
      keys: role.visible.data.size,
      staleMs: this.stalenessMs() ?? null,
      leaderCommitLsn: leading ? leading.commitLsn : role instanceof FollowerRole ? (role.leaderCommitLsn() ?? null) : null,
      followers: this.followerStatuses(),
    };
  }

  followerStatuses(): FollowerReport[] {
    return this.replication.followerStatuses();
  }

  // ---- internals ---------------------------------------------------------------------------

  private leading(): LeaderRole {
    const role = this.role;
    if (role instanceof LeaderRole) return role;
    throw new KvError('not_leader', `node ${this.config.id} is a follower; send writes to the leader`, { leader: this.leaderHttp() });
  }

  /**
   * A new role also ends every read waiting for an LSN: it waited on the old role's state (a
   * follower's applied log, a leader's committed one), and a deposed leader must not answer it.
   * Those reads are refused definitely, so their clients may try elsewhere.
   */
  private setRole(next: LeaderRole | FollowerRole): void {
    const before = this.role;
    before.leave();
    this.role = next;
    next.enter();
    this.roleKindChanged(before.kind, next.kind);
  }

  private roleKindChanged(before: string, after: string): void {
    if (before !== after)
      this.readWaiters.rejectAll(
        () => new KvError('unavailable', `node ${this.config.id} changed role (${before} → ${after}) while the read waited; retry it`, { leader: null }),
      );
  }

  private serialized<T>(run: () => Promise<T>): Promise<T> {
    const next = this.roleChange.then(run, run);
    this.roleChange = next.catch(() => {});
    return next;
  }

  /** Admin calls carry the caller's epoch: older is refused, newer is adopted (stepping down). */
  private async checkEpoch(epoch: number, what: string): Promise<void> {
    if (epoch < this.meta.epoch && this.config.fencing !== 'none')
      throw new KvError('stale_epoch', `${what} from epoch ${epoch} refused: node ${this.config.id} is at epoch ${this.meta.epoch}`, {
        epoch: this.meta.epoch,
      });
    if (epoch > this.meta.epoch) await this.adoptNow(epoch, `${what} carries epoch ${epoch}`);
  }

  /** Persists a newer epoch (queued behind role changes); a leader that learns of one steps down. */
  private adoptEpoch(epoch: number, why: string): Promise<void> {
    return this.serialized(() => this.adoptNow(epoch, why));
  }

  private async adoptNow(epoch: number, why: string): Promise<void> {
    if (epoch <= this.meta.epoch) return;
    // Step down first: a leader must never write a record under an epoch it does not own.
    await this.stepDown(`${why}: a newer leader exists`);
    await this.meta.adopt(epoch);
    this.log.info({ epoch, why }, 'adopted newer epoch');
  }

  /** A leader becomes a follower of no one (the monitor says whom to follow next); others are unchanged. */
  private async stepDown(reason: string): Promise<void> {
    const leading = this.role;
    if (!(leading instanceof LeaderRole) || leading.kind !== 'leader') return;
    const done = leading.stepDown();
    this.roleKindChanged('leader', 'stepping-down');
    await done;
    this.setRole(new FollowerRole(this.core, { commitLsn: leading.commitLsn }));
    this.replication.closeAll('upstream stepped down');
    this.log.warn({ reason, epoch: this.meta.epoch, lastLsn: this.wal.lastLsn }, 'stepped down to follower');
  }
}
