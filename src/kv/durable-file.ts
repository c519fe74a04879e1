/**
 * Durable file operations shared by the WAL, checkpoints and node metadata: a directory fsync
 * (so a created, renamed or deleted name survives a crash) and an atomic whole-file write
 * (temp file, fdatasync, rename, directory fsync: a crash leaves the old file or the new one).
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

export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  // A temp name per call: two writes of the same file in flight must not rename each other's file.
  const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}
