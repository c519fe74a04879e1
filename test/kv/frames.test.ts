import { describe, expect, it } from 'vitest';
import { encodeFrame, encodeFrameParts, encodeJsonFrame, FrameDecoder, FrameType } from '../../src/kv/replication/frames.js';
import { decodeRecord, encodeRecord, RECORD_HEADER_BYTES } from '../../src/kv/wal/record.js';

describe('replication frames', () => {
  it('decodes frames split at every byte boundary', () => {
    const a = encodeJsonFrame(FrameType.hello, 3, { nodeId: 'n2' });
    const b = encodeFrame(FrameType.records, 3, [encodeRecord({ lsn: 1, epoch: 3, timeMs: 1, op: { type: 'del', key: 'x' } })]);
    const stream = Buffer.concat([a, b]);
    for (let cut = 1; cut < stream.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(frames.map((f) => f.type)).toEqual([FrameType.hello, FrameType.records]);
      expect(frames[1]!.epoch).toBe(3);
      const r = decodeRecord(frames[1]!.body);
      expect(r.kind === 'ok' && r.record.op).toEqual({ type: 'del', key: 'x' });
    }
  });

  it('rejects a corrupted frame, an absurd length and an unknown type', () => {
    const f = encodeJsonFrame(FrameType.ack, 1, {});
    const bad = Buffer.from(f);
    bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 1, bad.length - 1);
    expect(() => new FrameDecoder().push(bad)).toThrow('frame checksum mismatch');
    expect(() => new FrameDecoder().push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow('frame length 4294967295 out of range');
    expect(() => new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toThrow(/out of range/);
  });

  it('records reject garbage without throwing', () => {
    expect(decodeRecord(Buffer.alloc(3)).kind).toBe('short');
    const r = encodeRecord({ lsn: 9, epoch: 1, timeMs: 5, op: { type: 'put', key: 'k', value: 'é' } });
    expect(decodeRecord(r)).toMatchObject({ kind: 'ok', record: { lsn: 9, op: { value: 'é' } } });
    r.writeUInt8(r.readUInt8(r.length - 1) ^ 1, r.length - 1);
    expect(decodeRecord(r)).toEqual({ kind: 'bad', reason: 'checksum mismatch' });
  });

  it('a record header has its own checksum: a damaged length is refused after eight bytes, before any body', () => {
    const r = encodeRecord({ lsn: 3, epoch: 1, timeMs: 5, op: { type: 'put', key: 'k', value: 'v' } });
    // The length counts what follows the header, so a reader can step from record to record.
    expect(RECORD_HEADER_BYTES + r.readUInt32BE(0)).toBe(r.length);
    const longer = Buffer.concat([r, Buffer.alloc(1)]);
    longer.writeUInt32BE(r.readUInt32BE(0) + 1, 0);
    expect(decodeRecord(longer)).toEqual({ kind: 'bad', reason: 'header checksum mismatch' });
    // Eight bytes whose checksum does not match are no record however long they claim it is...
    expect(decodeRecord(Buffer.from([0, 0, 0, 40, 1, 2, 3, 4]))).toEqual({ kind: 'bad', reason: 'header checksum mismatch' });
    // ...while a header that verifies and a body still missing is a record cut short.
    expect(decodeRecord(r.subarray(0, RECORD_HEADER_BYTES + 3))).toEqual({ kind: 'short' });
    // The payload keeps its own checksum.
    const flipped = Buffer.from(r);
    flipped.writeUInt8(flipped.readUInt8(RECORD_HEADER_BYTES + 6) ^ 1, RECORD_HEADER_BYTES + 6);
    expect(decodeRecord(flipped)).toEqual({ kind: 'bad', reason: 'checksum mismatch' });
  });
});

describe('encodeFrameParts', () => {
  it('is byte for byte the frame encodeFrame builds, and decodes to the same body', () => {
    const parts = [Buffer.from('first record'), Buffer.alloc(70_000, 7), Buffer.alloc(0), Buffer.from('last')];
    const joined = Buffer.concat(encodeFrameParts(FrameType.records, 9, parts));
    expect(joined.equals(encodeFrame(FrameType.records, 9, parts))).toBe(true);
    const [frame] = new FrameDecoder().push(joined);
    expect(frame!.epoch).toBe(9);
    expect(frame!.body.equals(Buffer.concat(parts))).toBe(true);
  });
});
