/**
 * Durable file operations shared by the WAL, checkpoints, node metadata, monitor state and
 * cluster state: a directory fsync (so a created, renamed or deleted name survives a crash) and an
 * atomic whole-file write (temp file, fdatasync, rename, directory fsync: a crash leaves the old
 * file or the new one). A failed write removes its temp file (a full disk must not fill up further
 * with half-written temps), and `mode` sets the permissions from the start (0600 for secrets).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

let tmpSeq = 0;

export async function writeFileAtomic(file: string, data: string | Buffer, options: { mode?: number } = {}): Promise<void> {
  // A temp name per call: two writes of the same file in flight must not rename each other's file.
  const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
  try {
    const fh = await fsp.open(tmp, 'w', options.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (e: unknown) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
  await fsyncDir(path.dirname(file));
}
