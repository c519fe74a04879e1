/**
 * Rebuilding a node's state from its own files: the newest checkpoint the log continues from, then
 * every record the log retains after it. Used wherever the in-memory state may no longer match
 * the log: a leader whose log forgot records it could not write, and a follower whose log was cut.
 */
import type { Wal } from '../wal/wal.js';
import type { CheckpointFiles } from './snapshot.js';
import type { KvState } from './store.js';

export async function replayInto(head: KvState, checkpoints: CheckpointFiles, wal: Wal): Promise<void> {
  const snap = await checkpoints.latest();
  if (snap && snap.snapshot.lsn <= wal.lastLsn && snap.snapshot.lsn >= wal.baseLsn) head.reset(snap.snapshot.lsn, snap.snapshot.entries);
  else if (wal.baseLsn === 0) head.reset(0, []);
  else throw new Error(`no checkpoint covers the log's start (lsn ${wal.baseLsn})`);
  for (const r of wal.recordsAfter(head.lsn)) head.apply(r.lsn, r.op);
}
