/**
 * The write-ahead log: segment files of records (record.ts), appended with group commit.
 *
 * Group commit: appends queue in memory; one flusher at a time writes everything queued with a
 * single writev and one fdatasync, then resolves every waiter whose LSN it covered. While that
 * fsync runs, new appends gather for the next one, so a slow disk batches more, not less.
 *
 * Segments are named `wal-<first lsn, 16 digits>.seg` and rolled past `segmentBytes`. A new segment
 * is zero-filled to `segmentBytes` up front, as PostgreSQL does with its WAL files: writing into
 * allocated blocks lets fdatasync skip the metadata update a growing file needs, which makes each
 * flush cheaper (measured ~40% more flushes per second here). The zero-filling happens ahead of
 * time, into a spare file that the next roll renames, so no write waits for 16 MiB of zeros.
 * Records after
 * the last checkpoint are also kept in memory (`retained`), since they are what followers stream;
 * a follower that needs anything older gets the checkpoint instead (snapshot bootstrap).
 *
 * Recovery (`recover`): reads every segment in order; zeros after the last record are the unused
 * preallocation. A damaged record at the very end of the last segment (a torn write from a crash)
 * is cut off with a log line. A damaged record with any valid
 * record after it, or in an earlier segment, is corruption of committed data: the node refuses to
 * start with one line naming the file and byte offset, rather than silently dropping data.
 */

import { EventEmitter } from 'node:events';
import { promises as fsp, ftruncateSync, writevSync } from 'node:fs';
import { assert } from '../lib/assert.js';
import type { Logger } from '../lib/log.js';
import { encodeRecord, type WalRecord } from './record.js';
import * as cuts from './wal-cut.js';
import { FsyncError, fsyncOrDie, WalStalledError } from './wal-io.js';
import * as recovery from './wal-recovery.js';
import * as roll from './wal-roll.js';
import * as stalls from './wal-stall.js';
import type { RetainedRecord, Segment, Waiter, WalOptions } from './wal-types.js';

export type { RetainedRecord, Segment, Waiter, WalOptions };

export class Wal extends EventEmitter {
  readonly dir: string;
  readonly log: Logger;
  readonly segmentBytes: number;
  readonly unsafeNoSync: boolean;
  segments: Segment[] = [];
  fh: fsp.FileHandle | undefined;
  pending: RetainedRecord[] = [];
  waiters: Waiter[] = [];
  flushing = false;
  rolling = false;
  /** Set while the log cannot write (see `stall`). */
  stalled: { since: number; reason: string } | undefined;
  spaceTimer: NodeJS.Timeout | undefined;
  writeScheduled = false;
  readonly simulatePowerLoss: boolean;
  readonly syncDelayMs: number;
  /** Power-loss simulation: records written but not yet in the file (the page cache a power cut loses). */
  unsynced: RetainedRecord[] = [];
  failed: Error | undefined;
  closed = false;
  /** A preallocated file waiting to become the next segment. */
  spare: Promise<string | undefined> | undefined;
  spareSeq = 0;
  /** Records after `baseLsn`, in LSN order. */
  retained: RetainedRecord[] = [];
  /** The LSN the retained records start after (the last checkpoint's LSN, or 0). */
  baseLsn = 0;
  lastLsn = 0;
  lastEpoch = 0;
  /** Records through this LSN are written (in the page cache), not necessarily synced. */
  writtenLsn = 0;
  flushedLsn = 0;
  /** fdatasync calls so far; /metrics exposes it so benchmarks can show group commit at work. */
  fsyncCount = 0;

