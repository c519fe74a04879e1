/**
 * The write-ahead log: records (record.ts) in segment files (segments.ts), appended with group
 * commit, and the LSN positions the rest of the node reads: last appended, written (in the page
 * cache), flushed (fdatasync'd), and the checkpoint the retained records start after.
 *
 * Group commit: appends queue in memory; one flusher at a time writes everything queued with a
 * single writev and one fdatasync, then resolves every waiter whose LSN it covered. While that
 * fsync runs, new appends gather for the next one, so a slow disk batches more, not less.
 * Records after the last checkpoint are also kept in memory (`retained`), since they are what
 * followers stream; a follower that needs anything older gets the checkpoint instead.
 *
 * Two failure kinds: a write that cannot be made (a full disk, an I/O error, a short write) stalls
 * the log: the records it could not write are forgotten (never flushed, so never streamed or
 * acknowledged), their waiters learn so, and appends are refused until the disk has room again.
 * A failed fdatasync fails the log for good: the node must stop.
 *
 * Events: 'written' (lsn), 'flushed' (lsn), 'stalled' (info, kept lsn), 'resumed', 'error'.
 */
import { EventEmitter } from 'node:events';
import { assert } from '../../lib/assert.js';
import { errnoCode, toError } from '../../lib/errors.js';
import { type Clock, delay, systemClock, type Timer } from '../../lib/io/clock.js';
import { hostDisk } from '../../lib/io/disk.js';
import type { Logger } from '../../lib/log.js';
import { FsyncError, WalStalledError } from './errors.js';
import { decodeRecord, encodeRecord, MAX_PAYLOAD_BYTES, type WalRecord } from './record.js';
import { SegmentFiles } from './segments.js';
import type { RetainedRecord, WalOptions } from './types.js';

export type { RetainedRecord, WalOptions };

/** How often a stalled log checks whether the disk has room again. */
const SPACE_CHECK_MS = 250;

