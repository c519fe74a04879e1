/**
 * The WAL's files, read: segment names (`wal-<first lsn, 16 digits>.seg`) and the one rule that
 * turns a segment's bytes into records, shared by recovery and the offline `replab wal dump`:
 * records must continue without a gap; zeros are unused preallocation; a damaged record with
 * nothing valid after it in the last segment is a torn tail (the end of the log); damage anywhere
 * else is corruption, named by file and offset.
 *
 * "Nothing valid after it" is a search, and it is bounded: a candidate offset costs eight bytes
 * (the record header has its own checksum), and only a header that verifies costs a checksum of
 * its body. When the damaged record's own header verifies, its length is known, so the search
 * starts where the next record would, and never looks inside the damaged record at all.
 */
import { decodeRecord, RECORD_HEADER_BYTES, verifiedRecordBytes, type WalRecord } from './record.js';

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
      if (!s.isLast || hasValidRecordAfter(s.buf, offset + (verifiedRecordBytes(s.buf, offset) ?? 1))) {
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
  return nextNonZero(buf, from) === buf.length;
}

/** Zeros to compare against: a segment's unused preallocation is skipped a chunk at a time, natively. */
const ZEROS = Buffer.alloc(64 * 1024);

/** The offset of the first non-zero byte at or after `from` (buf.length if none). */
function nextNonZero(buf: Buffer, from: number): number {
  let i = from;
  // Most calls are at a record's start, whose first byte is zero and one of the next three is
  // not: a short look in JS first, before a native compare of a chunk.
  const near = Math.min(buf.length, from + 32);
  while (i < near && buf[i] === 0) i++;
  if (i < near) return i;
  while (i < buf.length) {
    const n = Math.min(ZEROS.length, buf.length - i);
    if (ZEROS.compare(buf, i, i + n, 0, n) !== 0) break;
    i += n;
  }
  while (i < buf.length && buf[i] === 0) i++;
  return i;
}

/**
 * True when some complete, checksummed record starts at or after `from` (so damage is not a torn
 * tail). Every offset is a candidate, but one whose header does not verify is dropped after eight
 * bytes; a random offset passes with odds of 1 in 2^32.
 */
function hasValidRecordAfter(buf: Buffer, from: number): boolean {
  for (let o = from; o + RECORD_HEADER_BYTES <= buf.length; o++) {
    // A header's length is not zero, so in a run of zeros (the preallocated rest of a segment)
    // the next candidate is three bytes before the first non-zero byte.
    if (buf.readUInt32BE(o) === 0) {
      o = Math.max(o, nextNonZero(buf, o) - 4);
      continue;
    }
    if (verifiedRecordBytes(buf, o) !== undefined && decodeRecord(buf, o).kind === 'ok') return true;
  }
  return false;
}
