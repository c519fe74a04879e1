/**
 * The WAL's two failure kinds: a write that could not be made (the log stalls and refuses writes
 * until the disk has room) and an fdatasync that failed (the node must stop: after a failed
 * fsync the page cache's state is unknown, as PostgreSQL learned in 2018).
 */

/** The log cannot write right now (disk full or a write error); the node refuses writes until it can. */
export class WalStalledError extends Error {
  override name = 'WalStalledError';
}

/** An fdatasync failed: the node must stop (see Wal.fail). */
export class FsyncError extends Error {
  override name = 'FsyncError';
}