interface Waiter {
  lsn: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class Wal extends EventEmitter {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly files: SegmentFiles;
  private readonly segmentBytes: number;
  private readonly simulatePowerLoss: boolean;
  private readonly syncDelayMs: number;
  /** Appended, not yet written. */
  private pending: RetainedRecord[] = [];
  private waiters: Waiter[] = [];
  private flushing = false;
  private writeScheduled = false;
  private failure: Error | undefined;
  private stall: { since: number; reason: string } | undefined;
  private spaceWatch: Timer | undefined;
  private closed = false;
  /** Records after `base`, in LSN order. */
  private retained: RetainedRecord[] = [];
  private base = 0;
  private last = 0;
  private lastEp = 0;
  private written = 0;
  private flushed = 0;
  private fsyncs = 0;

  constructor(options: WalOptions) {
    super();
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
    this.segmentBytes = options.segmentBytes ?? 16 * 1024 * 1024;
    this.simulatePowerLoss = options.simulatePowerLoss ?? false;
    this.syncDelayMs = options.syncDelayMs ?? 0;
    this.files = new SegmentFiles({
      dir: options.dir,
      disk: options.disk ?? hostDisk,
      log: options.log,
      segmentBytes: this.segmentBytes,
      unsafeNoSync: options.unsafeNoSync ?? false,
      simulatePowerLoss: this.simulatePowerLoss,
    });
  }

  /** The LSN the retained records start after (the last checkpoint's LSN, or 0). */
  get baseLsn(): number {
    return this.base;
  }
  get lastLsn(): number {
    return this.last;
  }
  get lastEpoch(): number {
    return this.lastEp;
  }
  /** Records through this LSN are written (in the page cache), not necessarily synced. */
  get writtenLsn(): number {
    return this.written;
  }
  get flushedLsn(): number {
    return this.flushed;
  }
  /** fdatasync calls so far; /metrics shows it so benchmarks can show group commit at work. */
  get fsyncCount(): number {
    return this.fsyncs;
  }
  /** Set while the log cannot write (a full disk): since when and why. */
  get stalled(): { since: number; reason: string } | undefined {
    return this.stall;
  }
  /** Set once an fdatasync failed: the log takes nothing more. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Reads the segments after a restart: the records after `afterLsn` (the checkpoint's LSN), in order. */
  async recover(afterLsn: number): Promise<WalRecord[]> {
    let loaded: Awaited<ReturnType<SegmentFiles['load']>>;
    try {
      loaded = await this.files.load(afterLsn);
    } catch (e: unknown) {
      // Nothing was recovered: mark the log failed so closing it does not wait for a flush of
      // records that were never appended.
      this.failure = toError(e);
      throw e;
    }
    this.retained = loaded.retained;
    this.base = afterLsn;
    const lastRecord = loaded.retained[loaded.retained.length - 1];
    this.last = lastRecord?.lsn ?? afterLsn;
    if (lastRecord) this.lastEp = lastRecord.epoch;
    this.flushed = this.written = this.last;
    return loaded.records;
  }

  /**
   * Appends a record and resolves once it is durable (fdatasync'd). The record's LSN must be
   * lastLsn + 1: the log has no gaps, so a follower can always say exactly where it is.
   */
  append(record: WalRecord): Promise<void> {
    this.appendEncoded(encodeRecord(record), record);
    return this.sync();
  }

  /**
   * Appends bytes already encoded (a follower appending what its upstream sent) without waiting:
   * the caller learns about durability from the 'written' and 'flushed' events (or `sync()`),
   * which saves a promise per record on the hot path. Throws if the log failed or stalled.
   */
  appendEncoded(buf: Buffer, record: Pick<WalRecord, 'lsn' | 'epoch' | 'timeMs'>): RetainedRecord {
    if (this.failure) throw this.failure;
    if (this.stall) throw new WalStalledError(`the write-ahead log cannot write (${this.stall.reason}) since ${new Date(this.stall.since).toISOString()}`);
    assert(!this.closed, 'append to a closed WAL');
    assert(record.lsn === this.last + 1, `WAL append out of order: lsn ${record.lsn} after ${this.last}`);
    const entry: RetainedRecord = { lsn: record.lsn, epoch: record.epoch, timeMs: record.timeMs, buf, segmentStartLsn: 0, offset: 0 };
    this.pending.push(entry);
    this.retained.push(entry);
    this.last = record.lsn;
    this.lastEp = record.epoch;
    if (!this.writeScheduled) {
      // Everything appended in this turn of the event loop goes out in one writev.
      this.writeScheduled = true;
      this.clock.soon(() => {
        this.writeScheduled = false;
        this.writePending();
      });
    }
    return entry;
  }

  /** Resolves once everything appended so far is durable. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.flushed >= this.last) return Promise.resolve();
    const lsn = this.last;
    return new Promise((resolve, reject) => this.waiters.push({ lsn, resolve, reject }));
  }

  /** Records retained in memory from `fromLsn` through `uptoLsn`, at most `maxBytes` (always at least one). */
  readFrom(fromLsn: number, uptoLsn: number, maxBytes: number): RetainedRecord[] {
    const first = this.retained[0];
    if (!first || fromLsn > uptoLsn) return [];
    const start = fromLsn - first.lsn;
    assert(start >= 0, `lsn ${fromLsn} is no longer retained (first is ${first.lsn})`);
    const out: RetainedRecord[] = [];
    let bytes = 0;
    for (let i = start; i < this.retained.length; i++) {
      const r = this.retained[i]!;
      if (r.lsn > uptoLsn || (out.length > 0 && bytes + r.buf.length > maxBytes)) break;
      out.push(r);
      bytes += r.buf.length;
    }
    return out;
  }

  /** Every retained record after `lsn`, decoded (a rewind's or a rebuild's input). */
  recordsAfter(lsn: number): WalRecord[] {
    return this.readFrom(lsn + 1, this.last, Number.MAX_SAFE_INTEGER).map((r) => {
      const d = decodeRecord(r.buf);
      assert(d.kind === 'ok', `retained record ${r.lsn} no longer decodes`);
      return d.record;
    });
  }

  /** The record at `lsn` if it is retained in memory. */
  recordAt(lsn: number): RetainedRecord | undefined {
    const first = this.retained[0];
    if (!first) return undefined;
    return this.retained[lsn - first.lsn];
  }

  /** Forgets everything up to `lsn` (a checkpoint now covers it): retained records and whole segments. */
  async discardThrough(lsn: number): Promise<void> {
    const keepFrom = this.retained.findIndex((r) => r.lsn > lsn);
    this.retained = keepFrom < 0 ? [] : this.retained.slice(keepFrom);
    this.base = Math.max(this.base, lsn);
    await this.files.deleteThrough(lsn);
  }

  /** Cuts the log after `lsn` (a follower rewinding a suffix its new leader never had); returns what was cut. */
  async truncateAfter(lsn: number): Promise<WalRecord[]> {
    await this.sync();
    assert(lsn >= this.base, `cannot truncate to ${lsn}, before the checkpoint at ${this.base}`);
    const idx = this.retained.findIndex((r) => r.lsn > lsn);
    if (idx < 0) return [];
    const dropped = this.recordsAfter(lsn);
    await this.files.cutAt(this.retained[idx]!);
    this.retained = this.retained.slice(0, idx);
    this.last = lsn;
    this.flushed = Math.min(this.flushed, lsn);
    this.written = Math.min(this.written, lsn);
    const prev = this.retained[this.retained.length - 1];
    if (prev) this.lastEp = prev.epoch;
    return dropped;
  }

  /** Empties the log and continues after `lsn` of `epoch` (a follower installed a snapshot at `lsn`). */
  async resetTo(lsn: number, epoch: number): Promise<void> {
    await this.sync();
    await this.files.removeAll();
    this.retained = [];
    this.base = this.last = this.flushed = this.written = lsn;
    this.lastEp = epoch;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.sync();
    } catch {
      // a failed WAL has already rejected its waiters; closing must still release the file
    }
    this.closed = true;
    this.spaceWatch?.cancel();
    await this.files.close();
  }

