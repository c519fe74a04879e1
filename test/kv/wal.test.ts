import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRecord, MAX_VALUE_BYTES, RECORD_HEADER_BYTES, type WalRecord } from '../../src/kv/wal/record.js';
import { WalCorruptionError } from '../../src/kv/wal/segment-format.js';
import { Wal } from '../../src/kv/wal/wal.js';
import { silentLogger } from '../../src/lib/log.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-wal-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const rec = (lsn: number, value = `value-${lsn}`): WalRecord => ({
  lsn,
  epoch: 1,
  timeMs: 1_700_000_000_000 + lsn,
  op: { type: 'put', key: `k${lsn % 7}`, value },
});
const open = () => new Wal({ dir, log: silentLogger(), segmentBytes: 4096 });
/** Encoded size of records from..to (10 small records fit in one 4 KiB segment). */
const validBytes = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => encodeRecord(rec(from + i)).length).reduce((a, b) => a + b, 0);

/** Appends records 1..n in groups of ten (each group one fsync, so segments can roll between them). */
async function appendAll(wal: Wal, n: number): Promise<void> {
  for (let i = 0; i < n; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, j) => wal.append(rec(i + j + 1))));
  }
}

async function writeRecords(n: number): Promise<void> {
  const wal = open();
  await wal.recover(0);
  await appendAll(wal, n);
  await wal.close();
}

async function segments(): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
}

describe('wal', () => {
  it('round trip: records come back in order with the same contents, across segments', async () => {
    await writeRecords(200);
    expect((await segments()).length).toBeGreaterThan(1);
    const wal = open();
    const records = await wal.recover(0);
    expect(records).toEqual(Array.from({ length: 200 }, (_, i) => rec(i + 1)));
    expect(wal.lastLsn).toBe(200);
    await wal.close();
  });

  it('group commit: concurrent appends share fdatasyncs', async () => {
    const wal = open();
    await wal.recover(0);
    await Promise.all(Array.from({ length: 500 }, (_, i) => wal.append(rec(i + 1))));
    expect(wal.flushedLsn).toBe(500);
    expect(wal.fsyncCount).toBeLessThan(100);
    await wal.close();
  });

  it('a torn record at the tail is truncated and the log stays appendable', async () => {
    await writeRecords(10);
    const last = path.join(dir, (await segments()).at(-1)!);
    const buf = await fsp.readFile(last);
    encodeRecord(rec(11)).subarray(0, 20).copy(buf, validBytes(1, 10)); // half of record 11, in place
    await fsp.writeFile(last, buf);
    const wal = open();
    const records = await wal.recover(0);
    expect(records.map((r) => r.lsn)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    await wal.append(rec(11));
    await wal.close();
    expect((await open().recover(0)).length).toBe(11);
  });

  it('a checksum mismatch on the last record is a torn tail too', async () => {
    await writeRecords(5);
    const last = path.join(dir, (await segments()).at(-1)!);
    const buf = await fsp.readFile(last);
    buf.writeUInt8(buf.readUInt8(validBytes(1, 5) - 1) ^ 0xff, validBytes(1, 5) - 1);
    await fsp.writeFile(last, buf);
    const records = await open().recover(0);
    expect(records.map((r) => r.lsn)).toEqual([1, 2, 3, 4]);
  });

  it('new segments are preallocated with zeros, which recovery reads as the end of the log', async () => {
    await writeRecords(3);
    const only = path.join(dir, (await segments())[0]!);
    expect((await fsp.stat(only)).size).toBe(4096);
    expect((await open().recover(0)).map((r) => r.lsn)).toEqual([1, 2, 3]);
  });

  it('a CRC mismatch in the middle is refused, naming the file and offset', async () => {
    await writeRecords(10);
    const file = path.join(dir, (await segments())[0]!);
    const buf = await fsp.readFile(file);
    const second = encodeRecord(rec(1)).length;
    buf.writeUInt8(buf.readUInt8(second + 30) ^ 0xff, second + 30); // inside record 2's payload; records 3..10 follow intact
    await fsp.writeFile(file, buf);
    const err = await open()
      .recover(0)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalCorruptionError);
    expect((err as Error).message).toBe(`WAL corrupt: checksum mismatch in ${file} at offset ${second}; committed records follow it`);
    // Nothing was cut: the damaged file keeps its full length for inspection.
    expect((await fsp.stat(file)).size).toBe(buf.length);
  });

  it("damage in an earlier segment is refused even at that segment's end", async () => {
    await writeRecords(200);
    const first = path.join(dir, (await segments())[0]!);
    const buf = await fsp.readFile(first);
    buf.writeUInt8(buf.readUInt8(buf.length - 1) ^ 0xff, buf.length - 1);
    await fsp.writeFile(first, buf);
    await expect(open().recover(0)).rejects.toThrow(/WAL corrupt: checksum mismatch in .*wal-0000000000000001\.seg at offset \d+/);
  });

  it('discardThrough deletes whole segments covered by a checkpoint, keeps the rest', async () => {
    const wal = open();
    await wal.recover(0);
    await appendAll(wal, 300);
    const before = await segments();
    await wal.discardThrough(150);
    const after = await segments();
    expect(after.length).toBeLessThan(before.length);
    expect(wal.baseLsn).toBe(150);
    expect(wal.readFrom(151, 151, 1)[0]!.lsn).toBe(151);
    await wal.close();
    const reopened = open();
    const records = await reopened.recover(150);
    expect(records[0]!.lsn).toBe(151);
    expect(records.at(-1)!.lsn).toBe(300);
  });

  it('truncateAfter cuts the suffix on disk and returns it', async () => {
    const wal = open();
    await wal.recover(0);
    await appendAll(wal, 120);
    const dropped = await wal.truncateAfter(100);
    expect(dropped.map((r) => r.lsn)).toEqual(Array.from({ length: 20 }, (_, i) => 101 + i));
    await wal.append({ ...rec(101), epoch: 2 });
    await wal.close();
    const records = await open().recover(0);
    expect(records.length).toBe(101);
    expect(records.at(-1)!.epoch).toBe(2);
  });

  it('refuses an append that skips an LSN (a bug, not input)', async () => {
    const wal = open();
    await wal.recover(0);
    expect(() => wal.append(rec(2))).toThrow(/out of order/);
    await wal.close();
  });
});

