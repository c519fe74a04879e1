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
 * Try it: `replab node --id n1 --role leader --data-dir /tmp/n1 --http 127.0.0.1:7001`.
 * Known gaps: the leader does not fence itself here (leases and demotion are the monitor's job).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { Wal } from './wal.js';
import { KvState } from './store.js';
import { decodeRecord, encodeRecord, type Op, type WalRecord } from './record.js';
import { encodeSnapshot, decodeSnapshot, installSnapshotFile, readLatestSnapshot } from './snapshot.js';
import { readMeta, writeMeta, type NodeMeta } from './meta.js';
import { commitLsn, followerQuorumLsn, type FollowerProgress } from './commit.js';
import { ReplicationServer, type FollowerSession, type UpstreamHost } from './upstream.js';
import { UpstreamLink, type DownstreamHost } from './downstream.js';
import { FrameError } from './frames.js';
import { KvError } from './protocol.js';
import type { NodeConfig } from './config.js';
import { parseHostPort } from '../lib/addr.js';
import { isPidRunning } from '../lib/pid.js';
import type { Logger } from '../lib/log.js';

interface Waiter {
  lsn: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface FollowerStatus {
  id: string;
  address: string;
  connected: boolean;
  flushedLsn: number;
  appliedLsn: number;
  lagRecords: number;
  lagMs: number;
}

/** Pending ops kept between append and visibility, in LSN order (a queue with a moving head). */
class OpQueue {
  private items: Array<{ lsn: number; op: Op }> = [];
  private head = 0;
  push(lsn: number, op: Op): void {
    this.items.push({ lsn, op });
  }
  /** Removes and returns every op with lsn ≤ upto. */
  takeThrough(upto: number): Array<{ lsn: number; op: Op }> {
    const start = this.head;
    while (this.head < this.items.length && this.items[this.head]!.lsn <= upto) this.head++;
    const out = this.items.slice(start, this.head);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class KvNode extends EventEmitter {
  readonly config: NodeConfig;
  readonly log: Logger;
  readonly wal: Wal;
  role: 'leader' | 'follower';
  meta: NodeMeta = { epoch: 0, epochHistory: [] };
  /** Leader: every appended write (what cas decides on). Follower: the applied state. */
  readonly head = new KvState();
  /** Leader: committed (or, early visibility, flushed) writes. Follower: same object as `head`. */
  visible: KvState;
  commitLsn = 0;
  degraded = false;
  writesTotal = 0;
  httpAddress = '';
  replAddress = '';
  upstreamLink: UpstreamLink | undefined;
  readonly replication: ReplicationServer;
  private readonly progress = new Map<string, FollowerProgress & { session?: FollowerSession }>();
  private readonly pending = new OpQueue();
  private waiters: Waiter[] = [];
  private upstreamInfo: { leaderHttp: string | null; upstreamId?: string; lastLsn?: number; commitLsn?: number; timeMs?: number } = { leaderHttp: null };
  private recoveryTargetLsn = 0;
  private blockedWarned = false;
  private checkpointing: Promise<{ lsn: number; epoch: number; bytes: Buffer }> | undefined;
  private lastCheckpointLsn = 0;
  private bytesSinceCheckpoint = 0;
  private syncTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(config: NodeConfig, log: Logger) {
    super();
    this.config = config;
    this.log = log;
    this.role = config.role;
    this.visible = config.role === 'leader' ? new KvState() : this.head;
    this.wal = new Wal({ dir: config.dataDir, log, segmentBytes: config.segmentBytes });
    this.replication = new ReplicationServer(this.upstreamHost(), config.heartbeatMs);
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Recovers from the data dir and opens the replication port. HTTP is started by server.ts. */
  async open(): Promise<void> {
    await fsp.mkdir(this.config.dataDir, { recursive: true });
    this.meta = (await readMeta(this.config.dataDir)) ?? { epoch: this.role === 'leader' ? 1 : 0, epochHistory: this.role === 'leader' ? [{ epoch: 1, startLsn: 1 }] : [] };
    await writeMeta(this.config.dataDir, this.meta);
    const snap = await readLatestSnapshot(this.config.dataDir);
    if (snap) {
      this.head.reset(snap.snapshot.lsn, snap.snapshot.entries);
      this.lastCheckpointLsn = snap.snapshot.lsn;
    }
    const records = await this.wal.recover(snap?.snapshot.lsn ?? 0);
    for (const r of records) this.head.apply(r.lsn, r.op);
    if (this.visible !== this.head) this.visible.reset(this.head.lsn, this.head.data);
    // A restarted node counts its whole local log as committed: it cannot know what its
    // followers confirmed before the crash (PostgreSQL behaves the same way).
    this.commitLsn = this.wal.lastLsn;
    this.log.info({ snapshotLsn: snap?.snapshot.lsn ?? 0, replayed: records.length, lastLsn: this.wal.lastLsn, epoch: this.meta.epoch }, 'recovered');
    this.wal.on('flushed', () => this.onFlushed());
    this.wal.on('error', (e: Error) => this.fatal(`WAL write failed: ${e.message}`));
    const port = await this.replication.listen(this.config.replHost, this.config.replPort);
    this.replAddress = `${this.config.replHost}:${port}`;
    if (this.role === 'follower') this.startFollowing();
    this.syncTimer = setInterval(() => this.checkSyncTimeout(), Math.max(10, Math.min(100, this.config.syncTimeoutMs / 4)));
    this.syncTimer.unref();
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.syncTimer);
    this.upstreamLink?.stop();
    await this.replication.close();
    for (const w of this.waiters) w.reject(new KvError('unavailable', 'node is shutting down'));
    this.waiters = [];
    await this.wal.close();
  }

  private fatal(message: string): void {
    this.log.fatal(message);
    // Writes waiting for commit may or may not be durable: their clients must see an indefinite error.
    for (const w of this.waiters) w.reject(new KvError('internal', message));
    this.waiters = [];
    this.emit('fatal', new Error(message));
  }

  private startFollowing(): void {
    if (!this.config.upstream) throw new Error('a follower needs --upstream');
    this.upstreamLink = new UpstreamLink(this.downstreamHost(), parseHostPort(this.config.upstream, '--upstream'), this.config.heartbeatMs);
    this.upstreamLink.start();
  }

  get epoch(): number {
    return this.meta.epoch;
  }

  leaderHttp(): string | null {
    return this.role === 'leader' ? this.httpAddress : this.upstreamInfo.leaderHttp;
  }

  // ---- leader write path -------------------------------------------------------------------

  private requireLeader(): void {
    if (this.role !== 'leader') throw new KvError('not_leader', `node ${this.config.id} is a follower; send writes to the leader`, { leader: this.leaderHttp() });
  }

  /** Appends `op` and resolves once it is committed under the mode. */
  async write(op: Op): Promise<{ lsn: number; epoch: number }> {
    this.requireLeader();
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
  async cas(key: string, expected: string | null, value: string): Promise<{ ok: true; lsn: number; epoch: number } | { ok: false; current: string | null; lsn: number; epoch: number }> {
    this.requireLeader();
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
    return new Promise((resolve, reject) => this.waiters.push({ lsn, resolve, reject }));
  }

  private onFlushed(): void {
    if (this.role === 'leader') {
      if (this.config.visibility === 'early') this.applyVisible(this.wal.flushedLsn);
      this.recomputeCommit();
    } else {
      this.applyFollower();
      this.upstreamLink?.sendAck();
    }
    this.replication.pumpAll();
    this.maybeCheckpoint();
  }

  private followerList(): FollowerProgress[] {
    return [...this.progress.values()];
  }

  private recomputeCommit(): void {
    const c = commitLsn({ settings: this.config, localFlushedLsn: this.wal.flushedLsn, followers: this.followerList(), degraded: this.degraded });
    if (c <= this.commitLsn) return;
    this.commitLsn = c;
    this.blockedWarned = false;
    if (this.config.visibility !== 'early') this.applyVisible(c);
    let i = 0;
    while (i < this.waiters.length && this.waiters[i]!.lsn <= c) this.waiters[i++]!.resolve();
    if (i > 0) this.waiters.splice(0, i);
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
      this.log.warn({ commitLsn: this.commitLsn, flushedLsn: this.wal.flushedLsn, syncTimeoutMs: this.config.syncTimeoutMs }, 'sync timeout: degrading to async until followers are back');
      this.recomputeCommit();
    } else if (!this.blockedWarned) {
      this.blockedWarned = true;
      this.log.warn({ commitLsn: this.commitLsn, flushedLsn: this.wal.flushedLsn }, 'sync timeout: writes stay blocked until followers confirm (onSyncTimeout=block)');
    }
  }

  /**
   * Leaves degraded mode once the followers the rule needs have caught up to where the leader was
   * at their previous confirmation, i.e. they keep up within one ack round trip.
   */
  private maybeRecover(): void {
    if (!this.degraded) return;
    const quorum = followerQuorumLsn(this.config, this.followerList());
    if (quorum >= this.recoveryTargetLsn) {
      this.degraded = false;
      this.log.info({ quorumLsn: quorum }, 'followers caught up: leaving degraded mode');
    } else {
      this.recoveryTargetLsn = this.wal.flushedLsn;
    }
  }

  // ---- follower path -----------------------------------------------------------------------

  private applyFollower(): void {
    for (const { lsn, op } of this.pending.takeThrough(this.wal.flushedLsn)) this.head.apply(lsn, op);
  }

  /** Appends a RECORDS body from upstream. Validates every record before it touches the WAL. */
  private appendReplicated(body: Buffer): void {
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
      // Copy: `buf` is a view into a frame buffer; retained records must not pin whole frames.
      this.wal.appendEncoded(Buffer.from(buf), r);
      this.pending.push(r.lsn, r.op);
      this.bytesSinceCheckpoint += buf.length;
    }
  }

  private noteEpochStart(epoch: number, lsn: number): void {
    const last = this.meta.epochHistory[this.meta.epochHistory.length - 1];
    if (!last || last.epoch < epoch) {
      this.meta.epochHistory.push({ epoch, startLsn: lsn });
      void writeMeta(this.config.dataDir, this.meta).catch((e: unknown) => this.fatal(`cannot write meta.json: ${(e as Error).message}`));
    }
  }

  private async installSnapshot(bytes: Buffer): Promise<void> {
    const snap = decodeSnapshot(bytes, 'from upstream');
    await this.wal.resetTo(snap.lsn, snap.epoch);
    await installSnapshotFile(this.config.dataDir, snap.lsn, bytes);
    this.pending.clear();
    this.head.reset(snap.lsn, snap.entries);
    this.lastCheckpointLsn = snap.lsn;
    this.bytesSinceCheckpoint = 0;
    this.log.info({ lsn: snap.lsn, keys: snap.entries.length, bytes: bytes.length }, 'installed snapshot from upstream');
    this.emit('snapshot-installed', snap.lsn);
  }

  // ---- checkpoints -------------------------------------------------------------------------

  private maybeCheckpoint(): void {
    if (this.role === 'leader') this.bytesSinceCheckpoint = this.retainedBytesEstimate();
    if (this.checkpointing || this.bytesSinceCheckpoint < this.config.checkpointBytes) return;
    void this.checkpoint().catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'checkpoint failed'));
  }

  private retainedBytesEstimate(): number {
    // Average record size × records since the checkpoint: exact enough to pace checkpoints.
    const n = this.wal.lastLsn - this.lastCheckpointLsn;
    const sample = this.wal.recordAt(this.wal.lastLsn);
    return n * (sample ? sample.buf.length : 0);
  }

  /**
   * Writes a checkpoint of `head` at its LSN without stopping writes: the copy of the map is
   * synchronous (one pass), encoding and the file write happen while writes continue. The file is
   * only installed once the WAL has flushed through that LSN, so it never contains a write the WAL
   * could lose.
   */
  checkpoint(): Promise<{ lsn: number; epoch: number; bytes: Buffer }> {
    if (this.checkpointing) return this.checkpointing;
    const run = async () => {
      const lsn = this.head.lsn;
      const epoch = this.wal.lastEpoch || this.epoch;
      const entries = [...this.head.data];
      const bytes = encodeSnapshot({ lsn, epoch, timeMs: Date.now(), entries });
      while (this.wal.flushedLsn < lsn) await this.wal.sync();
      await installSnapshotFile(this.config.dataDir, lsn, bytes);
      this.lastCheckpointLsn = lsn;
      this.bytesSinceCheckpoint = 0;
      // Keep what connected followers still need, unless it grew far past the checkpoint size.
      const needed = this.replication.lowestNeededLsn() - 1;
      const retainedBytes = this.retainedBytesEstimate();
      const through = retainedBytes > 4 * this.config.checkpointBytes ? lsn : Math.min(lsn, needed);
      await this.wal.discardThrough(through);
      this.log.info({ lsn, keys: entries.length, bytes: bytes.length, walDiscardedThrough: through }, 'checkpoint written');
      return { lsn, epoch, bytes };
    };
    this.checkpointing = run().finally(() => (this.checkpointing = undefined));
    return this.checkpointing;
  }

  private async latestCheckpoint(): Promise<{ lsn: number; epoch: number; bytes: Buffer }> {
    const snap = await readLatestSnapshot(this.config.dataDir);
    if (snap && snap.snapshot.lsn >= this.wal.baseLsn && snap.snapshot.lsn > 0) {
      return { lsn: snap.snapshot.lsn, epoch: snap.snapshot.epoch, bytes: await fsp.readFile(snap.file) };
    }
    return this.checkpoint();
  }

  // ---- follower bookkeeping on the upstream side ------------------------------------------

  private onFollowerProgress(s: FollowerSession): void {
    this.progress.set(s.id, { id: s.id, flushedLsn: s.flushedLsn, appliedLsn: s.appliedLsn, session: s });
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
      out.push({ id: p.id, address: s?.address ?? '', connected, flushedLsn: p.flushedLsn, appliedLsn: p.appliedLsn, lagRecords, lagMs });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The upstream's view, for a follower's /status. */
  upstreamStatus(): Record<string, unknown> | null {
    if (!this.upstreamLink) return null;
    const u = this.upstreamInfo;
    return {
      address: this.config.upstream,
      id: u.upstreamId ?? null,
      connected: this.upstreamLink.connected,
      streaming: this.upstreamLink.streaming,
      upstreamLastLsn: u.lastLsn ?? null,
      lagRecords: u.lastLsn === undefined ? null : Math.max(0, u.lastLsn - this.head.lsn),
    };
  }

  // ---- adapters for the replication modules -------------------------------------------------

  private upstreamHost(): UpstreamHost {
    return {
      id: this.config.id,
      token: this.config.token,
      wal: this.wal,
      log: this.log,
      epoch: () => this.epoch,
      leaderHttp: () => this.leaderHttp(),
      latestCheckpoint: () => this.latestCheckpoint(),
      epochAt: (lsn) => this.wal.recordAt(lsn)?.epoch,
      onFollowerProgress: (s) => this.onFollowerProgress(s),
      onFollowerJoined: (s) => {
        this.progress.set(s.id, { id: s.id, flushedLsn: s.flushedLsn, appliedLsn: s.appliedLsn, session: s });
        this.log.info({ follower: s.id, address: s.address }, 'follower joined');
      },
      onFollowerLeft: (s) => this.log.info({ follower: s.id }, 'follower left'),
      heartbeatBody: () => ({ leaderHttp: this.leaderHttp(), lastLsn: this.role === 'leader' ? this.wal.lastLsn : (this.upstreamInfo.lastLsn ?? this.wal.lastLsn), commitLsn: this.commitLsn, timeMs: Date.now() }),
    };
  }

  private downstreamHost(): DownstreamHost {
    return {
      id: this.config.id,
      token: this.config.token,
      log: this.log,
      epoch: () => this.epoch,
      lastLsn: () => this.wal.lastLsn,
      lastEpoch: () => this.wal.lastEpoch,
      flushedLsn: () => this.wal.flushedLsn,
      appliedLsn: () => this.head.lsn,
      adoptEpoch: async (epoch) => {
        this.meta = { ...this.meta, epoch };
        await writeMeta(this.config.dataDir, this.meta);
        this.log.info({ epoch }, 'adopted newer epoch from upstream');
      },
      installSnapshot: (bytes) => this.installSnapshot(bytes),
      appendReplicated: (body) => this.appendReplicated(body),
      onUpstreamInfo: (info) => {
        this.upstreamInfo = { ...this.upstreamInfo, ...Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) };
        if (info.commitLsn !== undefined) this.commitLsn = Math.min(info.commitLsn, this.wal.flushedLsn);
      },
    };
  }
}

/** Data dir lock: a second process on the same WAL would corrupt it. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'LOCK');
  try {
    const pid = Number(await fsp.readFile(file, 'utf8'));
    if (pid && pid !== process.pid && isPidRunning(pid)) throw new Error(`data dir ${dir} is in use by pid ${pid}`);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await fsp.writeFile(file, String(process.pid));
  return () => fsp.rm(file, { force: true });
}
