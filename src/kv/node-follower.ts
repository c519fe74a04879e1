/**
 * The follower's side: records streamed from upstream are checked, appended and applied once
 * flushed (after `applyDelayMs` when set), epoch starts noted, and snapshots installed.
 */
import { FrameError } from './frames.js';
import type { EpochStart } from './meta.js';
import type { KvNode } from './node.js';
import { decodeRecord } from './record.js';
import { decodeSnapshot, installSnapshotFile } from './snapshot.js';

/**
 * Applies flushed records, making them visible to reads here. With `applyDelayMs`, only those the
 * leader wrote at least that long ago; a timer comes back for the rest. Returns whether anything
 * was applied. `all` ignores the delay (promotion).
 */
export function applyFollower(node: KvNode, all = false): boolean {
  const delay = all ? 0 : node.config.applyDelayMs;
  const ready = node.pending.takeThrough(node.wal.flushedLsn, delay > 0 ? Date.now() - delay : Infinity);
  for (const { lsn, op } of ready) node.head.apply(lsn, op);
  const next = node.pending.peek();
  if (delay > 0 && next && next.lsn <= node.wal.flushedLsn && !node.applyTimer) {
    node.applyTimer = setTimeout(
      () => {
        node.applyTimer = undefined;
        if (node.state.kind === 'follower' && applyFollower(node)) node.upstreamLink?.sendAck();
      },
      Math.max(1, next.timeMs + delay - Date.now()),
    );
  }
  return ready.length > 0;
}

/** Appends a RECORDS body from upstream. Validates every record before it touches the WAL. */
export function appendReplicated(node: KvNode, frameBody: Buffer): void {
  // One copy per frame, not per record: `frameBody` is a view into the decoder's buffer, which
  // retained records must not pin; the copy holds exactly this frame's records, all retained.
  const body = Buffer.from(frameBody);
  let o = 0;
  while (o < body.length) {
    const d = decodeRecord(body, o);
    if (d.kind !== 'ok') throw new FrameError(`RECORDS: ${d.kind === 'short' ? 'truncated record' : d.reason} at byte ${o}`);
    const r = d.record;
    const buf = body.subarray(o, o + d.bytes);
    o += d.bytes;
    if (r.lsn <= node.wal.lastLsn) continue;
    if (r.lsn !== node.wal.lastLsn + 1) throw new FrameError(`RECORDS: gap, got lsn ${r.lsn} after ${node.wal.lastLsn}`);
    if (r.epoch > node.epoch) throw new FrameError(`RECORDS: record epoch ${r.epoch} above the stream's ${node.epoch}`);
    noteEpochStart(node, r.epoch, r.lsn);
    node.wal.appendEncoded(buf, r);
    node.pending.push(r.lsn, r.op, r.timeMs);
    node.checkpoints.noteAppended(buf.length);
  }
}

export function noteEpochStart(node: KvNode, epoch: number, lsn: number): void {
  const last = node.meta.epochHistory[node.meta.epochHistory.length - 1];
  if (!last || last.epoch < epoch) {
    node.meta.epochHistory.push({ epoch, startLsn: lsn });
    void node.persistMeta().catch((e: unknown) => node.fatal(`cannot write meta.json: ${(e as Error).message}`));
  }
}

export async function installSnapshot(node: KvNode, bytes: Buffer, upstreamHistory: EpochStart[]): Promise<void> {
  const snap = decodeSnapshot(bytes, 'from upstream');
  await node.wal.resetTo(snap.lsn, snap.epoch);
  // The log before the snapshot is the upstream's: so is that part of the epoch history.
  node.meta = { ...node.meta, epochHistory: upstreamHistory.filter((e) => e.startLsn <= snap.lsn) };
  if (node.meta.epochHistory.length === 0 && snap.lsn > 0) node.meta.epochHistory = [{ epoch: snap.epoch, startLsn: 1 }];
  await node.persistMeta();
  await installSnapshotFile(node.config.dataDir, snap.lsn, bytes);
  node.pending.clear();
  node.head.reset(snap.lsn, snap.entries);
  node.checkpoints.startedFrom(snap.lsn);
  node.log.info({ lsn: snap.lsn, keys: snap.entries.length, bytes: bytes.length }, 'installed snapshot from upstream');
  node.emit('snapshot-installed', snap.lsn);
}
