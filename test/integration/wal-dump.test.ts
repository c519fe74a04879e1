/**
 * `replab wal dump` on what a user may point it at: a torn 1 MiB record at the end of the log, a
 * folder that is no data dir, and a reader that closes the pipe early (`| head`).
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRecord, MAX_VALUE_BYTES, type WalRecord } from '../../src/kv/wal/record.js';
import { Wal } from '../../src/kv/wal/wal.js';
import { silentLogger } from '../../src/lib/log.js';
import { cliEntry } from '../../src/lib/paths.js';
import { replab } from '../helpers/cli.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-wal-dump-'));
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

/** A data dir whose log holds `records`, written through the WAL (default 16 MiB segments, preallocated). */
async function writeLog(records: WalRecord[]): Promise<string> {
  const wal = new Wal({ dir, log: silentLogger() });
  await wal.recover(0);
  for (let i = 0; i < records.length; i += 100) await Promise.all(records.slice(i, i + 100).map((r) => wal.append(r)));
  await wal.close();
  const segs = (await fsp.readdir(dir)).filter((n) => n.endsWith('.seg'));
  expect(segs).toHaveLength(1);
  return path.join(dir, segs[0]!);
}

describe('replab wal dump', () => {
  it('a 1 MiB last record with its second half zeroed is reported as the torn tail (the scan used to take minutes)', async () => {
    // 0x00 and 0x0f bytes: at odd offsets they read as record lengths near 1 MiB.
    const big: WalRecord = { lsn: 3, epoch: 1, timeMs: 1_700_000_000_003, op: { type: 'put', key: 'big', value: '\u0000\u000f'.repeat(MAX_VALUE_BYTES / 2) } };
    const seg = await writeLog([rec(1), rec(2), big]);
    const start = encodeRecord(rec(1)).length + encodeRecord(rec(2)).length;
    const bytes = encodeRecord(big).length;
    const buf = await fsp.readFile(seg);
    buf.fill(0, start + bytes / 2, start + bytes);
    await fsp.writeFile(seg, buf);
    const r = await replab(['wal', 'dump', dir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const head = JSON.parse(r.stdout.split('\n')[0]!) as { lastLsn: number; tornTail: unknown };
    expect(head.lastLsn).toBe(2);
    expect(head.tornTail).toEqual({ file: seg, offset: start, bytes: buf.length - start });
  });

  it('a folder that is no data dir (no WAL segment, checkpoint or meta.json) is bad input naming it, not an empty log', async () => {
    await fsp.writeFile(path.join(dir, 'hosts'), '127.0.0.1 localhost\n');
    await fsp.mkdir(path.join(dir, 'ssh'));
    const r = await replab(['wal', 'dump', dir]);
    expect(r.stderr).toBe(`error: ${dir}: not a node's data dir (no WAL segment, checkpoint or meta.json in it)\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it.each([[['--json']], [[]]])('a reader that closes the pipe early (| head) ends the dump quietly: exit 0, no stack trace (%j)', async (flags) => {
    // About 1.5 MB of output: far past what a pipe buffers, so the dump is still writing when the reader goes.
    await writeLog(Array.from({ length: 15_000 }, (_, i) => rec(i + 1, `v${'x'.repeat(40)}-${i + 1}`)));
    const child = spawn(process.execPath, [cliEntry(), 'wal', 'dump', dir, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Read the first chunk, then close our end, as head does after its lines.
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString('utf8'))));
    child.stdout.destroy();
    expect(first.length).toBeGreaterThan(0);
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });
});
