/**
 * An in-memory disk: files as byte buffers, directories as a set of paths, and a capacity, so a
 * test can run nodes without a filesystem and fill their disk at will (writes past the capacity
 * fail with ENOSPC, as a full filesystem's do). Each file keeps what was last synced beside what
 * was written, the ground a later power-loss simulation will stand on.
 */
import path from 'node:path';
import { type Clock, delay } from '../lib/io/clock.js';
import type { Disk, DiskFile } from '../lib/io/disk.js';

interface SimFile {
  data: Buffer;
  /** The content as of the last datasync. */
  synced: Buffer;
}

function errno(code: string, what: string): Error {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}

export class SimDisk implements Disk {
  private readonly files = new Map<string, SimFile>();
  private readonly dirs = new Set<string>(['/']);
  /** Total bytes the files may hold. */
  capacityBytes: number;
  fsyncs = 0;
  /** Simulated time each fdatasync and directory sync takes (a slow disk), on `clock`. */
  syncMs = 0;

  constructor(
    capacityBytes = 1024 * 1024 * 1024,
    private readonly clock?: Clock,
  ) {
    this.capacityBytes = capacityBytes;
  }

  private async slowSync(): Promise<void> {
    if (this.syncMs > 0 && this.clock) await delay(this.clock, this.syncMs);
  }

  usedBytes(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.data.length;
    return n;
  }

  async open(file: string, flags: 'r+' | 'w' | 'a'): Promise<DiskFile> {
    this.requireDir(path.dirname(file), file);
    let f = this.files.get(file);
    if (!f) {
      if (flags === 'r+') throw errno('ENOENT', `no such file, open '${file}'`);
      f = { data: Buffer.alloc(0), synced: Buffer.alloc(0) };
      this.files.set(file, f);
    } else if (flags === 'w') f.data = Buffer.alloc(0);
    const entry = f;
    let closed = false;
    const live = () => {
      if (closed) throw errno('EBADF', `file closed: ${file}`);
      if (this.files.get(file) !== entry) throw errno('ENOENT', `file removed while open: ${file}`);
    };
    const writeAt = (bufs: readonly Buffer[], position: number): number => {
      live();
      const total = bufs.reduce((n, b) => n + b.length, 0);
      const end = position + total;
      const growth = Math.max(0, end - entry.data.length);
      if (growth > 0 && this.usedBytes() + growth > this.capacityBytes) throw errno('ENOSPC', `no space left on device, write '${file}'`);
      if (end > entry.data.length) {
        const grown = Buffer.alloc(end);
        entry.data.copy(grown);
        entry.data = grown;
      }
      let o = position;
      for (const b of bufs) {
        b.copy(entry.data, o);
        o += b.length;
      }
      return total;
    };
    return {
      writevSync: (bufs, position) => writeAt(bufs, position),
      truncateSync: (length) => {
        live();
        entry.data = resize(entry.data, length);
      },
      write: async (data, position) => writeAt([data], position),
      append: async (data) => {
        writeAt([typeof data === 'string' ? Buffer.from(data, 'utf8') : data], entry.data.length);
      },
      datasync: async () => {
        await this.slowSync();
        live();
        entry.synced = Buffer.from(entry.data);
        this.fsyncs++;
      },
      close: async () => {
        closed = true;
      },
    };
  }

  async readFile(file: string): Promise<Buffer> {
    const f = this.files.get(file);
    if (!f) throw errno('ENOENT', `no such file or directory, open '${file}'`);
    return Buffer.from(f.data);
  }

  async readdir(dir: string): Promise<string[]> {
    this.requireDir(dir, dir);
    const out: string[] = [];
    for (const name of [...this.files.keys(), ...this.dirs]) if (path.dirname(name) === dir && name !== dir) out.push(path.basename(name));
    return out.sort();
  }

  async mkdir(dir: string): Promise<void> {
    for (let d = dir; !this.dirs.has(d); d = path.dirname(d)) this.dirs.add(d);
  }

  async rename(from: string, to: string): Promise<void> {
    const f = this.files.get(from);
    if (!f) throw errno('ENOENT', `no such file, rename '${from}'`);
    this.requireDir(path.dirname(to), to);
    this.files.delete(from);
    this.files.set(to, f);
  }

  async rm(file: string): Promise<void> {
    this.files.delete(file);
  }

  async truncate(file: string, length: number): Promise<void> {
    const f = this.files.get(file);
    if (!f) throw errno('ENOENT', `no such file, truncate '${file}'`);
    f.data = resize(f.data, length);
  }

  async syncDir(dir: string): Promise<void> {
    await this.slowSync();
    this.requireDir(dir, dir);
  }

  async freeBytes(): Promise<number> {
    return Math.max(0, this.capacityBytes - this.usedBytes());
  }

  private requireDir(dir: string, what: string): void {
    if (!this.dirs.has(dir)) throw errno('ENOENT', `no such directory '${dir}' (for '${what}')`);
  }
}

function resize(buf: Buffer, length: number): Buffer {
  if (length <= buf.length) return Buffer.from(buf.subarray(0, length));
  const grown = Buffer.alloc(length);
  buf.copy(grown);
  return grown;
}
