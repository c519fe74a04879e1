/**
 * One follower connected to this node's replication port, and what that port needs from the node
 * (`UpstreamHost`). A session streams flushed WAL records from where the follower said it was, in
 * batches that respect the socket's backpressure, and keeps the follower's acknowledged positions.
 */
import type net from 'node:net';
import type { Logger } from '../lib/log.js';
import type { AckLevel } from './config.js';
import { encodeFrameParts, encodeJsonFrame, FrameType } from './frames.js';
import type { EpochStart } from './meta.js';
import type { Wal } from './wal.js';

export interface UpstreamHost {
  readonly id: string;
  /** The cluster's name: a HELLO must be signed for it and for this node's id. */
  readonly cluster: string;
  readonly token: string;
  /** When followers confirm records: after writing, fdatasync or applying them. */
  readonly ackLevel: AckLevel;
  readonly wal: Wal;
  readonly log: Logger;
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
  onFollowerProgress(session: FollowerSession): void;
  onFollowerJoined(session: FollowerSession): void;
  onFollowerLeft(session: FollowerSession): void;
  heartbeatBody(): Record<string, unknown>;
}

/** Bytes of records per RECORDS frame, at most (a frame holds whole records). */
const BATCH_BYTES = 1024 * 1024;

export class FollowerSession {
  id = '';
  address: string;
  /** Next LSN to send. */
  nextLsn = 0;
  writtenLsn = 0;
  flushedLsn = 0;
  appliedLsn = 0;
  lastAckMs = 0;
  connectedAtMs = Date.now();
  streaming = false;
  closed = false;
  /** Set once its HELLO proved the cluster token. */
  authenticated = false;
  private waitingDrain = false;

  constructor(
    readonly socket: net.Socket,
    private readonly host: UpstreamHost,
  ) {
    this.address = `${socket.remoteAddress}:${socket.remotePort}`;
  }

  send(frame: Buffer): boolean {
    if (this.closed) return false;
    return this.socket.write(frame);
  }

  /** Writes a frame given as several buffers in one writev; false when the socket wants a drain. */
  sendParts(parts: Buffer[]): boolean {
    if (this.closed) return false;
    this.socket.cork();
    let ok = true;
    for (const p of parts) ok = this.socket.write(p);
    this.socket.uncork();
    return ok;
  }

  /** Sends every flushed record the follower has not had yet, respecting socket backpressure. */
  pump(): void {
    const wal = this.host.wal;
    while (this.streaming && !this.closed && !this.waitingDrain && this.nextLsn <= wal.flushedLsn) {
      if (this.nextLsn <= wal.baseLsn) {
        this.close(`fell behind the retained WAL (needs lsn ${this.nextLsn}, checkpoint at ${wal.baseLsn}); it will reconnect and get a snapshot`);
        return;
      }
      const batch = wal.readFrom(this.nextLsn, wal.flushedLsn, BATCH_BYTES);
      if (batch.length === 0) return;
      this.nextLsn = batch[batch.length - 1]!.lsn + 1;
      const ok = this.sendParts(
        encodeFrameParts(
          FrameType.records,
          this.host.epoch(),
          batch.map((r) => r.buf),
        ),
      );
      if (!ok) {
        this.waitingDrain = true;
        this.socket.once('drain', () => {
          this.waitingDrain = false;
          this.pump();
        });
      }
    }
  }

  close(reason: string): void {
    if (this.closed) return;
    this.host.log.warn({ follower: this.id, reason }, 'replication: closing follower session');
    this.send(encodeJsonFrame(FrameType.error, this.host.epoch(), { error: reason }));
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
