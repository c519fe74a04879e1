/**
 * The WAL's files, read: segment names (`wal-<first lsn, 16 digits>.seg`) and the one rule that
 * turns a segment's bytes into records, shared by recovery and the offline `replab wal dump`:
 * records must continue without a gap; zeros are unused preallocation; a damaged record with
 * nothing valid after it in the last segment is a torn tail (the end of the log); damage anywhere
 * else is corruption, named by file and offset.
 */
import { decodeRecord, RECORD_HEADER_BYTES, type WalRecord } from './record.js';

export class WalCorruptionError extends Error {
  override name = 'WalCorruptionError';
}

export const SEGMENT_RE = /^wal-(\d{16})\.seg$/;
export const segmentName = (startLsn: number) => `wal-${String(startLsn).padStart(16, '0')}.seg`;

export interface ScannedRecord {
  record: WalRecord;
  offset: number;
  bytes: number;
}

/**
 * Parses one segment file's bytes: the records after `afterLsn` (a checkpoint covers the rest),
 * which must continue `lastLsn` without a gap. Returns them with the byte length of the valid
 * prefix. A damaged record that ends the last segment (nothing valid after it) is a torn tail:
 * the prefix ends there. Damage anywhere else throws WalCorruptionError naming file and offset.
 * Pure, so recovery and the offline `replab wal dump` apply exactly the same rule.
 */
export function scanSegment(s: { file: string; buf: Buffer; isLast: boolean; afterLsn: number; lastLsn: number }): {
  records: ScannedRecord[];
  validBytes: number;
  lastLsn: number;
} {
  const records: ScannedRecord[] = [];
  let lastLsn = s.lastLsn;
  let offset = 0;
  while (offset < s.buf.length) {
    if (s.buf[offset] === 0 && isZero(s.buf, offset)) break; // unused preallocation
    const d = decodeRecord(s.buf, offset);
    if (d.kind !== 'ok') {
      const why = d.kind === 'short' ? 'incomplete record' : d.reason;
      if (!s.isLast || hasValidRecordAfter(s.buf, offset + 1)) {
        throw new WalCorruptionError(`WAL corrupt: ${why} in ${s.file} at offset ${offset}; committed records follow it`);
      }
      break;
    }
    const r = d.record;
    if (r.lsn <= lastLsn && r.lsn > s.afterLsn) {
      throw new WalCorruptionError(`WAL corrupt: lsn ${r.lsn} after ${lastLsn} in ${s.file} at offset ${offset}`);
    }
    if (r.lsn > s.afterLsn) {
      if (r.lsn !== lastLsn + 1) {
        throw new WalCorruptionError(`WAL corrupt: gap before lsn ${r.lsn} (expected ${lastLsn + 1}) in ${s.file} at offset ${offset}`);
      }
      records.push({ record: r, offset, bytes: d.bytes });
      lastLsn = r.lsn;
    }
    offset += d.bytes;
  }
  return { records, validBytes: offset, lastLsn };
}

/** True when every byte from `from` on is zero. */
export function isZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** True when some complete, checksummed record starts at or after `from` (so damage is not a torn tail). */
function hasValidRecordAfter(buf: Buffer, from: number): boolean {
  for (let o = from; o + RECORD_HEADER_BYTES <= buf.length; o++) {
    if (decodeRecord(buf, o).kind === 'ok') return true;
  }
  return false;
}
