/**
 * The follower role and what only it owns: the upstream it follows and the link to it, what it
 * last heard from upstream (leader hint, the leader's commit LSN and clock, hence its staleness),
 * the records it appended but has not applied yet (an apply delay holds them), and the work on its
 * own log that following may need: rewinding a suffix the new leader does not have, and installing
 * a checkpoint from upstream in place of its log.
 *
 * Follower path: append streamed records → once flushed, apply (after `applyDelayMs` when set) →
 * ack (written, flushed, applied) upstream; the node relays what it flushed to its own followers.
 */
import { parseHostPort } from '../../lib/addr.js';
import { toError } from '../../lib/errors.js';
import type { Timer } from '../../lib/io/clock.js';
import type { Heartbeat } from '../replication/bodies.js';
import { type DownstreamHost, type UpstreamInfoUpdate, UpstreamLink } from '../replication/downstream.js';
import { FrameError } from '../replication/frames.js';
import type { EpochStart } from '../state/meta.js';
import { replayInto } from '../state/replay.js';
import { appendRewound } from '../state/rewound.js';
import { decodeSnapshot } from '../state/snapshot.js';
import type { KvState } from '../state/store.js';
import { decodeRecord, type WalRecord } from '../wal/record.js';
import type { NodeCore } from './core.js';
import { Freshness } from './freshness.js';
import { OpQueue } from './op-queue.js';

/** The node a follower streams from: its replication address and its id (the HELLO is signed for that id). */
export interface UpstreamRef {
  address: string;
  id: string;
}

/** What a follower last heard from its upstream (WELCOME and heartbeats), for hints and lag. */
interface UpstreamInfo {
  leaderHttp: string | null;
  upstreamId?: string | undefined;
  lastLsn?: number | undefined;
  commitLsn?: number | undefined;
  timeMs?: number | undefined;
}

/** The upstream link as /status shows it (the node's status schema has the same shape). */
export interface UpstreamReport {
  address: string | null;
  id: string | null;
  connected: boolean;
  streaming: boolean;
  upstreamLastLsn: number | null;
  lagRecords: number | null;
}

export class FollowerRole {
  readonly kind = 'follower' as const;
  private upstream: UpstreamRef | undefined;
  private link: UpstreamLink | undefined;
  private info: UpstreamInfo;
  /** How far behind the leader this node knows it is (bounded-staleness reads, per-hop lag). */
  private readonly freshness = new Freshness();
  /** Flushed or appended records not yet applied, in LSN order. */
  private readonly pending = new OpQueue();
  private applyTimer: Timer | undefined;
  /** The leader's commit LSN as last heard, capped at what this node flushed. */
  private commit: number;
  private stopped = false;
  /** Set while the log is cut or replaced (a rewind, a snapshot install): records are not taken meanwhile. */
  private rewriting = false;
  private readonly listeners = {
    flushed: () => this.onFlushed(),
    written: () => this.onWritten(),
    stalled: (_info: unknown, keptLsn: number) => this.onWalStalled(keptLsn),
    resumed: () => this.link?.resume(),
  };

  constructor(
    private readonly core: NodeCore,
    options: { upstream?: UpstreamRef | undefined; leaderHttp?: string | null; commitLsn: number },
  ) {
    this.upstream = options.upstream;
    this.info = { leaderHttp: options.leaderHttp ?? null };
    this.commit = options.commitLsn;
  }

  /** What reads see here: the applied log. */
  get visible(): KvState {
    return this.core.head;
  }
  get commitLsn(): number {
    return this.commit;
  }
  /** The replication address this node follows, or null when it has not been told. */
  get upstreamAddress(): string | null {
    return this.upstream?.address ?? null;
  }
  /** Streaming from its upstream now (a relay serves its own followers only then). */
  get streaming(): boolean {
    return !!this.link?.streaming;
  }
  leaderHttp(): string | null {
    return this.info.leaderHttp;
  }
  /** Milliseconds behind the leader, or undefined before the first heartbeat was applied. */
  stalenessMs(): number | undefined {
    return this.freshness.stalenessMs(this.core.io.clock.now());
  }
  leaderCommitLsn(): number | undefined {
    return this.freshness.leaderCommitLsn();
  }