describe('wal: the scan after a damaged record is bounded', () => {
  // A legal 1 MiB value of 0x00 and 0x0f bytes. Read at odd offsets it looks like record lengths of
  // ~1 MiB everywhere, and the scan for a valid record after damage used to checksum up to 1 MiB at
  // each of them: minutes for one torn record (the node did not start within 120 s).
  const zeroRich = '\u0000\u000f'.repeat(MAX_VALUE_BYTES / 2);
  const big = (lsn: number): WalRecord => ({ lsn, epoch: 1, timeMs: 1_700_000_000_000 + lsn, op: { type: 'put', key: 'big', value: zeroRich } });
  // Segments of the default size (16 MiB), preallocated with zeros as in production.
  const openDefault = () => new Wal({ dir, log: silentLogger() });

  /** Appends `records` one by one, closes, and returns each one's offset in the (only) segment. */
  async function writeLog(records: WalRecord[]): Promise<{ file: string; offsets: number[] }> {
    const wal = openDefault();
    await wal.recover(0);
    for (const r of records) await wal.append(r);
    await wal.close();
    const names = await segments();
    expect(names).toHaveLength(1);
    const offsets: number[] = [];
    let o = 0;
    for (const r of records) {
      offsets.push(o);
      o += encodeRecord(r).length;
    }
    return { file: path.join(dir, names[0]!), offsets };
  }

  async function damage(file: string, edit: (buf: Buffer) => void): Promise<void> {
    const buf = await fsp.readFile(file);
    edit(buf);
    await fsp.writeFile(file, buf);
  }

  it('a 1 MiB last record with its second half zeroed (a torn write) is cut on recovery, and the log stays appendable', async () => {
    const { file, offsets } = await writeLog([rec(1), rec(2), rec(3), big(4)]);
    const bytes = encodeRecord(big(4)).length;
    await damage(file, (buf) => buf.fill(0, offsets[3]! + bytes / 2, offsets[3]! + bytes));
    const wal = openDefault();
    expect((await wal.recover(0)).map((r) => r.lsn)).toEqual([1, 2, 3]);
    expect((await fsp.stat(file)).size).toBe(offsets[3]);
    await wal.append(rec(4));
    await wal.close();
    expect((await openDefault().recover(0)).map((r) => r.lsn)).toEqual([1, 2, 3, 4]);
  });

  it('the same damage with a record after it is corruption, refused naming file and offset', async () => {
    const { file, offsets } = await writeLog([rec(1), big(2), rec(3)]);
    const bytes = encodeRecord(big(2)).length;
    await damage(file, (buf) => buf.fill(0, offsets[1]! + bytes / 2, offsets[1]! + bytes));
    await expect(openDefault().recover(0)).rejects.toThrow(`WAL corrupt: checksum mismatch in ${file} at offset ${offsets[1]}; committed records follow it`);
  });

  it("a damaged header (the length's checksum) is corruption when records follow it, a torn tail when none do", async () => {
    const { file, offsets } = await writeLog([rec(1), rec(2), rec(3)]);
    // The second record's length claims more bytes: its header no longer verifies.
    await damage(file, (buf) => buf.writeUInt8(buf.readUInt8(offsets[1]! + 2) ^ 0x01, offsets[1]! + 2));
    await expect(openDefault().recover(0)).rejects.toThrow(
      `WAL corrupt: header checksum mismatch in ${file} at offset ${offsets[1]}; committed records follow it`,
    );
    // The same damage to the last record: the end of the log.
    await damage(file, (buf) => buf.writeUInt8(buf.readUInt8(offsets[1]! + 2) ^ 0x01, offsets[1]! + 2));
    await damage(file, (buf) => buf.writeUInt8(buf.readUInt8(offsets[2]! + RECORD_HEADER_BYTES - 1) ^ 0x80, offsets[2]! + RECORD_HEADER_BYTES - 1));
    expect((await openDefault().recover(0)).map((r) => r.lsn)).toEqual([1, 2]);
  });
});

