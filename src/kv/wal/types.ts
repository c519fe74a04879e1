/** The WAL's shapes: a record kept in memory, a segment file, a writer waiting for durability, the options. */
import type { Clock } from '../../lib/io/clock.js';
import type { Disk } from '../../lib/io/disk.js';
import type { Logger } from '../../lib/log.js';

export interface RetainedRecord {
  lsn: number;
  epoch: number;
  timeMs: number;
  /** The encoded record, exactly as on disk and on the wire. */
  buf: Buffer;
  segmentStartLsn: number;
  offset: number;
}

export interface Segment {
  startLsn: number;
  file: string;
  size: number;
}

export interface WalOptions {
  dir: string;
  log: Logger;
  /** @default the host's filesystem */
  disk?: Disk;
  /** @default the process's clock */
  clock?: Clock;
  /** Roll to a new segment file past this size. @default 16 MiB */
  segmentBytes?: number;
  /** Skip fdatasync (benchmarks of the sync cost only; never in a real run). @default false */
  unsafeNoSync?: boolean;
  /**
   * Keep written-but-unsynced records in this process's memory until their fdatasync, so that an
   * abrupt stop (kill -9) loses them as a power cut loses the page cache. Only for runs whose
   * nemesis asks for power loss. @default false
   */
  simulatePowerLoss?: boolean;
  /** Wait this long before each fdatasync (a slow disk). @default 0 */
  syncDelayMs?: number;
}
