/** CRC-32C: published check values, a bytewise reference on random input, and continuation. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/lib/crc32c.js';

/** The textbook one-byte-at-a-time definition, as a reference for the sliced version. */
function reference(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of buf) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0x82f63b78 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('matches the published check values (RFC 3720 B.4 and "123456789")', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('agrees with the bytewise definition on every length and offset', () => {
    const buf = randomBytes(300);
    for (let start = 0; start < 9; start++)
      for (let end = start; end <= buf.length; end += 7) expect(crc32c(buf, start, end)).toBe(reference(buf.subarray(start, end)));
  });

  it('continues a checksum across buffers', () => {
    const a = randomBytes(1000);
    for (const cut of [0, 1, 7, 8, 500, 999, 1000]) expect(crc32c(a, cut, a.length, crc32c(a, 0, cut))).toBe(crc32c(a));
  });
});
