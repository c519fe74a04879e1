/**
 * The WAL's files on disk: the segment being written, the ones before it, and a spare. This class
 * owns everything about files (names, rolling, preallocation, cutting, reading back after a crash)
 * and nothing about LSN bookkeeping, which is the Wal's (wal.ts).
 *
 * Segments are named `wal-<first lsn, 16 digits>.seg` and rolled past `segmentBytes`. A new segment
 * is zero-filled to `segmentBytes` up front, as PostgreSQL does with its WAL files: writing into
 * allocated blocks lets fdatasync skip the metadata update a growing file needs, which makes each
 * flush cheaper (measured ~40% more flushes per second here). The zero-filling happens ahead of
 * time, into a spare file that the next roll renames, so no write waits for 16 MiB of zeros; the
 * spare is only made with room to spare on the disk.
 *
 * Power-loss simulation keeps written batches in this process's memory (`unsynced`) until their
 * fdatasync, so that kill -9 loses them as a power cut loses the page cache.
 */

import path from 'node:path';
import { errnoCode } from '../../lib/errors.js';
import type { Disk, DiskFile } from '../../lib/io/disk.js';
import type { Logger } from '../../lib/log.js';
import { FsyncError } from './errors.js';
import type { WalRecord } from './record.js';
import { isZero, SEGMENT_RE, scanSegment, segmentName } from './segment-format.js';
import type { RetainedRecord, Segment } from './types.js';

/** Free space a spare segment must leave behind. */
const SPARE_RESERVE_BYTES = 1024 * 1024;

export interface SegmentFilesOptions {
  dir: string;
  disk: Disk;
  log: Logger;
  segmentBytes: number;
  unsafeNoSync: boolean;
  simulatePowerLoss: boolean;
}

export class SegmentFiles {
  private segments: Segment[] = [];
  private fh: DiskFile | undefined;
  private rolling = false;
  private spare: Promise<string | undefined> | undefined;
  private spareSeq = 0;
  private closed = false;
  /** Power-loss simulation: batches written but not yet in the file. */
  private unsynced: RetainedRecord[] = [];

  constructor(private readonly o: SegmentFilesOptions) {}

  /**
   * Reads every segment after a restart, in order, through the one scan rule (segment-format.ts):
   * returns the records after `afterLsn` (what the checkpoint does not cover) with their places in
   * the files. A torn tail is cut off the last segment with a log line; a spare left by a crash is
   * removed. Throws WalCorruptionError for damage anywhere else.
   */
  async load(afterLsn: number): Promise<{ records: WalRecord[]; retained: RetainedRecord[] }> {
    const { dir, disk } = this.o;
    const all = await disk.readdir(dir);
    for (const n of all) if (n.endsWith('.spare')) await disk.rm(path.join(dir, n));
    const names = all.filter((n) => SEGMENT_RE.test(n)).sort();
    const records: WalRecord[] = [];
    const retained: RetainedRecord[] = [];
    let lastLsn = afterLsn;
    for (let i = 0; i < names.length; i++) {
      const file = path.join(dir, names[i]!);
      const startLsn = Number(SEGMENT_RE.exec(names[i]!)![1]);
      const buf = await disk.readFile(file);
      const scan = scanSegment({ file, buf, isLast: i === names.length - 1, afterLsn, lastLsn });
      for (const { record: r, offset, bytes } of scan.records) {
        records.push(r);
        retained.push({ lsn: r.lsn, epoch: r.epoch, timeMs: r.timeMs, buf: buf.subarray(offset, offset + bytes), segmentStartLsn: startLsn, offset });
        lastLsn = r.lsn;
      }
      const size = scan.validBytes;
      if (size < buf.length && !isZero(buf, size)) {
        this.o.log.warn({ file, offset: size, droppedBytes: buf.length - size }, 'WAL: torn record at the tail, truncating');
        await disk.truncate(file, size);
      }
      this.segments.push({ startLsn, file, size });
    }
    this.prepareSpare();
    return { records, retained };
  }

  /** Whether a batch can go into the current segment now, without a roll. */
  canWriteInline(): boolean {
    const current = this.segments[this.segments.length - 1];
    return !this.rolling && !!this.fh && !!current && current.size < this.o.segmentBytes;
  }

  /** Makes the segment `batch` goes into ready: the current one, or a new one starting at `startLsn`. */
  async ensureSegment(startLsn: number): Promise<void> {
    const current = this.segments[this.segments.length - 1];
    if (this.fh && current && current.size < this.o.segmentBytes) return;
    this.rolling = true;
    try {
      await this.roll(startLsn);
    } finally {
      this.rolling = false;
    }
  }

  /**
   * Puts a batch into the page cache of the current segment: one writev or, when simulating power
   * loss, into memory that only a sync moves to the file. Each record learns where it sits. Byte
   * counts are checked: a short write (a full disk) is an error, never a record that looks written,
   * and whatever part of the batch reached the file is cut again.
   */
  write(batch: RetainedRecord[]): void {
    const current = this.segments[this.segments.length - 1]!;
    const start = current.size;
    for (const r of batch) {
      r.segmentStartLsn = current.startLsn;
      r.offset = current.size;
      current.size += r.buf.length;
    }
    if (this.o.simulatePowerLoss) {
      this.unsynced.push(...batch);
      return;
    }
    try {
      this.writeToFile(batch, current.file);
    } catch (e: unknown) {
      // A later record written at this offset must never be followed by a stale complete record
      // of this failed batch.
      current.size = start;
      try {
        this.fh!.truncateSync(start);
      } catch {
        // the file stays longer; recovery's torn-tail rule still ends the log at the last good record
      }
      throw e;
    }
  }

