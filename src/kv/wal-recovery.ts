/**
 * Reading the log back after a restart: every segment in order through the scan rule
 * (wal-segment.ts); the records after the checkpoint are retained in memory again, and a torn
 * tail is cut off the last segment with a log line.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { WalRecord } from './record.js';
import type { Wal } from './wal.js';
import { prepareSpare } from './wal-roll.js';
import { isZero, SEGMENT_RE, scanSegment } from './wal-segment.js';

/** Loads existing segments; returns the records after `afterLsn` (the snapshot's LSN) in order. */
export async function recover(wal: Wal, afterLsn: number): Promise<WalRecord[]> {
  const all = await fsp.readdir(wal.dir);
  for (const n of all) if (n.endsWith('.spare')) await fsp.rm(path.join(wal.dir, n), { force: true });
  const names = all.filter((n) => SEGMENT_RE.test(n)).sort();
  const records: WalRecord[] = [];
  wal.baseLsn = afterLsn;
  wal.lastLsn = afterLsn;
  for (let i = 0; i < names.length; i++) {
    const file = path.join(wal.dir, names[i]!);
    const startLsn = Number(SEGMENT_RE.exec(names[i]!)![1]);
    const buf = await fsp.readFile(file);
    const isLast = i === names.length - 1;
    let scan: ReturnType<typeof scanSegment>;
    try {
      scan = scanSegment({ file, buf, isLast, afterLsn, lastLsn: wal.lastLsn });
    } catch (e: unknown) {
      // Nothing was recovered: mark the log failed so closing it does not wait for a flush of
      // records that were never appended (it used to hang, and the process exited silently).
      wal.failed = e as Error;
      throw e;
    }
    for (const { record: r, offset, bytes } of scan.records) {
      records.push(r);
      wal.retained.push({ lsn: r.lsn, epoch: r.epoch, timeMs: r.timeMs, buf: buf.subarray(offset, offset + bytes), segmentStartLsn: startLsn, offset });
      wal.lastLsn = r.lsn;
      wal.lastEpoch = r.epoch;
    }
    const size = scan.validBytes;
    if (size < buf.length && !isZero(buf, size)) {
      wal.log.warn({ file, offset: size, droppedBytes: buf.length - size }, 'WAL: torn record at the tail, truncating');
      await fsp.truncate(file, size);
    }
    wal.segments.push({ startLsn, file, size });
  }
  wal.flushedLsn = wal.lastLsn;
  wal.writtenLsn = wal.lastLsn;
  prepareSpare(wal);
  return records;
}
