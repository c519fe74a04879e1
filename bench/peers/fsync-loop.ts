/**
 * The physical floor every system here is measured against: one 100-byte write + fdatasync at a
 * time on the same disk, in the same run. Group commit is what lets a server beat it.
 */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Durable writes per second of a write+fdatasync loop run for `seconds`. */
export function bareFsyncLoop(seconds: number): number {
  const file = path.join(os.tmpdir(), `replab-fsync-${process.pid}`);
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(100, 0x61);
  let n = 0;
  const end = Date.now() + seconds * 1000;
  try {
    while (Date.now() < end) {
      writeSync(fd, buf);
      fdatasyncSync(fd);
      n++;
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return n / seconds;
}
