/**
 * Replication frames on the replication TCP port:
 *
 *   u32 length (of everything after this field) | u32 crc32c(type..body) | u8 type | u32 epoch | body
 *
 * Every frame carries the sender's epoch so a node can refuse anything from an older leader
 * (fencing). Control frames carry a JSON body; RECORDS carries WAL records verbatim (record.ts);
 * SNAPSHOT_CHUNK carries raw checkpoint-file bytes.
 *
 * `FrameDecoder` is fed arbitrary socket chunks and either yields whole frames or reports the first
 * malformed one, after which the connection is to be dropped: a stream that lost framing cannot be
 * resynchronised safely.
 */
import { crc32c } from '../../lib/crc32c.js';

export const FrameType = {
  hello: 1,
  welcome: 2,
  records: 3,
  ack: 4,
  heartbeat: 5,
  snapshotBegin: 6,
  snapshotChunk: 7,
  snapshotEnd: 8,
  error: 9,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];
const FRAME_TYPES = new Set<number>(Object.values(FrameType));

/** Frames above this are refused: a record is ≤ ~1 MiB and batches are cut at 1 MiB. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;
const FRAME_PREFIX_BYTES = 4 + 4 + 1 + 4;

export interface Frame {
  type: FrameType;
  epoch: number;
  body: Buffer;
}

export function encodeFrame(type: FrameType, epoch: number, body: Buffer | Buffer[]): Buffer {
  const parts = Array.isArray(body) ? body : [body];
  const bodyBytes = parts.reduce((n, p) => n + p.length, 0);
  const buf = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + bodyBytes);
  buf.writeUInt32BE(FRAME_PREFIX_BYTES - 4 + bodyBytes, 0);
  buf.writeUInt8(type, 8);
  buf.writeUInt32BE(epoch, 9);
  let o = FRAME_PREFIX_BYTES;
  for (const p of parts) {
    p.copy(buf, o);
    o += p.length;
  }
  buf.writeUInt32BE(crc32c(buf, 8, buf.length), 4);
  return buf;
}

/**
 * The same frame as `encodeFrame`, as a fresh 13-byte header followed by `parts` themselves: the
 * checksum runs over the parts in place, and the caller writes the list corked (one writev), so a
 * batch of large records goes to the socket without being copied into one buffer first.
 */
export function encodeFrameParts(type: FrameType, epoch: number, parts: Buffer[]): Buffer[] {
  const bodyBytes = parts.reduce((n, p) => n + p.length, 0);
  const head = Buffer.allocUnsafe(FRAME_PREFIX_BYTES);
  head.writeUInt32BE(FRAME_PREFIX_BYTES - 4 + bodyBytes, 0);
  head.writeUInt8(type, 8);
  head.writeUInt32BE(epoch, 9);
  let crc = crc32c(head, 8, FRAME_PREFIX_BYTES);
  for (const p of parts) crc = crc32c(p, 0, p.length, crc);
  head.writeUInt32BE(crc, 4);
  return [head, ...parts];
}

/** A control frame with a JSON body: write it through bodies.ts, whose schemas type each body. */
export function encodeJsonFrame(type: FrameType, epoch: number, body: unknown): Buffer {
  return encodeFrame(type, epoch, Buffer.from(JSON.stringify(body), 'utf8'));
}

export class FrameError extends Error {
  override name = 'FrameError';
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** `maxFrameBytes`: frames announcing more are refused before a byte of them is buffered. */
  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Adds bytes and returns the complete frames they finish. Throws FrameError on garbage. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const len = head.readUInt32BE(0);
      if (len < FRAME_PREFIX_BYTES - 4 || len > this.maxFrameBytes) throw new FrameError(`frame length ${len} out of range (at most ${this.maxFrameBytes})`);
      if (this.buffered < 4 + len) break;
      const buf = this.take(4 + len);
      if (crc32c(buf, 8, buf.length) !== buf.readUInt32BE(4)) throw new FrameError('frame checksum mismatch');
      const type = buf.readUInt8(8);
      if (!FRAME_TYPES.has(type)) throw new FrameError(`unknown frame type ${type}`);
      frames.push({ type: type as FrameType, epoch: buf.readUInt32BE(9), body: buf.subarray(FRAME_PREFIX_BYTES) });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered -= n;
    return out;
  }
}

/** An ACK body: what a follower has written, fdatasync'd and applied (three f64 LSNs). */
export interface Ack {
  writtenLsn: number;
  flushedLsn: number;
  appliedLsn: number;
}

const ACK_BYTES = 24;

export function encodeAck(a: Ack): Buffer {
  const body = Buffer.allocUnsafe(ACK_BYTES);
  body.writeDoubleBE(a.writtenLsn, 0);
  body.writeDoubleBE(a.flushedLsn, 8);
  body.writeDoubleBE(a.appliedLsn, 16);
  return body;
}

export function decodeAck(body: Buffer): Ack {
  if (body.length !== ACK_BYTES) throw new FrameError(`ACK body must be ${ACK_BYTES} bytes, got ${body.length}`);
  const a = { writtenLsn: body.readDoubleBE(0), flushedLsn: body.readDoubleBE(8), appliedLsn: body.readDoubleBE(16) };
  for (const [name, v] of Object.entries(a))
    if (!Number.isSafeInteger(v) || v < 0) throw new FrameError(`ACK: ${name} must be a non-negative integer, got ${v}`);
  return a;
}