describe('wal: a segment roll that fails', () => {
  it('stalls the log (not a fatal error) even with records written during an fsync, and keeps every acknowledged record', async () => {
    const wal = new Wal({ dir, log: silentLogger(), segmentBytes: 4096 });
    await wal.recover(0);
    const events: string[] = [];
    wal.on('error', () => events.push('error'));
    wal.on('stalled', () => events.push('stalled'));
    const acked: number[] = [];
    const appends: Array<Promise<unknown>> = [];
    // A segment holds whole batches, so where the first roll falls depends on how many records
    // one fdatasync lets pile up: before each record, a directory squats the name a segment
    // starting at it would take, so whichever roll comes first cannot create its file.
    for (let lsn = 1; lsn <= 50_000 && !wal.stalled && !events.includes('error'); lsn++) {
      if (lsn > 1) await fsp.mkdir(path.join(dir, `wal-${String(lsn).padStart(16, '0')}.seg`));
      if (wal.stalled) break; // it may have stalled while the directory was made
      // One record per turn of the event loop: writes land while an fdatasync is in flight.
      appends.push(
        wal.append(rec(lsn)).then(
          () => acked.push(lsn),
          () => {},
        ),
      );
      await new Promise((r) => setImmediate(r));
    }
    // Every append has been answered (acknowledged, or refused by the stall) and the log has said why.
    await Promise.allSettled(appends);
    expect(events).toEqual(['stalled']);
    expect(acked.length).toBeGreaterThan(10);
    await wal.close();
    for (const n of await fsp.readdir(dir)) if ((await fsp.stat(path.join(dir, n))).isDirectory()) await fsp.rmdir(path.join(dir, n));
    const again = open();
    const recovered = (await again.recover(0)).map((r) => r.lsn);
    await again.close();
    for (const lsn of acked) expect(recovered).toContain(lsn);
  });
});