  upstreamStatus(): UpstreamReport | null {
    if (!this.link) return null;
    const u = this.info;
    return {
      address: this.upstream?.address ?? null,
      id: u.upstreamId ?? null,
      connected: this.link.connected,
      streaming: this.link.streaming,
      upstreamLastLsn: u.lastLsn ?? null,
      lagRecords: u.lastLsn === undefined ? null : Math.max(0, u.lastLsn - this.core.head.lsn),
    };
  }

  /**
   * What this node's heartbeats say when it relays: the leader's (clock, commit LSN) pair as it
   * heard it, so followers down a chain measure their staleness against the leader, not the relay.
   */
  relayHeartbeat(): Heartbeat {
    const u = this.info;
    return { leaderHttp: u.leaderHttp, lastLsn: u.lastLsn ?? this.core.wal.lastLsn, commitLsn: u.commitLsn, timeMs: u.timeMs };
  }

  /** Becomes the node's role: hears the log's events, and starts the link to its upstream if it has one. */
  enter(): void {
    const wal = this.core.wal;
    for (const [event, listener] of Object.entries(this.listeners)) wal.on(event, listener);
    if (this.upstream && !this.link) this.connect(this.upstream);
  }

  /** Is no longer the node's role: the link and the apply timer stop, and queued work on the log is skipped. */
  leave(): void {
    const wal = this.core.wal;
    for (const [event, listener] of Object.entries(this.listeners)) wal.off(event, listener);
    this.stopped = true;
    this.link?.stop();
    this.link = undefined;
    this.applyTimer?.cancel();
    this.applyTimer = undefined;
  }

  /**
   * Follows `upstream` from now on (a new link, unless it already follows exactly that node);
   * `leaderHttp` updates the leader hint when given. Returns whether the upstream changed.
   */
  follow(upstream: UpstreamRef, leaderHttp: string | null): boolean {
    if (leaderHttp !== null) this.info = { ...this.info, leaderHttp };
    if (this.link && this.upstream?.address === upstream.address && this.upstream.id === upstream.id) return false;
    this.link?.stop();
    this.link = undefined;
    this.upstream = upstream;
    this.freshness.reset();
    this.connect(upstream);
    return true;
  }

  /** The log flushed more: apply what may be applied, and say so upstream. */
  private onFlushed(): void {
    this.apply();
    this.link?.sendAck();
  }

  /** The log wrote more (page cache): an upstream that counts written records hears it now. */
  private onWritten(): void {
    if (this.link?.ackLevel === 'write') this.link.sendAck();
  }

  /** The log forgot what it could not write after `keptLsn`: leave the upstream until it has room. */
  private onWalStalled(keptLsn: number): void {
    this.pending.dropAfter(keptLsn);
    this.link?.suspend(`this node's WAL cannot write (${this.core.wal.stalled?.reason ?? 'stalled'})`);
  }

  /** Promotion: the role is left, and everything flushed applied whatever the apply delay (as PostgreSQL does). */
  finishForPromotion(): void {
    this.leave();
    this.apply(true);
  }

  private connect(upstream: UpstreamRef): void {
    this.link = new UpstreamLink(this.downstreamHost(), parseHostPort(upstream.address, '--upstream'), upstream.id, this.core.config.heartbeatMs);
    this.link.start();
  }

  /**
   * Applies flushed records, making them visible to reads here. With `applyDelayMs`, only those the
   * leader wrote at least that long ago; a timer comes back for the rest. Returns whether anything
   * was applied. `all` ignores the delay (promotion).
   */
  private apply(all = false): boolean {
    const { config, wal, head, readWaiters, io } = this.core;
    const delayMs = all ? 0 : config.applyDelayMs;
    const ready = this.pending.takeThrough(wal.flushedLsn, delayMs > 0 ? io.clock.now() - delayMs : Infinity);
    for (const { lsn, op } of ready) head.apply(lsn, op);
    if (ready.length > 0) {
      this.freshness.noteApplied(head.lsn);
      readWaiters.notify(head.lsn);
    }
    const next = this.pending.peek();
    if (delayMs > 0 && next && next.lsn <= wal.flushedLsn && !this.applyTimer) {
      this.applyTimer = io.clock.after(Math.max(1, next.timeMs + delayMs - io.clock.now()), () => {
        this.applyTimer = undefined;
        if (!this.stopped && this.apply()) this.link?.sendAck();
      });
    }
    return ready.length > 0;
  }

