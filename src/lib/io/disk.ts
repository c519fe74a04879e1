/**
 * The disk as a node uses it, behind one narrow interface: files opened for positioned writes,
 * fdatasync, whole-file reads, directory listings, renames, removals, directory syncs and free
 * space. The real disk is the host's filesystem; an in-memory one (src/sim/disk.ts) keeps files in
 * maps, so a test can run nodes without a filesystem and, later, fill the disk or lose what was
 * not synced.
 *
 * Writes into the page cache are synchronous (`writevSync`): the WAL copies a batch inline,
 * because an await per batch costs a trip through a busy event loop; only the sync waits.
 */
import { promises as fsp, ftruncateSync, writevSync } from 'node:fs';
import path from 'node:path';

export interface DiskFile {
  /** Writes `buffers` at `position` (into the page cache); returns the bytes written. */
  writevSync(buffers: readonly Buffer[], position: number): number;
  truncateSync(length: number): void;
  /** Writes `data` at `position`; resolves with the bytes written (a full disk writes fewer, or throws ENOSPC). */
  write(data: Buffer, position: number): Promise<number>;
  /** Appends `data` at the end (a file opened with 'a'). */
  append(data: Buffer | string): Promise<void>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export interface Disk {
  /** 'r+' an existing file, 'w' created or emptied, 'a' appended to (created if missing). */
  open(file: string, flags: 'r+' | 'w' | 'a', mode?: number): Promise<DiskFile>;
  /** The whole file; an error with code ENOENT when it does not exist. */
  readFile(file: string): Promise<Buffer>;
  readdir(dir: string): Promise<string[]>;
  /** Creates `dir` and its parents; nothing when it exists. */
  mkdir(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; nothing when it does not exist. */
  rm(file: string): Promise<void>;
  truncate(file: string, length: number): Promise<void>;
  /** Makes the names in `dir` (created, renamed, removed) durable. */
  syncDir(dir: string): Promise<void>;
  /** Bytes an unprivileged writer can still use on the filesystem holding `dir`. */
  freeBytes(dir: string): Promise<number>;
}

/** The host's filesystem. */
export const hostDisk: Disk = {
  async open(file, flags, mode) {
    const fh = await fsp.open(file, flags, mode);
    return {
      writevSync: (buffers, position) => writevSync(fh.fd, buffers as Buffer[], position),
      truncateSync: (length) => ftruncateSync(fh.fd, length),
      write: async (data, position) => (await fh.write(data, 0, data.length, position)).bytesWritten,
      append: (data) => fh.writeFile(data),
      datasync: () => fh.datasync(),
      close: () => fh.close(),
    };
  },
  readFile: (file) => fsp.readFile(file),
  readdir: (dir) => fsp.readdir(dir),
  mkdir: async (dir) => {
    await fsp.mkdir(dir, { recursive: true });
  },
  rename: (from, to) => fsp.rename(from, to),
  rm: (file) => fsp.rm(file, { force: true }),
  truncate: (file, length) => fsp.truncate(file, length),
  async syncDir(dir) {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  async freeBytes(dir) {
    const st = await fsp.statfs(dir);
    return st.bavail * st.bsize;
  },
};

let tmpSeq = 0;

/**
 * Writes `data` to `file` atomically on `disk`: a temp file, fdatasync, rename, directory sync, so
 * a crash leaves the old file or the new one. A failed write removes its temp file (a full disk
 * must not fill up further with half-written temps); `mode` sets the permissions from the start.
 */
export async function writeFileAtomic(disk: Disk, file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  // A temp name per call: two writes of the same file in flight must not rename each other's file.
  const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    const fh = await disk.open(tmp, 'w', mode);
    try {
      const wrote = await fh.write(bytes, 0);
      if (wrote !== bytes.length) throw Object.assign(new Error(`short write to ${tmp}: ${wrote} of ${bytes.length} bytes`), { code: 'ENOSPC' });
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await disk.rename(tmp, file);
  } catch (e: unknown) {
    await disk.rm(tmp).catch(() => {});
    throw e;
  }
  await disk.syncDir(path.dirname(file));
}
