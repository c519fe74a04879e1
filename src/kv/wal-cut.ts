/**
 * Cutting the log: forgetting what a checkpoint covers (whole segments deleted), cutting after a
 * divergence (a rewind: the records removed are returned for rewound.jsonl), and resetting to an
 * installed snapshot.
 */
import { promises as fsp } from 'node:fs';
import { assert } from '../lib/assert.js';
import { fsyncDir } from '../lib/durable-file.js';
import { decodeRecord, type WalRecord } from './record.js';
import type { Segment, Wal } from './wal.js';

/**
 * Forgets everything up to `lsn` (a checkpoint now covers it): drops retained records and deletes
 * segments whose every record is ≤ lsn.
 */
export async function discardThrough(wal: Wal, lsn: number): Promise<void> {
  const keepFrom = wal.retained.findIndex((r) => r.lsn > lsn);
  wal.retained = keepFrom < 0 ? [] : wal.retained.slice(keepFrom);
  wal.baseLsn = Math.max(wal.baseLsn, lsn);
  const deletable: Segment[] = [];
  for (let i = 0; i + 1 < wal.segments.length; i++) {
    if (wal.segments[i + 1]!.startLsn - 1 <= lsn) deletable.push(wal.segments[i]!);
  }
  for (const seg of deletable) await fsp.rm(seg.file, { force: true });
  wal.segments = wal.segments.filter((s) => !deletable.includes(s));
  if (deletable.length) await fsyncDir(wal.dir);
}

/**
 * Cuts the log after `lsn` (a follower rewinding a suffix its new leader never had). Returns the
 * discarded records. Only valid when nothing is being flushed.
 */
export async function truncateAfter(wal: Wal, lsn: number): Promise<WalRecord[]> {
  await wal.sync();
  assert(lsn >= wal.baseLsn, `cannot truncate to ${lsn}, before the checkpoint at ${wal.baseLsn}`);
  const idx = wal.retained.findIndex((r) => r.lsn > lsn);
  if (idx < 0) return [];
  const dropped = wal.retained.slice(idx);
  const first = dropped[0]!;
  if (wal.fh) {
    await wal.fh.close();
    wal.fh = undefined;
  }
  const later = wal.segments.filter((s) => s.startLsn > first.segmentStartLsn);
  for (const seg of later) await fsp.rm(seg.file, { force: true });
  wal.segments = wal.segments.filter((s) => s.startLsn <= first.segmentStartLsn);
  const seg = wal.segments.find((s) => s.startLsn === first.segmentStartLsn);
  if (seg && first.offset === 0) {
    // The whole segment goes: the next append starts a fresh one under the same name.
    await fsp.rm(seg.file, { force: true });
    wal.segments = wal.segments.filter((x) => x !== seg);
  } else if (seg) {
    await fsp.truncate(seg.file, first.offset);
    seg.size = first.offset;
    const fh = await fsp.open(seg.file, 'r+');
    await fh.datasync();
    await fh.close();
  }
  await fsyncDir(wal.dir);
  wal.retained = wal.retained.slice(0, idx);
  wal.lastLsn = lsn;
  wal.flushedLsn = Math.min(wal.flushedLsn, lsn);
  wal.writtenLsn = Math.min(wal.writtenLsn, lsn);
  const prev = wal.retained[wal.retained.length - 1];
  wal.lastEpoch = prev ? prev.epoch : wal.lastEpoch;
  return dropped.map((r) => {
    const d = decodeRecord(r.buf);
    assert(d.kind === 'ok', 'retained record no longer decodes');
    return d.record;
  });
}

/**
 * Restarts the log empty after `lsn` (a follower that just installed a snapshot at `lsn`).
 * Every existing segment is deleted.
 */
export async function resetTo(wal: Wal, lsn: number, epoch: number): Promise<void> {
  await wal.sync();
  if (wal.fh) {
    await wal.fh.close();
    wal.fh = undefined;
  }
  for (const seg of wal.segments) await fsp.rm(seg.file, { force: true });
  wal.segments = [];
  await fsyncDir(wal.dir);
  wal.retained = [];
  wal.baseLsn = lsn;
  wal.lastLsn = lsn;
  wal.flushedLsn = lsn;
  wal.writtenLsn = lsn;
  wal.lastEpoch = epoch;
}
