/**
 * A node's data dir on a small volume of its own, so that a nemesis can fill that node's disk
 * without touching anything else on the machine (the harness's own files, other nodes, other
 * programs). A full disk is only a fair fault when it is the node's alone: filling the machine's
 * disk would also break the history recorder, the logs and whatever else runs there, which is a
 * different experiment.
 *
 * The volume is an ext4 file system in a sparse image file beside the data dir (`<dir>.img`),
 * loop-mounted: its fdatasync reaches the real disk, so a run keeps the durability costs it would
 * have without the volume. Where loop devices are not available, a tmpfs of the same size (its
 * fdatasync is free, which the run log says). Mounting needs root; without it, a cluster spec
 * that asks for volumes is refused with one line (exit 4) rather than run without them.
 *
 * Filling writes a file of zeros into the volume until the file system answers ENOSPC, then syncs
 * it; freeing deletes that file. The node under test sees exactly what a full disk shows it:
 * short writes and ENOSPC on its next write, preallocation or checkpoint.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { EnvironmentError, errnoCode, toError } from '../lib/errors.js';

const run = promisify(execFile);

/** The name of the file that takes the free space while a disk-full fault is on. */
export const FILLER_FILE = 'disk-full.filler';

export type VolumeKind = 'ext4' | 'tmpfs';

/** Mount points under `dir` (deepest first), from this process's mount table. */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const root = path.resolve(dir);
  const table = await fsp.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points: string[] = [];
  for (const line of table.split('\n')) {
    // Field 5 is the mount point, with spaces and other special bytes octal-escaped.
    const field = line.split(' ')[4];
    if (!field) continue;
    const point = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (point === root || point.startsWith(`${root}/`)) points.push(point);
  }
  return points.sort((a, b) => b.length - a.length);
}

export async function isMountPoint(dir: string): Promise<boolean> {
  return (await mountPointsUnder(dir)).includes(path.resolve(dir));
}

/**
 * Mounts a volume of `bytes` at `dir` (created when missing; it must be empty). A volume already
 * mounted there (a node restarted by a nemesis, a cluster brought up again) is kept as it is.
 */
export async function mountVolume(dir: string, bytes: number): Promise<VolumeKind> {
  if (process.getuid?.() !== 0)
    throw new EnvironmentError(
      `a data volume per node (storage.volumeMiB, needed by the disk-full fault) is mounted with "mount", which needs root; run as root, or drop the disk-full fault`,
    );
  await fsp.mkdir(dir, { recursive: true });
  if (await isMountPoint(dir)) return existsSync(`${dir}.img`) ? 'ext4' : 'tmpfs';
  if ((await fsp.readdir(dir)).length > 0) throw new EnvironmentError(`cannot mount a data volume on ${dir}: the folder is not empty`);
  const image = `${dir}.img`;
  try {
    // A sparse image: it takes disk space only as the node writes. No blocks reserved for root
    // (-m 0): the node runs as root and would otherwise see 5% more room than the filler leaves.
    await fsp.rm(image, { force: true });
    await run('truncate', ['-s', String(bytes), image]);
    await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
    await run('mount', ['-o', 'loop', image, dir]);
    return 'ext4';
  } catch {
    await fsp.rm(image, { force: true });
  }
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir]);
    return 'tmpfs';
  } catch (e: unknown) {
    throw new EnvironmentError(`cannot mount a data volume on ${dir} (neither a loop-mounted ext4 image nor a tmpfs): ${firstLine(e)}`);
  }
}

/** Unmounts every volume under `dir` (deepest first) and deletes their image files. */
export async function unmountVolumesUnder(dir: string): Promise<void> {
  for (const point of await mountPointsUnder(dir)) {
    // Lazy: a process that still has a file open there (a node being killed) must not make the
    // unmount fail; the loop device is released once the last file is closed.
    await run('umount', ['-l', point]).catch(() => {});
    await fsp.rm(`${point}.img`, { force: true });
  }
}

/** Fills the volume holding `dir` until it has no free block; returns the bytes taken. */
export async function fillVolume(dir: string): Promise<number> {
  const file = path.join(dir, FILLER_FILE);
  const fh = await fsp.open(file, 'a');
  let taken = 0;
  try {
    // Large writes first, then smaller ones into the last free blocks.
    for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
      const zeros = Buffer.alloc(size);
      for (;;) {
        try {
          const { bytesWritten } = await fh.write(zeros, 0, size, null);
          taken += bytesWritten;
          if (bytesWritten < size) break;
        } catch (e: unknown) {
          if (errnoCode(e) === 'ENOSPC') break;
          throw e;
        }
      }
    }
    // Without a sync the blocks may only be promised by the page cache; with it they are gone.
    await fh.datasync().catch(() => {});
  } finally {
    await fh.close();
  }
  return taken;
}

/** Gives the space back (deletes the filler); returns the bytes freed. */
export async function freeVolume(dir: string): Promise<number> {
  const file = path.join(dir, FILLER_FILE);
  const size = await fsp.stat(file).then(
    (s) => s.size,
    () => 0,
  );
  await fsp.rm(file, { force: true });
  return size;
}

function firstLine(e: unknown): string {
  // execFile's errors carry the command's stderr, which says more than "Command failed".
  const stderr = typeof e === 'object' && e !== null && 'stderr' in e && typeof e.stderr === 'string' ? e.stderr : '';
  return (stderr || toError(e).message).trim().split('\n')[0] ?? String(e);
}