  constructor(options: WalOptions) {
    super();
    this.dir = options.dir;
    this.log = options.log;
    this.segmentBytes = options.segmentBytes ?? 16 * 1024 * 1024;
    this.unsafeNoSync = options.unsafeNoSync ?? false;
    this.simulatePowerLoss = options.simulatePowerLoss ?? false;
    this.syncDelayMs = options.syncDelayMs ?? 0;
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
   * which saves a promise per record on the hot path. Throws if the WAL has failed.
   */
  appendEncoded(buf: Buffer, record: Pick<WalRecord, 'lsn' | 'epoch' | 'timeMs'>): RetainedRecord {
    if (this.failed) throw this.failed;
    if (this.stalled)
      throw new WalStalledError(`the write-ahead log cannot write (${this.stalled.reason}) since ${new Date(this.stalled.since).toISOString()}`);
    assert(!this.closed, 'append to a closed WAL');
    assert(record.lsn === this.lastLsn + 1, `WAL append out of order: lsn ${record.lsn} after ${this.lastLsn}`);
    const entry: RetainedRecord = { lsn: record.lsn, epoch: record.epoch, timeMs: record.timeMs, buf, segmentStartLsn: 0, offset: 0 };
    this.pending.push(entry);
    this.retained.push(entry);
    this.lastLsn = record.lsn;
    this.lastEpoch = record.epoch;
    if (!this.writeScheduled) {
      // Everything appended in this turn of the event loop goes out in one writev.
      this.writeScheduled = true;
      setImmediate(() => {
        this.writeScheduled = false;
        this.writePending();
      });
    }
    return entry;
  }

  /** Resolves once everything appended so far is durable. */
  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.flushedLsn >= this.lastLsn) return Promise.resolve();
    const lsn = this.lastLsn;
    return new Promise((resolve, reject) => this.waiters.push({ lsn, resolve, reject }));
  }

  /**
   * Writes what is pending into the current segment now, without waiting for an fdatasync in
   * flight: a record is "written" (PostgreSQL's remote_write) as soon as it is in the page cache.
   * Rolling to a new segment is asynchronous, so that case is left to the flush loop.
   */
  writePending(): void {
    if (this.failed || this.pending.length === 0) return;
    const current = this.segments[this.segments.length - 1];
    if (!this.rolling && this.fh && current && current.size < this.segmentBytes) {
      const batch = this.pending;
      this.pending = [];
      try {
        this.writeRecords(batch, current);
      } catch (e: unknown) {
        stalls.stall(this, e);
        return;
      }
    }
    void this.flushLoop();
  }

  /**
   * Puts a batch into the page cache: one writev into the segment file or, when simulating power
   * loss, into `unsynced`, which only an fdatasync moves to the file. Byte counts are checked: a
   * short write (a full disk) is an error, never a record that looks written.
   */
  writeRecords(batch: RetainedRecord[], current: Segment): void {
    for (const r of batch) {
      r.segmentStartLsn = current.startLsn;
      r.offset = current.size;
      current.size += r.buf.length;
    }
    if (this.simulatePowerLoss) this.unsynced.push(...batch);
    else {
      try {
        this.writeToFile(batch, current.file);
      } catch (e: unknown) {
        // Cut whatever part of the batch reached the file: a later record written at this offset
        // must never be followed by a stale complete record of this failed batch.
        current.size = batch[0]!.offset;
        try {
          ftruncateSync(this.fh!.fd, current.size);
        } catch {
          // the file is left longer; recovery's torn-tail rule still ends the log at the last good record
        }
        throw e;
      }
    }
    this.writtenLsn = batch[batch.length - 1]!.lsn;
    this.emit('written', this.writtenLsn);
  }

  writeToFile(batch: RetainedRecord[], file: string): void {
    const expected = batch.reduce((n, r) => n + r.buf.length, 0);
    // The write only copies into the page cache (microseconds), so it runs inline; only the
    // fdatasync goes to the thread pool. Each await costs a trip through a busy event loop.
    const wrote = writevSync(
      this.fh!.fd,
      batch.map((r) => r.buf),
      batch[0]!.offset,
    );
    if (wrote !== expected) throw new Error(`short write: ${wrote} of ${expected} bytes at offset ${batch[0]!.offset} of ${file}`);
  }

  /** Power-loss simulation: what the page cache held reaches the file (just before its fdatasync). */
  writeUnsynced(): void {
    if (this.unsynced.length === 0) return;
    const batch = this.unsynced;
    this.unsynced = [];
    this.writeToFile(batch, this.segments[this.segments.length - 1]!.file);
  }

  async flushLoop(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (!this.failed && (this.pending.length > 0 || this.flushedLsn < this.writtenLsn)) {
        if (this.pending.length > 0 && !this.stalled) {
          try {
            let current = this.segments[this.segments.length - 1];
            if (!this.fh || !current || current.size >= this.segmentBytes) {
              this.rolling = true;
              try {
                current = await roll.rollSegment(this, this.pending[0]!.lsn);
              } finally {
                this.rolling = false;
              }
            }
            const batch = this.pending;
            this.pending = [];
            this.writeRecords(batch, current);
          } catch (e: unknown) {
            if (e instanceof FsyncError) throw e;
            stalls.stall(this, e);
          }
        }
        if (this.flushedLsn >= this.writtenLsn) continue;
        // A slow disk (`syncDelayMs`): the records sit written-but-unsynced this much longer.
        if (this.syncDelayMs > 0) await new Promise((r) => setTimeout(r, this.syncDelayMs));
        const target = this.writtenLsn;
        this.writeUnsynced();
        // No open file: a roll closed it after fdatasyncing everything written into it, and then
        // failed to open the next one (the log stalled); what `target` covers is already durable.
        if (this.fh && !this.unsafeNoSync) await fsyncOrDie(this.fh);
        this.fsyncCount++;
        this.flushedLsn = target;
        this.releaseWaiters();
        this.emit('flushed', this.flushedLsn);
      }
    } catch (e: unknown) {
      this.fail(e);
    } finally {
      this.flushing = false;
    }
  }

  /**
   * A failed fsync leaves the file in an unknown state (PostgreSQL's "fsyncgate" lesson): never
   * retry on the same file, fail every waiter and let the node stop.
   */
  fail(e: unknown): void {
    if (this.failed) return;
    this.failed = e instanceof Error ? e : new Error(String(e));
    for (const w of this.waiters) w.reject(this.failed);
    this.waiters = [];
    this.emit('error', this.failed);
  }

  releaseWaiters(): void {
    let i = 0;
    while (i < this.waiters.length && this.waiters[i]!.lsn <= this.flushedLsn) this.waiters[i++]!.resolve();
    if (i > 0) this.waiters.splice(0, i);
  }

  /** Reads the segments after a restart: the records after `afterLsn` (wal-recovery.ts). */
  recover(afterLsn: number): Promise<WalRecord[]> {
    return recovery.recover(this, afterLsn);
  }

  /** Forgets everything up to `lsn` (a checkpoint covers it); see wal-cut.ts. */
  discardThrough(lsn: number): Promise<void> {
    return cuts.discardThrough(this, lsn);
  }

  /** Cuts the log after `lsn` and returns the records removed (a rewind); see wal-cut.ts. */
  truncateAfter(lsn: number): Promise<WalRecord[]> {
    return cuts.truncateAfter(this, lsn);
  }

  /** Empties the log and continues after `lsn` of `epoch` (a snapshot was installed); see wal-cut.ts. */
  resetTo(lsn: number, epoch: number): Promise<void> {
    return cuts.resetTo(this, lsn, epoch);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.sync();
    } catch {
      // a failed WAL has already rejected its waiters; closing must still release the file
    }
    this.closed = true;
    clearInterval(this.spaceTimer);
    await this.fh?.close();
    this.fh = undefined;
    const spare = await this.spare;
    if (spare) await fsp.rm(spare, { force: true });
  }

  /** Records retained in memory from `fromLsn` on, at most `maxBytes` (always at least one). */
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

  /** The record at `lsn` if it is retained in memory. */
  recordAt(lsn: number): RetainedRecord | undefined {
    const first = this.retained[0];
    if (!first) return undefined;
    return this.retained[lsn - first.lsn];
  }
}

/** A record found by `scanSegment`, with where it sits in its segment. */
