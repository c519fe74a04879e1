import { describe, expect, it } from 'vitest';
import { encodeFrame, encodeFrameParts, encodeJsonFrame, FrameDecoder, FrameType } from '../../src/kv/frames.js';
import { decodeRecord, encodeRecord } from '../../src/kv/record.js';

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
