/**
 * Durable node metadata that must survive restarts and only grow: the highest epoch this node has
 * seen and its epoch history (Kafka's leader-epoch cache: each epoch with the first LSN written in
 * it), used to find where a returning leader's log diverges.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './durable-file.js';

export interface EpochStart {
  epoch: number;
  startLsn: number;
}

export interface NodeMeta {
  epoch: number;
  epochHistory: EpochStart[];
  /** The epoch this node leads, if it is the leader (absent once it stepped down). */
  leaderOf?: number;
}

const FILE = 'meta.json';

export async function readMeta(dir: string): Promise<NodeMeta | undefined> {
  try {
    const v = JSON.parse(await fsp.readFile(path.join(dir, FILE), 'utf8')) as NodeMeta;
    if (typeof v.epoch !== 'number' || !Array.isArray(v.epochHistory)) throw new Error(`${path.join(dir, FILE)}: missing epoch or epochHistory`);
    return v;
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function writeMeta(dir: string, meta: NodeMeta): Promise<void> {
  await writeFileAtomic(path.join(dir, FILE), JSON.stringify(meta));
}
