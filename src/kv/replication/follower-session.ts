/**
 * One follower connected to this node's replication port, and what that port needs from the node
 * (`UpstreamHost`). A session streams flushed WAL records from where the follower said it was, in
 * batches that respect the connection's backpressure, and keeps the follower's acknowledged
 * positions.
 */
import type { Clock } from '../../lib/io/clock.js';
import type { Connection } from '../../lib/io/network.js';
import type { Logger } from '../../lib/log.js';
import type { AckLevel } from '../config.js';
import type { EpochStart } from '../state/meta.js';
import type { Wal } from '../wal/wal.js';
import { controlFrame, type Heartbeat } from './bodies.js';
import { encodeFrameParts, FrameType } from './frames.js';

export interface UpstreamHost {
  readonly id: string;
  /** The cluster's name: a HELLO must be signed for it and for this node's id. */
  readonly cluster: string;
  readonly token: string;
  /** When followers confirm records: after writing, fdatasync or applying them. */
  readonly ackLevel: AckLevel;
  readonly wal: Wal;
  readonly log: Logger;
  readonly clock: Clock;
  epoch(): number;
  /** The HTTP address of the current leader, for 421 hints downstream. */
  leaderHttp(): string | null;
  /** The newest checkpoint (taking one first if there is none). */
  latestCheckpoint(): Promise<{ lsn: number; epoch: number; bytes: Buffer }>;
  /** This node's leader-epoch history (to find where a follower's log diverges). */
  epochHistory(): readonly EpochStart[];
  isLeader(): boolean;
  /** False while this node's own log is not known to agree with the leader's. */
  canServe(): boolean;
  /** A peer showed a newer epoch: persist it (a leader steps down). */
  onNewerEpoch(epoch: number, why: string): void;
  /** A follower confirmed more (or joined): the commit rule may move. */
  onFollowerProgress(): void;
  heartbeatBody(): Heartbeat;
}

/** Bytes of records per RECORDS frame, at most (a frame holds whole records). */
const BATCH_BYTES = 1024 * 1024;

/** What a follower confirmed: written (page cache), fdatasync'd, and visible to reads there. */
export interface FollowerPositions {
  writtenLsn: number;
  flushedLsn: number;
  appliedLsn: number;
}

export class FollowerSession {
  readonly address: string;
  private follower = '';
  /** Next LSN to send. */
  private next = 0;
  private confirmed: FollowerPositions = { writtenLsn: 0, flushedLsn: 0, appliedLsn: 0 };
  private lastAck = 0;
  private isStreaming = false;
  private isClosed = false;
  private waitingDrain = false;

  constructor(
    readonly connection: Connection,
    private readonly host: UpstreamHost,
  ) {
    this.address = `${connection.remoteAddress}:${connection.remotePort}`;
  }

  /** The follower's node id, once its HELLO was accepted ('' before). */
  get id(): string {
    return this.follower;
  }
  get positions(): Readonly<FollowerPositions> {
    return this.confirmed;
  }
  /** The next LSN this session sends: what the follower still needs from the log. */
  get nextLsn(): number {
    return this.next;
  }
  get lastAckMs(): number {
    return this.lastAck;
  }
  get streaming(): boolean {
    return this.isStreaming;
  }
  get closed(): boolean {
    return this.isClosed;
  }

  /** The HELLO of node `follower` was accepted. */
  identify(follower: string): void {
    this.follower = follower;
  }

  /**
   * Streams from `startLsn` (after a snapshot, when one was sent). Nothing counts as confirmed
   * before the follower's first ACK: HELLO's last LSN may be only appended there, not flushed,
   * and a snapshot is not installed until the follower says so.
   */
  startStream(startLsn: number, nowMs: number): void {
    this.next = startLsn;
    this.confirmed = { writtenLsn: 0, flushedLsn: 0, appliedLsn: 0 };
    this.lastAck = nowMs;
    this.isStreaming = true;
  }

  /** An ACK arrived. */
  noteAck(positions: FollowerPositions, nowMs: number): void {
    this.confirmed = { ...positions };
    this.lastAck = nowMs;
  }

  /** The connection closed under it. */
  noteClosed(): void {
    this.isClosed = true;
  }

  send(frame: Buffer): boolean {
    if (this.closed) return false;
    return this.connection.write(frame);
  }

  /** Writes a frame given as several buffers in one writev; false when the connection wants a drain. */
  sendParts(parts: Buffer[]): boolean {
    if (this.closed) return false;
    this.connection.cork();
    let ok = true;
    for (const p of parts) ok = this.connection.write(p);
    this.connection.uncork();
    return ok;
  }

  /** Sends every flushed record the follower has not had yet, respecting backpressure. */
  pump(): void {
    const wal = this.host.wal;
    while (this.streaming && !this.closed && !this.waitingDrain && this.nextLsn <= wal.flushedLsn) {
      if (this.nextLsn <= wal.baseLsn) {
        this.close(`fell behind the retained WAL (needs lsn ${this.nextLsn}, checkpoint at ${wal.baseLsn}); it will reconnect and get a snapshot`);
        return;
      }
      const batch = wal.readFrom(this.nextLsn, wal.flushedLsn, BATCH_BYTES);
      if (batch.length === 0) return;
      this.next = batch[batch.length - 1]!.lsn + 1;
      const ok = this.sendParts(
        encodeFrameParts(
          FrameType.records,
          this.host.epoch(),
          batch.map((r) => r.buf),
        ),
      );
      if (!ok) {
        this.waitingDrain = true;
        this.connection.once('drain', () => {
          this.waitingDrain = false;
          this.pump();
        });
      }
    }
  }

  close(reason: string): void {
    if (this.closed) return;
    this.host.log.warn({ follower: this.id, reason }, 'replication: closing follower session');
    this.send(controlFrame.error(this.host.epoch(), reason));
    this.isClosed = true;
    this.connection.end();
    this.host.clock.after(1000, () => this.connection.destroy());
  }
}
