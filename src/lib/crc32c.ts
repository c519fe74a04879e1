/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum iSCSI, ext4 and Kafka's
 * record batches use. Table-driven, slicing-by-8: eight bytes per step through eight 256-entry
 * tables. The byte-at-a-time loop this replaces ran at a few hundred MB/s and, with 64 KiB values,
 * was the largest single cost on the leader (each value is checksummed as a record and again
 * inside its replication frame, on both ends); this runs several times faster in V8.
 */
const TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  // Table k: the CRC of a byte followed by k zero bytes.
  for (let k = 1; k < 8; k++) for (let n = 0; n < 256; n++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!;
  return t;
})();

/**
 * CRC-32C of buf[start, end). `previous` continues a checksum over bytes that came before (the
 * result of an earlier call), so one checksum can span several buffers without joining them.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, previous = 0): number {
  const t = TABLES;
  let crc = ~previous;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    crc ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    crc =
      t[1792 + (crc & 0xff)]! ^
      t[1536 + ((crc >>> 8) & 0xff)]! ^
      t[1280 + ((crc >>> 16) & 0xff)]! ^
      t[1024 + (crc >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
  }
  for (; i < end; i++) crc = t[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
