/**
 * Segment files: rolling to the next one, and preparing it ahead of time. A new segment is
 * zero-filled to `segmentBytes` (as PostgreSQL does), into a spare file the next roll renames, so
 * no write waits for the zeros; the spare is only made with room to spare on the disk.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsyncDir } from '../lib/durable-file.js';
import type { Segment, Wal } from './wal.js';
import { fsyncOrDie } from './wal-io.js';
import { segmentName } from './wal-segment.js';

/** Free space a spare segment must leave behind. */
const SPARE_RESERVE_BYTES = 1024 * 1024;

export async function rollSegment(wal: Wal, startLsn: number): Promise<Segment> {
  if (wal.fh) {
    wal.writeUnsynced(); // they belong to the segment being closed
    if (!wal.unsafeNoSync) await fsyncOrDie(wal.fh);
    const old = wal.fh;
    wal.fh = undefined;
    await old.close();
  }
  const seg: Segment = { startLsn, file: path.join(wal.dir, segmentName(startLsn)), size: 0 };
  const spare = await wal.spare;
  wal.spare = undefined;
  if (spare) await fsp.rename(spare, seg.file);
  else await preallocate(wal, seg.file);
  wal.fh = await fsp.open(seg.file, 'r+');
  wal.segments.push(seg);
  await fsyncDir(wal.dir);
  prepareSpare(wal);
  return seg;
}

/** Starts zero-filling the next segment's file in the background. */
export function prepareSpare(wal: Wal): void {
  if (wal.spare || wal.closed) return;
  const file = path.join(wal.dir, `next-${process.pid}-${wal.spareSeq++}.spare`);
  // Only with room to spare: a speculative preallocation must not take the last free bytes
  // that metadata, the current segment's tail or a restart need.
  const room = fsp.statfs(wal.dir).then(
    (st) => st.bavail * st.bsize >= 2 * wal.segmentBytes + SPARE_RESERVE_BYTES,
    () => false,
  );
  wal.spare = room
    .then((ok) => (ok ? preallocate(wal, file) : Promise.reject(new Error('no room for a spare'))))
    .then(
      () => file,
      () => undefined, // the roll will preallocate inline instead
    );
}

export async function preallocate(wal: Wal, file: string): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    if (!wal.unsafeNoSync) {
      const { bytesWritten } = await fh.write(Buffer.alloc(wal.segmentBytes), 0, wal.segmentBytes, 0);
      if (bytesWritten !== wal.segmentBytes)
        throw Object.assign(new Error(`short write preallocating ${file}: ${bytesWritten} of ${wal.segmentBytes} bytes`), { code: 'ENOSPC' });
      await fh.datasync();
    }
  } catch (e: unknown) {
    // A half-allocated file helps nobody and holds the space a retry needs.
    await fh.close().catch(() => {});
    await fsp.rm(file, { force: true });
    throw e;
  }
  await fh.close();
}