  /** Makes everything written so far durable (one fdatasync). An fdatasync failure is an FsyncError. */
  async sync(): Promise<void> {
    this.writeUnsynced();
    // No open file: a roll closed it after syncing everything written into it, then failed to open
    // the next one; what was written is durable already.
    if (this.fh && !this.o.unsafeNoSync) await fsyncOrDie(this.fh);
  }

  /** Deletes every segment whose records all lie at or below `lsn` (a checkpoint covers them). */
  async deleteThrough(lsn: number): Promise<void> {
    const deletable: Segment[] = [];
    for (let i = 0; i + 1 < this.segments.length; i++) if (this.segments[i + 1]!.startLsn - 1 <= lsn) deletable.push(this.segments[i]!);
    for (const seg of deletable) await this.o.disk.rm(seg.file);
    this.segments = this.segments.filter((s) => !deletable.includes(s));
    if (deletable.length) await this.o.disk.syncDir(this.o.dir);
  }

  /** Cuts the files so that `first` (a record's place) and everything after it are gone. */
  async cutAt(first: Pick<RetainedRecord, 'segmentStartLsn' | 'offset'>): Promise<void> {
    const { disk } = this.o;
    await this.closeCurrent();
    for (const seg of this.segments.filter((s) => s.startLsn > first.segmentStartLsn)) await disk.rm(seg.file);
    this.segments = this.segments.filter((s) => s.startLsn <= first.segmentStartLsn);
    const seg = this.segments.find((s) => s.startLsn === first.segmentStartLsn);
    if (seg && first.offset === 0) {
      // The whole segment goes: the next append starts a fresh one under the same name.
      await disk.rm(seg.file);
      this.segments = this.segments.filter((x) => x !== seg);
    } else if (seg) {
      await disk.truncate(seg.file, first.offset);
      seg.size = first.offset;
      const fh = await disk.open(seg.file, 'r+');
      await fh.datasync();
      await fh.close();
    }
    await disk.syncDir(this.o.dir);
  }

  /** Deletes every segment (a snapshot replaces the whole log). */
  async removeAll(): Promise<void> {
    await this.closeCurrent();
    for (const seg of this.segments) await this.o.disk.rm(seg.file);
    this.segments = [];
    await this.o.disk.syncDir(this.o.dir);
  }

  freeBytes(): Promise<number> {
    return this.o.disk.freeBytes(this.o.dir);
  }

  /** Starts zero-filling the next segment's file in the background, when the disk has room to spare. */
  prepareSpare(): void {
    if (this.spare || this.closed) return;
    const file = path.join(this.o.dir, `next-${process.pid}-${this.spareSeq++}.spare`);
    // A speculative preallocation must not take the last free bytes that metadata, the current
    // segment's tail or a restart need.
    const room = this.freeBytes().then(
      (free) => free >= 2 * this.o.segmentBytes + SPARE_RESERVE_BYTES,
      () => false,
    );
    this.spare = room
      .then((ok) => (ok ? this.preallocate(file) : Promise.reject(new Error('no room for a spare'))))
      .then(
        () => file,
        () => undefined, // the roll will preallocate inline instead
      );
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
    const spare = await this.spare;
    if (spare) await this.o.disk.rm(spare);
  }

  private async roll(startLsn: number): Promise<void> {
    const { disk, dir } = this.o;
    if (this.fh) {
      this.writeUnsynced(); // they belong to the segment being closed
      if (!this.o.unsafeNoSync) await fsyncOrDie(this.fh);
      await this.closeCurrent();
    }
    const seg: Segment = { startLsn, file: path.join(dir, segmentName(startLsn)), size: 0 };
    const spare = await this.spare;
    this.spare = undefined;
    if (spare) await disk.rename(spare, seg.file);
    else await this.preallocate(seg.file);
    this.fh = await disk.open(seg.file, 'r+');
    this.segments.push(seg);
    await disk.syncDir(dir);
    this.prepareSpare();
  }

  private async closeCurrent(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  private async preallocate(file: string): Promise<void> {
    const { disk, segmentBytes } = this.o;
    const fh = await disk.open(file, 'w');
    try {
      if (!this.o.unsafeNoSync) {
        const wrote = await fh.write(Buffer.alloc(segmentBytes), 0);
        if (wrote !== segmentBytes) throw Object.assign(new Error(`short write preallocating ${file}: ${wrote} of ${segmentBytes} bytes`), { code: 'ENOSPC' });
        await fh.datasync();
      }
    } catch (e: unknown) {
      // A half-allocated file helps nobody and holds the space a retry needs.
      await fh.close().catch(() => {});
      await disk.rm(file);
      throw e;
    }
    await fh.close();
  }

  /** Power-loss simulation: what the page cache held reaches the file (just before its fdatasync). */
  private writeUnsynced(): void {
    if (this.unsynced.length === 0) return;
    const batch = this.unsynced;
    this.unsynced = [];
    this.writeToFile(batch, this.segments[this.segments.length - 1]!.file);
  }

  private writeToFile(batch: RetainedRecord[], file: string): void {
    const expected = batch.reduce((n, r) => n + r.buf.length, 0);
    const wrote = this.fh!.writevSync(
      batch.map((r) => r.buf),
      batch[0]!.offset,
    );
    if (wrote !== expected) throw new Error(`short write: ${wrote} of ${expected} bytes at offset ${batch[0]!.offset} of ${file}`);
  }
}

/**
 * A failed fsync leaves the file in an unknown state (PostgreSQL's "fsyncgate" lesson): it is an
 * FsyncError, which the Wal never retries.
 */
async function fsyncOrDie(fh: DiskFile): Promise<void> {
  try {
    await fh.datasync();
  } catch (e: unknown) {
    const code = errnoCode(e);
    throw new FsyncError(`fdatasync failed (${code ?? (e instanceof Error ? e.message : String(e))})`);
  }
}
