/**
 * The follower's side: records streamed from upstream are checked, appended and applied once
 * flushed (after `applyDelayMs` when set), epoch starts noted, and snapshots installed.
 */
import { FrameError } from './frames.js';
import type { EpochStart } from './meta.js';
import type { KvNode } from './node.js';
import { decodeRecord, type WalRecord } from './record.js';
import { appendRewound } from './rewound.js';
import { decodeSnapshot, readLatestSnapshot, removeCheckpoints, writeSnapshotFile } from './snapshot.js';

/**
 * Applies flushed records, making them visible to reads here. With `applyDelayMs`, only those the
 * leader wrote at least that long ago; a timer comes back for the rest. Returns whether anything
 * was applied. `all` ignores the delay (promotion).
 */
export function applyFollower(node: KvNode, all = false): boolean {
  const delay = all ? 0 : node.config.applyDelayMs;
  const ready = node.pending.takeThrough(node.wal.flushedLsn, delay > 0 ? Date.now() - delay : Infinity);
  for (const { lsn, op } of ready) node.head.apply(lsn, op);
  if (ready.length > 0) {
    node.freshness.noteApplied(node.head.lsn);
    node.readWaiters.notify(node.head.lsn);
  }
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

/**
 * Replaces this follower's state with a checkpoint from upstream, so that no step can leave the
 * node claiming an LSN whose records it does not hold:
 *  1. what it holds past the checkpoint (log records, newer checkpoints) is not the upstream's
 *     history, or the upstream would have streamed instead: it is cut first (into rewound.jsonl),
 *     so that no later crash can recover it on top of the new checkpoint;
 *  2. the checkpoint file is written and synced; a full disk fails here, with the node's state
 *     as it was, and the link asks again later;
 *  3. only then the log it replaces is emptied, and `head` is set from the checkpoint in the same
 *     step, so the WAL's position and the state served never disagree. A failure past this point
 *     (deleting files) stops the node: on restart, recovery reads the checkpoint and whatever is
 *     left of the log, which step 1 made consistent.
 * A crash between 2 and 3 restarts from the new checkpoint; old segments then hold only records
 * the checkpoint covers, which recovery skips.
 */
export function installSnapshot(node: KvNode, bytes: Buffer, upstreamHistory: EpochStart[]): Promise<void> {
  const snap = decodeSnapshot(bytes, 'from upstream');
  return node.serialized(async () => {
    const dir = node.config.dataDir;
    await cutPast(node, snap.lsn);
    await writeSnapshotFile(dir, snap.lsn, bytes).catch((e: unknown) => {
      // Nothing changed yet: the node keeps what it holds and asks again when it reconnects.
      node.log.warn({ lsn: snap.lsn, bytes: bytes.length, err: (e as Error).message }, 'cannot write the checkpoint from upstream; keeping the current state');
      throw e;
    });
    try {
      await node.wal.resetTo(snap.lsn, snap.epoch);
      node.pending.clear();
      node.head.reset(snap.lsn, snap.entries);
      node.checkpoints.startedFrom(snap.lsn);
      node.readWaiters.notify(snap.lsn);
    } catch (e: unknown) {
      node.fatal(`installing the checkpoint at lsn ${snap.lsn} failed half-way (${(e as Error).message}); restart the node to recover from its files`);
      throw e;
    }
    // The log before the snapshot is the upstream's: so is that part of the epoch history.
    node.meta = { ...node.meta, epochHistory: upstreamHistory.filter((e) => e.startLsn <= snap.lsn) };
    if (node.meta.epochHistory.length === 0 && snap.lsn > 0) node.meta.epochHistory = [{ epoch: snap.epoch, startLsn: 1 }];
    await node.persistMeta();
    await removeCheckpoints(dir, (lsn) => lsn < snap.lsn);
    node.log.info({ lsn: snap.lsn, keys: snap.entries.length, bytes: bytes.length }, 'installed snapshot from upstream');
    node.emit('snapshot-installed', snap.lsn);
  });
}

/** Step 1 of `installSnapshot`: removes every record and checkpoint past `lsn`, keeping the state consistent. */
async function cutPast(node: KvNode, lsn: number): Promise<void> {
  const dir = node.config.dataDir;
  const newer = (await readLatestSnapshot(dir))?.snapshot.lsn ?? 0;
  if (node.wal.lastLsn <= lsn && newer <= lsn) return;
  await node.wal.sync();
  let dropped: WalRecord[];
  if (lsn >= node.wal.baseLsn) {
    dropped = await node.wal.truncateAfter(lsn);
    await removeCheckpoints(dir, (at) => at > lsn);
  } else {
    // The checkpoint this node's log starts from is itself past `lsn`: nothing of it can stay.
    dropped = node.wal
      .readFrom(node.wal.baseLsn + 1, node.wal.lastLsn, Number.MAX_SAFE_INTEGER)
      .map((r) => decodeRecord(r.buf))
      .flatMap((d) => (d.kind === 'ok' ? [d.record] : []));
    await node.wal.resetTo(0, 0);
    await removeCheckpoints(dir, () => true);
    node.checkpoints.startedFrom(0);
  }
  await appendRewound(dir, dropped);
  await rebuildState(node);
  node.log.warn({ snapshotLsn: lsn, rewound: dropped.length }, 'cut the local log past the upstream checkpoint before installing it (see rewound.jsonl)');
}

/** `head` rebuilt from the newest checkpoint and the log after it (a follower after its log was cut). */
export async function rebuildState(node: KvNode): Promise<void> {
  node.pending.clear();
  const snap = await readLatestSnapshot(node.config.dataDir);
  if (snap && snap.snapshot.lsn <= node.wal.lastLsn) node.head.reset(snap.snapshot.lsn, snap.snapshot.entries);
  else node.head.reset(0, []);
  for (const r of node.wal.readFrom(node.head.lsn + 1, node.wal.lastLsn, Number.MAX_SAFE_INTEGER)) {
    const d = decodeRecord(r.buf);
    if (d.kind === 'ok') node.head.apply(d.record.lsn, d.record.op);
  }
  node.readWaiters.notify(node.head.lsn);
}
