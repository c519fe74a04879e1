/** A node's data dir as a whole: the lock that keeps a second process off it. */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../lib/errors.js';
import { isPidRunning } from '../lib/pid.js';

/** Data dir lock: a second process on the same WAL would corrupt it. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'LOCK');
  try {
    const pid = Number(await fsp.readFile(file, 'utf8'));
    if (pid && pid !== process.pid && isPidRunning(pid)) throw new Error(`data dir ${dir} is in use by pid ${pid}`);
  } catch (e: unknown) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  await fsp.writeFile(file, String(process.pid));
  return () => fsp.rm(file, { force: true });
}
