/**
 * Checkpoints: the whole key-value state at one LSN, in one file `snapshot-<lsn, 16 digits>.snap`.
 *
 *   u32 payloadLength | u32 crc32c(payload) | payload = JSON {lsn, epoch, timeMs, entries: [[k, v], ...]}
 *
 * Written atomically (lib/io/disk.ts), so a crash leaves either the old checkpoint or the new one,
 * never half of one. The same bytes are what a new follower
 * receives over the replication connection.
 */
import path from 'node:path';
import { z } from 'zod';
import { crc32c } from '../../lib/crc32c.js';
import { type Clock, yieldTurn } from '../../lib/io/clock.js';
import { type Disk, writeFileAtomic } from '../../lib/io/disk.js';

const SnapshotSchema = z.object({
  lsn: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  timeMs: z.number(),
  entries: z.array(z.tuple([z.string(), z.string()])),
});
export type Snapshot = z.infer<typeof SnapshotSchema>;

const SNAP_RE = /^snapshot-(\d{16})\.snap$/;
export const snapshotName = (lsn: number) => `snapshot-${String(lsn).padStart(16, '0')}.snap`;

export function encodeSnapshot(s: Snapshot): Buffer {
  const payload = Buffer.from(JSON.stringify(s), 'utf8');
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt32BE(crc32c(payload), 4);
  return Buffer.concat([head, payload]);
}

/**
 * The same bytes as `encodeSnapshot`, built about `sliceBytes` at a time with the event loop free
 * in between (the checksum continues across slices). A checkpoint of a large state encoded in one
 * go held a leader's event loop for over a second (64 KiB values: p99 1.3–1.5 s in bench:peers).
 */
export async function encodeSnapshotYielding(s: Snapshot, clock: Clock, sliceBytes = 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let crc = 0;
  let size = 0;
  const add = (text: string) => {
    const b = Buffer.from(text, 'utf8');
    crc = crc32c(b, 0, b.length, crc);
    size += b.length;
    parts.push(b);
  };
  // Key order and number formatting exactly as JSON.stringify(s) writes them.
  let text = `{"lsn":${JSON.stringify(s.lsn)},"epoch":${JSON.stringify(s.epoch)},"timeMs":${JSON.stringify(s.timeMs)},"entries":[`;
  for (let i = 0; i < s.entries.length; i++) {
    text += (i === 0 ? '' : ',') + JSON.stringify(s.entries[i]);
    if (text.length >= sliceBytes) {
      add(text);
      text = '';
      await yieldTurn(clock);
    }
  }
  add(`${text}]}`);
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(size, 0);
  head.writeUInt32BE(crc, 4);
  return Buffer.concat([head, ...parts], 8 + size);
}

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

export function decodeSnapshot(buf: Buffer, where: string): Snapshot {
  if (buf.length < 8 || buf.readUInt32BE(0) !== buf.length - 8) throw new SnapshotError(`snapshot ${where}: length does not match`);
  if (crc32c(buf, 8, buf.length) !== buf.readUInt32BE(4)) throw new SnapshotError(`snapshot ${where}: checksum mismatch`);
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8', 8));
  } catch {
    throw new SnapshotError(`snapshot ${where}: payload is not valid JSON`);
  }
  const r = SnapshotSchema.safeParse(json);
  if (!r.success) throw new SnapshotError(`snapshot ${where}: missing or malformed lsn, epoch, timeMs or entries`);
  return r.data;
}

/** The checkpoint files of one data dir on one disk. */
export class CheckpointFiles {
  constructor(
    private readonly disk: Disk,
    private readonly dir: string,
  ) {}

  /** Writes `bytes` (an encoded snapshot at `lsn`) atomically and deletes older checkpoints. */
  async install(lsn: number, bytes: Buffer): Promise<string> {
    const file = await this.write(lsn, bytes);
    await this.remove((at) => at < lsn);
    return file;
  }

  /** Writes `bytes` (an encoded snapshot at `lsn`) atomically: complete and synced, or not there at all. */
  async write(lsn: number, bytes: Buffer): Promise<string> {
    const file = path.join(this.dir, snapshotName(lsn));
    await writeFileAtomic(this.disk, file, bytes);
    return file;
  }

  /** Deletes the checkpoints whose LSN `which` selects, and temp files an interrupted write of one left. */
  async remove(which: (lsn: number) => boolean): Promise<void> {
    let removed = false;
    for (const name of await this.disk.readdir(this.dir)) {
      const m = SNAP_RE.exec(name.replace(/\.\d+\.\d+\.tmp$/, ''));
      if (m && which(Number(m[1]))) {
        await this.disk.rm(path.join(this.dir, name));
        removed = true;
      }
    }
    if (removed) await this.disk.syncDir(this.dir);
  }

  /** The newest checkpoint, or undefined. A damaged newest checkpoint is an error, not skipped. */
  async latest(): Promise<{ snapshot: Snapshot; file: string } | undefined> {
    const names = (await this.disk.readdir(this.dir)).filter((n) => SNAP_RE.test(n)).sort();
    const newest = names[names.length - 1];
    if (!newest) return undefined;
    const file = path.join(this.dir, newest);
    return { snapshot: decodeSnapshot(await this.disk.readFile(file), file), file };
  }

  /** The bytes of a checkpoint file `latest` named. */
  read(file: string): Promise<Buffer> {
    return this.disk.readFile(file);
  }
}
