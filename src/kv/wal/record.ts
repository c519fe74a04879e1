/**
 * One WAL record, encoded identically on disk and on the replication wire, so a follower can
 * append exactly the bytes its upstream sent and verify the same checksums.
 *
 *   header (8 bytes) = u32 bodyBytes | u32 crc32c(the four bytes of bodyBytes)
 *   body             = u32 crc32c(payload) | payload
 *   payload          = u32 lsnHigh | u32 lsnLow | u32 epoch | f64 timeMs | u8 opType
 *                      | u32 keyBytes | key | (put only) u32 valueBytes | value
 *
 * The header has its own checksum so that a reader looking for the next record after damage
 * (wal-segment.ts) can reject a byte offset after reading eight bytes: only a length that verifies
 * leads to a checksum over the body, which is up to 1 MiB. With one checksum over the payload
 * alone, every offset whose next four bytes looked like a length in range cost a checksum of that
 * length, and a value rich in zero bytes made one torn record take minutes to scan.
 *
 * `timeMs` is the leader's wall clock when the record was created; followers use it to report
 * replication lag in milliseconds, the way PostgreSQL reports replay_lag.
 */
import { crc32c } from '../../lib/crc32c.js';

export type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

export interface WalRecord {
  lsn: number;
  epoch: number;
  timeMs: number;
  op: Op;
}

/** The part of a record that is checked on its own: the body's length and that length's checksum. */
export const RECORD_HEADER_BYTES = 8;
/** The payload's checksum, at the start of the body. */
const BODY_CRC_BYTES = 4;
const PAYLOAD_START = RECORD_HEADER_BYTES + BODY_CRC_BYTES;
const PAYLOAD_FIXED_BYTES = 4 + 4 + 4 + 8 + 1 + 4;
/** Keys are bounded so a single record stays well inside a replication frame. */
export const MAX_KEY_BYTES = 1024;
export const MAX_VALUE_BYTES = 1024 * 1024;
export const MAX_PAYLOAD_BYTES = PAYLOAD_FIXED_BYTES + 4 + MAX_KEY_BYTES + MAX_VALUE_BYTES;
/** The body length a header may announce; anything outside is garbage, not a record. */
const MIN_BODY_BYTES = BODY_CRC_BYTES + PAYLOAD_FIXED_BYTES;
const MAX_BODY_BYTES = BODY_CRC_BYTES + MAX_PAYLOAD_BYTES;

const OP_PUT = 1;
const OP_DEL = 2;

export function encodeRecord(rec: WalRecord): Buffer {
  // Strings are written straight into the record: no intermediate Buffer per key and value.
  const keyBytes = Buffer.byteLength(rec.op.key, 'utf8');
  const value = rec.op.type === 'put' ? rec.op.value : undefined;
  const valueBytes = value === undefined ? 0 : Buffer.byteLength(value, 'utf8');
  const payloadBytes = PAYLOAD_FIXED_BYTES + keyBytes + (value === undefined ? 0 : 4 + valueBytes);
  const buf = Buffer.allocUnsafe(PAYLOAD_START + payloadBytes);
  let o = PAYLOAD_START;
  buf.writeUInt32BE(Math.floor(rec.lsn / 2 ** 32), o);
  buf.writeUInt32BE(rec.lsn >>> 0, o + 4);
  buf.writeUInt32BE(rec.epoch, o + 8);
  buf.writeDoubleBE(rec.timeMs, o + 12);
  buf.writeUInt8(rec.op.type === 'put' ? OP_PUT : OP_DEL, o + 20);
  buf.writeUInt32BE(keyBytes, o + 21);
  o += PAYLOAD_FIXED_BYTES;
  o += buf.write(rec.op.key, o, 'utf8');
  if (value !== undefined) {
    buf.writeUInt32BE(valueBytes, o);
    buf.write(value, o + 4, 'utf8');
  }
  buf.writeUInt32BE(BODY_CRC_BYTES + payloadBytes, 0);
  buf.writeUInt32BE(crc32c(buf, 0, 4), 4);
  buf.writeUInt32BE(crc32c(buf, PAYLOAD_START, buf.length), RECORD_HEADER_BYTES);
  return buf;
}

/**
 * The length of the record starting at `offset` (header and body) when its header verifies: a
 * body length in range with a matching checksum. Undefined otherwise, or when fewer than
 * RECORD_HEADER_BYTES remain. Reads eight bytes; the body may lie past the end of `buf`.
 */
export function verifiedRecordBytes(buf: Buffer, offset: number): number | undefined {
  if (buf.length - offset < RECORD_HEADER_BYTES) return undefined;
  const len = buf.readUInt32BE(offset);
  // The range first: it rejects almost every offset (zeros, text) without a checksum.
  if (len < MIN_BODY_BYTES || len > MAX_BODY_BYTES) return undefined;
  if (crc32c(buf, offset, offset + 4) !== buf.readUInt32BE(offset + 4)) return undefined;
  return RECORD_HEADER_BYTES + len;
}

export type DecodeResult =
  | { kind: 'ok'; record: WalRecord; bytes: number }
  /** Not enough bytes for the header or the payload the header announces. */
  | { kind: 'short' }
  | { kind: 'bad'; reason: string };

/**
 * Decodes the record starting at `offset`; never throws on garbage. `short` means the header
 * verified and announces more bytes than `buf` holds (or not even a header is there); a header
 * that does not verify is `bad` however long it claims to be.
 */
export function decodeRecord(buf: Buffer, offset = 0): DecodeResult {
  if (buf.length - offset < RECORD_HEADER_BYTES) return { kind: 'short' };
  const bytes = verifiedRecordBytes(buf, offset);
  if (bytes === undefined) {
    const len = buf.readUInt32BE(offset);
    if (crc32c(buf, offset, offset + 4) !== buf.readUInt32BE(offset + 4)) return { kind: 'bad', reason: 'header checksum mismatch' };
    return { kind: 'bad', reason: `length ${len} out of range` };
  }
  const end = offset + bytes;
  if (end > buf.length) return { kind: 'short' };
  if (crc32c(buf, offset + PAYLOAD_START, end) !== buf.readUInt32BE(offset + RECORD_HEADER_BYTES)) return { kind: 'bad', reason: 'checksum mismatch' };
  let o = offset + PAYLOAD_START;
  const lsn = buf.readUInt32BE(o) * 2 ** 32 + buf.readUInt32BE(o + 4);
  const epoch = buf.readUInt32BE(o + 8);
  const timeMs = buf.readDoubleBE(o + 12);
  const type = buf.readUInt8(o + 20);
  const keyLen = buf.readUInt32BE(o + 21);
  o += PAYLOAD_FIXED_BYTES;
  if (o + keyLen > end) return { kind: 'bad', reason: 'key overruns record' };
  const key = buf.toString('utf8', o, o + keyLen);
  o += keyLen;
  if (type === OP_DEL) {
    if (o !== end) return { kind: 'bad', reason: 'trailing bytes in delete record' };
    return { kind: 'ok', record: { lsn, epoch, timeMs, op: { type: 'del', key } }, bytes: end - offset };
  }
  if (type !== OP_PUT) return { kind: 'bad', reason: `unknown op type ${type}` };
  if (o + 4 > end) return { kind: 'bad', reason: 'value length overruns record' };
  const valueLen = buf.readUInt32BE(o);
  if (o + 4 + valueLen !== end) return { kind: 'bad', reason: 'value length does not match record' };
  const value = buf.toString('utf8', o + 4, end);
  return { kind: 'ok', record: { lsn, epoch, timeMs, op: { type: 'put', key, value } }, bytes: end - offset };
}