  /**
   * Writes what is pending into the current segment now, without waiting for an fdatasync in
   * flight: a record is "written" (PostgreSQL's remote_write) as soon as it is in the page cache.
   * Rolling to a new segment is asynchronous, so that case is left to the flush loop.
   */
  private writePending(): void {
    if (this.failure || this.pending.length === 0) return;
    if (this.files.canWriteInline()) {
      try {
        this.writeBatch();
      } catch (e: unknown) {
        this.stallOn(e);
        return;
      }
    }
    void this.flushLoop();
  }

  private writeBatch(): void {
    const batch = this.pending;
    this.pending = [];
    this.files.write(batch);
    this.written = batch[batch.length - 1]!.lsn;
    this.emit('written', this.written);
  }

  private async flushLoop(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (!this.failure && (this.pending.length > 0 || this.flushed < this.written)) {
        if (this.pending.length > 0 && !this.stall) {
          try {
            await this.files.ensureSegment(this.pending[0]!.lsn);
            this.writeBatch();
          } catch (e: unknown) {
            if (e instanceof FsyncError) throw e;
            this.stallOn(e);
          }
        }
        if (this.flushed >= this.written) continue;
        // A slow disk (`syncDelayMs`): the records sit written-but-unsynced this much longer.
        if (this.syncDelayMs > 0) await delay(this.clock, this.syncDelayMs);
        const target = this.written;
        await this.files.sync();
        this.fsyncs++;
        this.flushed = target;
        this.releaseWaiters();
        this.emit('flushed', this.flushed);
      }
    } catch (e: unknown) {
      this.fail(e);
    } finally {
      this.flushing = false;
    }
  }

  /** A failed fsync: never retried on the same file; every waiter fails and the node stops. */
  private fail(e: unknown): void {
    if (this.failure) return;
    this.failure = toError(e);
    for (const w of this.waiters) w.reject(this.failure);
    this.waiters = [];
    this.emit('error', this.failure);
  }

  private releaseWaiters(): void {
    let i = 0;
    while (i < this.waiters.length && this.waiters[i]!.lsn <= this.flushed) this.waiters[i++]!.resolve();
    if (i > 0) this.waiters.splice(0, i);
  }

  /**
   * A write that could not be made is not an fsync failure: nothing after `written` reached the
   * file, so those records are forgotten, their waiters learn they did not happen, and appends are
   * refused until the disk has room again. Reads go on. Under power-loss simulation written records
   * live in memory, where failing to move them to the file loses acknowledged ones: there it is
   * fatal like an fsync failure.
   */
  private stallOn(e: unknown): void {
    const err = toError(e);
    if (this.simulatePowerLoss || this.failure) {
      this.fail(err);
      return;
    }
    const keep = this.written;
    this.pending = [];
    const cut = this.retained.findIndex((r) => r.lsn > keep);
    if (cut >= 0) this.retained = this.retained.slice(0, cut);
    this.last = keep;
    const lastKept = this.retained[this.retained.length - 1];
    if (lastKept) this.lastEp = lastKept.epoch;
    const code = errnoCode(err);
    this.stall = { since: this.clock.now(), reason: `${code ? `${code}: ` : ''}${err.message}` };
    const dropped = new WalStalledError(`the write-ahead log cannot write (${this.stall.reason}); the write did not happen`);
    const kept: Waiter[] = [];
    for (const w of this.waiters) w.lsn > keep ? w.reject(dropped) : kept.push(w);
    this.waiters = kept;
    this.log.error({ err: this.stall.reason, lastLsn: keep }, 'WAL: cannot write; refusing writes until the disk has room again');
    this.emit('stalled', this.stall, keep);
    this.watchSpace();
  }

  /** While stalled, checks the free space; resumes once a segment and a record fit. */
  private watchSpace(): void {
    if (this.spaceWatch) return;
    const needed = Math.min(this.segmentBytes, 16 * 1024 * 1024) + MAX_PAYLOAD_BYTES;
    this.spaceWatch = this.clock.every(SPACE_CHECK_MS, () => {
      void this.files.freeBytes().then(
        (free) => {
          const stall = this.stall;
          if (!stall || free < needed || this.closed) return;
          this.spaceWatch?.cancel();
          this.spaceWatch = undefined;
          this.log.info({ freeBytes: free, stalledMs: this.clock.now() - stall.since }, 'WAL: the disk has room again; accepting writes');
          this.stall = undefined;
          this.files.prepareSpare();
          this.emit('resumed');
        },
        () => {},
      );
    });
  }
}
