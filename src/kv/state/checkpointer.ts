/**
 * Checkpoints of a node's state: when to take one, taking it without stopping writes, and which
 * one to send a follower that needs a snapshot. A checkpoint is the whole key-value state at one
 * LSN (snapshot.ts); once it is installed the WAL before it can be discarded.
 */
import { toError } from '../../lib/errors.js';
import type { Clock } from '../../lib/io/clock.js';
import type { Logger } from '../../lib/log.js';
import type { Wal } from '../wal/wal.js';
import { type CheckpointFiles, encodeSnapshotYielding } from './snapshot.js';
import type { KvState } from './store.js';

const CHECKPOINT_RETRY_MS = 1000;

export interface Checkpoint {
  lsn: number;
  epoch: number;
  bytes: Buffer;
}

/** What the checkpointer reads of its node. */
export interface CheckpointHost {
  readonly files: CheckpointFiles;
  readonly clock: Clock;
  /** Take a checkpoint once this many WAL bytes accumulated since the last one. */
  readonly checkpointBytes: number;
  readonly log: Logger;
  readonly wal: Wal;
  /** The state checkpoints are taken of (the leader's head includes uncommitted writes; the file waits for their flush). */
  readonly head: KvState;
  epoch(): number;
  isLeader(): boolean;
  /** The lowest LSN a connected follower still needs from the WAL. */
  lowestNeededLsn(): number;
}

export class Checkpointer {
  private running: Promise<Checkpoint> | undefined;
  private lastLsn = 0;
  private lastBytes = 0;
  /** Followers count what they append; a leader estimates from the WAL (see `maybe`). */
  private bytesSince = 0;
  /** After a failed checkpoint (a full disk), no new try before this time: one log line a second, not one per flush. */
  private retryAtMs = 0;

  constructor(private readonly host: CheckpointHost) {}

  /** The checkpoint files this checkpointer writes (the node reads and cuts them too). */
  get files(): CheckpointFiles {
    return this.host.files;
  }

  /** From now on, each flush of the log may start a checkpoint in the background. */
  start(): void {
    this.host.wal.on('flushed', () => this.maybe());
  }

  /** The node started from (or installed) a checkpoint at `lsn`. */
  startedFrom(lsn: number): void {
    this.lastLsn = lsn;
    this.bytesSince = 0;
  }

  /** A follower appended `bytes` of replicated records. */
  noteAppended(bytes: number): void {
    this.bytesSince += bytes;
  }

  /** Takes a checkpoint in the background when enough log has accumulated. */
  private maybe(): void {
    if (this.host.isLeader()) this.bytesSince = this.retainedBytesEstimate();
    // A checkpoint writes the whole state, so it waits for at least as much new log as the last
    // one wrote: with a state larger than checkpointBytes, checkpointing every checkpointBytes
    // would rewrite it again and again (each byte written to the log then costs at most one
    // more in checkpoints, as PostgreSQL's max_wal_size paces its checkpoints).
    if (this.running || this.bytesSince < Math.max(this.host.checkpointBytes, this.lastBytes) || this.host.clock.now() < this.retryAtMs) return;
    void this.take().catch((e: unknown) => {
      this.retryAtMs = this.host.clock.now() + CHECKPOINT_RETRY_MS;
      this.host.log.error({ err: toError(e).message, retryInMs: CHECKPOINT_RETRY_MS }, 'checkpoint failed');
    });
  }

  /**
   * Writes a checkpoint of `head` at its LSN without stopping writes: the copy of the map is
   * synchronous (one pass), encoding (in slices) and the file write happen while writes continue.
   * The file is only installed once the WAL has flushed through that LSN, so it never contains a
   * write the WAL could lose.
   */
  take(): Promise<Checkpoint> {
    if (this.running) return this.running;
    const h = this.host;
    const run = async () => {
      const lsn = h.head.lsn;
      const epoch = h.wal.lastEpoch || h.epoch();
      const entries = [...h.head.data];
      const bytes = await encodeSnapshotYielding({ lsn, epoch, timeMs: h.clock.now(), entries }, h.clock);
      while (h.wal.flushedLsn < lsn) await h.wal.sync();
      await h.files.install(lsn, bytes);
      this.lastLsn = lsn;
      this.lastBytes = bytes.length;
      this.bytesSince = 0;
      // Keep what connected followers still need, unless it grew far past the checkpoint size.
      const needed = h.lowestNeededLsn() - 1;
      const through = this.retainedBytesEstimate() > 4 * h.checkpointBytes ? lsn : Math.min(lsn, needed);
      await h.wal.discardThrough(through);
      h.log.info({ lsn, keys: entries.length, bytes: bytes.length, walDiscardedThrough: through }, 'checkpoint written');
      return { lsn, epoch, bytes };
    };
    this.running = run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The newest checkpoint on disk that the WAL continues from, or a fresh one. */
  async latest(): Promise<Checkpoint> {
    const snap = await this.host.files.latest();
    if (snap && snap.snapshot.lsn >= this.host.wal.baseLsn && snap.snapshot.lsn > 0) {
      return { lsn: snap.snapshot.lsn, epoch: snap.snapshot.epoch, bytes: await this.host.files.read(snap.file) };
    }
    return this.take();
  }

  private retainedBytesEstimate(): number {
    // Average record size × records since the checkpoint: exact enough to pace checkpoints.
    const n = this.host.wal.lastLsn - this.lastLsn;
    const sample = this.host.wal.recordAt(this.host.wal.lastLsn);
    return n * (sample ? sample.buf.length : 0);
  }
}
