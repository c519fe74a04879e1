/**
 * A write that could not be made (no space, an I/O error, a short write): the log stalls instead
 * of failing, and watches the free space to resume.
 */
import { promises as fsp } from 'node:fs';
import { MAX_PAYLOAD_BYTES } from './record.js';
import type { Waiter, Wal } from './wal.js';
import { WalStalledError } from './wal-io.js';
import { prepareSpare } from './wal-roll.js';

const SPACE_CHECK_MS = 250;

/**
 * A write that could not be made (no space, an I/O error, a short write) is not an fsync
 * failure: nothing after `writtenLsn` reached the file, so those records are forgotten, their
 * waiters learn they did not happen, and the log refuses appends (`stalled`) until the disk has
 * room again, checked every `SPACE_CHECK_MS`. Reads go on. Under power-loss simulation written
 * records live in memory, where a failure to move them to the file loses acknowledged ones:
 * there it is fatal like an fsync failure.
 */
export function stall(wal: Wal, e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  if (wal.simulatePowerLoss || wal.failed) {
    wal.fail(err);
    return;
  }
  const keep = wal.writtenLsn;
  wal.pending = [];
  const cut = wal.retained.findIndex((r) => r.lsn > keep);
  if (cut >= 0) wal.retained = wal.retained.slice(0, cut);
  wal.lastLsn = keep;
  const last = wal.retained[wal.retained.length - 1];
  if (last) wal.lastEpoch = last.epoch;
  const code = (err as NodeJS.ErrnoException).code;
  wal.stalled = { since: Date.now(), reason: `${code ? `${code}: ` : ''}${err.message}` };
  const dropped = new WalStalledError(`the write-ahead log cannot write (${wal.stalled.reason}); the write did not happen`);
  const kept: Waiter[] = [];
  for (const w of wal.waiters) w.lsn > keep ? w.reject(dropped) : kept.push(w);
  wal.waiters = kept;
  wal.log.error({ err: wal.stalled.reason, lastLsn: keep }, 'WAL: cannot write; refusing writes until the disk has room again');
  wal.emit('stalled', wal.stalled, keep);
  watchSpace(wal);
}

/** While stalled, checks the filesystem's free space; resumes once a segment and a record fit. */
export function watchSpace(wal: Wal): void {
  if (wal.spaceTimer) return;
  const needed = Math.min(wal.segmentBytes, 16 * 1024 * 1024) + MAX_PAYLOAD_BYTES;
  wal.spaceTimer = setInterval(() => {
    void fsp.statfs(wal.dir).then(
      (st) => {
        if (!wal.stalled || st.bavail * st.bsize < needed) return;
        clearInterval(wal.spaceTimer);
        wal.spaceTimer = undefined;
        wal.log.info({ freeBytes: st.bavail * st.bsize, stalledMs: Date.now() - wal.stalled.since }, 'WAL: the disk has room again; accepting writes');
        wal.stalled = undefined;
        prepareSpare(wal);
        wal.emit('resumed');
      },
      () => {},
    );
  }, SPACE_CHECK_MS);
  wal.spaceTimer.unref();
}