  /** Appends a RECORDS body from upstream. Validates every record before it touches the WAL. */
  private appendReplicated(frameBody: Buffer): void {
    const { wal, meta, checkpoints } = this.core;
    if (this.rewriting) throw new FrameError('RECORDS while this node is rewriting its log (a rewind or a snapshot install); reconnecting');
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
      if (r.lsn <= wal.lastLsn) continue;
      if (r.lsn !== wal.lastLsn + 1) throw new FrameError(`RECORDS: gap, got lsn ${r.lsn} after ${wal.lastLsn}`);
      if (r.epoch > meta.epoch) throw new FrameError(`RECORDS: record epoch ${r.epoch} above the stream's ${meta.epoch}`);
      meta.noteRecord(r.epoch, r.lsn)?.catch((e: unknown) => this.core.fatal(`cannot write meta.json: ${toError(e).message}`));
      wal.appendEncoded(buf, r);
      this.pending.push(r.lsn, r.op, r.timeMs);
      checkpoints.noteAppended(buf.length);
    }
  }

  private onUpstreamInfo(update: UpstreamInfoUpdate): void {
    const known = Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined));
    this.info = { ...this.info, ...known };
    const { commitLsn, timeMs } = update;
    if (commitLsn !== undefined) this.commit = Math.min(commitLsn, this.core.wal.flushedLsn);
    if (commitLsn !== undefined && timeMs !== undefined) this.freshness.noteLeader(timeMs, commitLsn, this.core.head.lsn);
  }

  /**
   * Cuts this node's log back to `lsn` because the upstream's history diverges after it: the
   * removed records go to `rewound.jsonl` (epoch, lsn, key, value) and the state is rebuilt from
   * the checkpoint and what remains.
   */
  private rewind(lsn: number, said: { lastLsn: number; lastEpoch: number }): Promise<void> {
    return this.core.serialized(async () => {
      this.requireCurrent('rewind');
      // The answer came to a HELLO sent before the log changed (a rewind that was still running
      // when the link reconnected): acting on it would cut records the node has since received.
      const { wal, meta } = this.core;
      if (wal.lastLsn !== said.lastLsn || meta.epochOf(wal.lastLsn) !== said.lastEpoch) {
        this.core.log.info({ divergesAfter: lsn, said, lastLsn: wal.lastLsn }, 'rewind skipped: the log no longer ends where the HELLO it answers said');
        return;
      }
      const dropped = await this.rewriteLog(async () => {
        const cut = await this.cutLogAfter(lsn);
        await meta.cutAfter(Math.min(lsn, wal.lastLsn));
        return cut;
      });
      this.commit = Math.min(this.commit, wal.lastLsn);
      this.core.log.warn(
        { divergesAfter: lsn, rewound: dropped.length, first: dropped[0]?.lsn ?? null, last: dropped[dropped.length - 1]?.lsn ?? null },
        'rewound log suffix the new leader does not have (see rewound.jsonl)',
      );
    });
  }

  /**
   * Replaces this follower's state with a checkpoint from upstream, so that no step can leave the
   * node claiming an LSN whose records it does not hold:
   *  1. what it holds past the checkpoint (log records, newer checkpoints) is not the upstream's
   *     history, or the upstream would have streamed instead: it is cut first (into rewound.jsonl),
   *     so that no later crash can recover it on top of the new checkpoint;
   *  2. the checkpoint file is written and synced; a full disk fails here, with the node's state
   *     as it was, and the link asks again later;
   *  3. only then the log it replaces is emptied, and `head` is set from the checkpoint in the same
   *     step, so the WAL's position and the state served never disagree. A failure past this point
   *     (deleting files) stops the node: on restart, recovery reads the checkpoint and whatever is
   *     left of the log, which step 1 made consistent.
   * A crash between 2 and 3 restarts from the new checkpoint; old segments then hold only records
   * the checkpoint covers, which recovery skips.
   */
  private installSnapshot(bytes: Buffer, upstreamHistory: EpochStart[]): Promise<void> {
    const snap = decodeSnapshot(bytes, 'from upstream');
    return this.core.serialized(() => this.rewriteLog(() => this.install(snap, bytes, upstreamHistory)));
  }

  /** Runs `work` with appends from upstream refused (see `rewriting`). */
  private async rewriteLog<T>(work: () => Promise<T>): Promise<T> {
    this.rewriting = true;
    try {
      return await work();
    } finally {
      this.rewriting = false;
    }
  }

  private async install(snap: ReturnType<typeof decodeSnapshot>, bytes: Buffer, upstreamHistory: EpochStart[]): Promise<void> {
    const { wal, head, checkpoints, readWaiters, meta, log } = this.core;
    this.requireCurrent('installing a snapshot');
    const newest = (await checkpoints.files.latest())?.snapshot.lsn ?? 0;
    if (wal.lastLsn > snap.lsn || newest > snap.lsn) {
      const dropped = await this.cutLogAfter(snap.lsn);
      log.warn({ snapshotLsn: snap.lsn, rewound: dropped.length }, 'cut the local log past the upstream checkpoint before installing it (see rewound.jsonl)');
    }
    await checkpoints.files.write(snap.lsn, bytes).catch((e: unknown) => {
      // Nothing changed yet: the node keeps what it holds and asks again when it reconnects.
      log.warn({ lsn: snap.lsn, bytes: bytes.length, err: toError(e).message }, 'cannot write the checkpoint from upstream; keeping the current state');
      throw e;
    });
    try {
      await wal.resetTo(snap.lsn, snap.epoch);
      this.pending.clear();
      head.reset(snap.lsn, snap.entries);
      checkpoints.startedFrom(snap.lsn);
      readWaiters.notify(snap.lsn);
    } catch (e: unknown) {
      this.core.fatal(`installing the checkpoint at lsn ${snap.lsn} failed half-way (${toError(e).message}); restart the node to recover from its files`);
      throw e;
    }
    await meta.adoptUpstreamHistory(upstreamHistory, snap.lsn, snap.epoch);
    await checkpoints.files.remove((lsn) => lsn < snap.lsn);
    log.info({ lsn: snap.lsn, keys: snap.entries.length, bytes: bytes.length }, 'installed snapshot from upstream');
  }

  /**
   * Removes every record and checkpoint past `lsn` into rewound.jsonl and rebuilds the state from
   * what remains. When `lsn` lies before the checkpoint the log starts from, nothing of the local
   * state can stay: the node starts empty and bootstraps from a snapshot. A checkpoint past `lsn`
   * holds the cut records too, so it goes as well.
   */
  private async cutLogAfter(lsn: number): Promise<WalRecord[]> {
    const { wal, checkpoints, head, io, config, readWaiters, log } = this.core;
    await wal.sync();
    const newest = (await checkpoints.files.latest())?.snapshot.lsn ?? 0;
    let dropped: WalRecord[];
    // The log can be kept up to `lsn` when a checkpoint at or before it (or none, from LSN 0) is
    // where its records start; otherwise the state is rebuilt from upstream.
    if (lsn >= wal.baseLsn && (lsn >= newest || wal.baseLsn === 0)) {
      dropped = await wal.truncateAfter(lsn);
      await checkpoints.files.remove((at) => at > lsn);
    } else {
      dropped = wal.recordsAfter(wal.baseLsn);
      log.warn(
        { divergesAfter: lsn, checkpointLsn: wal.baseLsn },
        'divergence lies before the checkpoint: dropping local state and bootstrapping from a snapshot',
      );
      await wal.resetTo(0, 0);
      await checkpoints.files.remove(() => true);
      checkpoints.startedFrom(0);
    }
    await appendRewound(io.disk, config.dataDir, dropped, io.clock.now());
    this.pending.clear();
    await replayInto(head, checkpoints.files, wal);
    readWaiters.notify(head.lsn);
    return dropped;
  }

  private requireCurrent(what: string): void {
    if (this.stopped) throw new Error(`${what}: this node no longer follows that upstream`);
  }

  private downstreamHost(): DownstreamHost {
    const { config, log, io, wal, head, meta } = this.core;
    return {
      id: config.id,
      cluster: config.cluster,
      token: config.token,
      log,
      clock: io.clock,
      network: io.network,
      epoch: () => meta.epoch,
      lastLsn: () => wal.lastLsn,
      lastEpoch: () => meta.epochOf(wal.lastLsn),
      writtenLsn: () => wal.writtenLsn,
      flushedLsn: () => wal.flushedLsn,
      appliedLsn: () => head.lsn,
      canAppend: () => !wal.stalled && !wal.failed,
      adoptEpoch: (epoch) => this.core.adoptEpoch(epoch, 'upstream frame'),
      rewind: (lsn, said) => this.rewind(lsn, said),
      installSnapshot: (bytes, history) => this.installSnapshot(bytes, history),
      appendReplicated: (body) => this.appendReplicated(body),
      onUpstreamInfo: (info) => this.onUpstreamInfo(info),
    };
  }
}
