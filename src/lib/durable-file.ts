/**
 * Durable file operations on the host's filesystem, for the monitor's and the cluster's state
 * files: a directory fsync (so a created, renamed or deleted name survives a crash) and an atomic
 * whole-file write (temp file, fdatasync, rename, directory fsync: a crash leaves the old file or
 * the new one). Both are the disk seam's (io/disk.ts) on the real disk; a node uses the seam
 * itself, so that a simulated disk can stand in.
 */
import { hostDisk, writeFileAtomic as writeAtomicOn } from './io/disk.js';

export function fsyncDir(dir: string): Promise<void> {
  return hostDisk.syncDir(dir);
}

export function writeFileAtomic(file: string, data: string | Buffer, options: { mode?: number } = {}): Promise<void> {
  return writeAtomicOn(hostDisk, file, data, options.mode);
}
