/**
 * Durable node metadata that must survive restarts and only grow: the highest epoch this node has
 * seen, its epoch history (each epoch with the first LSN written in it, as Kafka's leader-epoch
 * cache keeps), used to find where a returning leader's log diverges, and the epoch it leads.
 *
 * `NodeMetaStore` owns the node's copy: every change goes through a method that says what
 * happened (adopted a newer epoch, started leading, an epoch's first record arrived, ...), and
 * writes to meta.json are queued so two never race on the temp file.
 */

import path from 'node:path';
import { z } from 'zod';
import { errnoCode } from '../../lib/errors.js';
import { type Disk, writeFileAtomic } from '../../lib/io/disk.js';
import { type EpochStart, epochOf } from './epochs.js';

export type { EpochStart };

const EpochStartSchema = z.object({ epoch: z.number().int().nonnegative(), startLsn: z.number().int().nonnegative() });

const NodeMetaSchema = z.object({
  epoch: z.number().int().nonnegative(),
  epochHistory: z.array(EpochStartSchema),
  /** The epoch this node leads, if it is the leader (absent once it stepped down). */
  leaderOf: z.number().int().nonnegative().optional(),
});
export type NodeMeta = z.infer<typeof NodeMetaSchema>;

const FILE = 'meta.json';

/** meta.json exists but cannot be used: names the file and what is wrong with it. */
export class MetaError extends Error {
  override name = 'MetaError';
}

export async function readMeta(disk: Disk, dir: string): Promise<NodeMeta | undefined> {
  const file = path.join(dir, FILE);
  let text: string;
  try {
    text = (await disk.readFile(file)).toString('utf8');
  } catch (e: unknown) {
    const code = errnoCode(e);
    if (code === 'ENOENT') return undefined;
    throw new MetaError(`${file}: cannot read (${code ?? (e instanceof Error ? e.message : String(e))})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MetaError(`${file}: not valid JSON (damaged node metadata)`);
  }
  const r = NodeMetaSchema.safeParse(json);
  if (!r.success) throw new MetaError(`${file}: missing or malformed epoch or epochHistory (damaged node metadata)`);
  return r.data;
}

export class NodeMetaStore {
  private meta: NodeMeta = { epoch: 0, epochHistory: [] };
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly disk: Disk,
    private readonly dir: string,
  ) {}

  /**
   * Reads meta.json; a fresh data dir starts from `fresh`. Writes the file back only when it
   * changed: a restart on a full disk must not need a new file to come up. Returns what was stored.
   */
  async load(fresh: NodeMeta): Promise<NodeMeta | undefined> {
    const stored = await readMeta(this.disk, this.dir);
    this.meta = stored ?? fresh;
    if (JSON.stringify(stored) !== JSON.stringify(this.meta)) await this.persist();
    return stored;
  }

  /** The newest epoch this node has seen. */
  get epoch(): number {
    return this.meta.epoch;
  }

  get history(): readonly EpochStart[] {
    return this.meta.epochHistory;
  }

  /** The epoch this node leads, if it led the newest one it knows when it last said so. */
  get leaderOf(): number | undefined {
    return this.meta.leaderOf;
  }

  /** The epoch that wrote `lsn` (0 for LSN 0). */
  epochOf(lsn: number): number {
    return epochOf(this.meta.epochHistory, lsn);
  }

  /** A newer epoch exists (a newer leader was chosen). */
  adopt(epoch: number): Promise<void> {
    this.meta = { ...this.meta, epoch };
    return this.persist();
  }

  /** This node leads `epoch`, whose first record will be `startLsn`. */
  startLeading(epoch: number, startLsn: number): Promise<void> {
    this.meta = { epoch, epochHistory: [...this.meta.epochHistory, { epoch, startLsn }], leaderOf: epoch };
    return this.persist();
  }

  /** This node no longer leads (it stepped down): a restart must not resume leadership. */
  stopLeading(): Promise<void> {
    this.meta = { epoch: this.meta.epoch, epochHistory: this.meta.epochHistory };
    return this.persist();
  }

  /**
   * A record of `epoch` at `lsn` is in the log: a newer epoch than the history's last starts there.
   * Returns the write when the history grew (undefined otherwise); its failure is the caller's.
   */
  noteRecord(epoch: number, lsn: number): Promise<void> | undefined {
    const last = this.meta.epochHistory[this.meta.epochHistory.length - 1];
    if (last && last.epoch >= epoch) return undefined;
    this.meta = { ...this.meta, epochHistory: [...this.meta.epochHistory, { epoch, startLsn: lsn }] };
    return this.persist();
  }

  /** The history up to the log's end, recovered from the records themselves after a crash lost a meta.json write. */
  noteRecovered(records: ReadonlyArray<{ epoch: number; lsn: number }>): void {
    for (const r of records) {
      const last = this.meta.epochHistory[this.meta.epochHistory.length - 1];
      if (!last || last.epoch < r.epoch) this.meta = { ...this.meta, epochHistory: [...this.meta.epochHistory, { epoch: r.epoch, startLsn: r.lsn }] };
    }
  }

  /** The log was cut after `lsn`: epochs that started later wrote nothing that remains. */
  cutAfter(lsn: number): Promise<void> {
    this.meta = { ...this.meta, epochHistory: this.meta.epochHistory.filter((e) => e.startLsn <= lsn) };
    return this.persist();
  }

  /**
   * A snapshot at `lsn` of `snapshotEpoch` from upstream replaced the log: the log before it is
   * the upstream's, so is that part of its epoch history.
   */
  adoptUpstreamHistory(history: readonly EpochStart[], lsn: number, snapshotEpoch: number): Promise<void> {
    let epochHistory = history.filter((e) => e.startLsn <= lsn);
    if (epochHistory.length === 0 && lsn > 0) epochHistory = [{ epoch: snapshotEpoch, startLsn: 1 }];
    this.meta = { ...this.meta, epochHistory };
    return this.persist();
  }

  /** Writes meta.json as it is now, after any write already queued. */
  persist(): Promise<void> {
    const snapshot = this.meta;
    const next = this.writes.then(() => writeFileAtomic(this.disk, path.join(this.dir, FILE), JSON.stringify(snapshot)));
    this.writes = next.catch(() => {});
    return next;
  }
}
