/**
 * Durable node metadata that must survive restarts and only grow: the highest epoch this node has
 * seen and its epoch history (Kafka's leader-epoch cache: each epoch with the first LSN written in
 * it), used to find where a returning leader's log diverges.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../lib/durable-file.js';

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

/** meta.json exists but cannot be used: names the file and what is wrong with it. */
export class MetaError extends Error {
  override name = 'MetaError';
}

export async function readMeta(dir: string): Promise<NodeMeta | undefined> {
  const file = path.join(dir, FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MetaError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let v: NodeMeta;
  try {
    v = JSON.parse(text) as NodeMeta;
  } catch {
    throw new MetaError(`${file}: not valid JSON (damaged node metadata)`);
  }
  const historyOk = Array.isArray(v?.epochHistory) && v.epochHistory.every((e) => Number.isSafeInteger(e?.epoch) && Number.isSafeInteger(e?.startLsn));
  if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.epoch) || !historyOk)
    throw new MetaError(`${file}: missing or malformed epoch or epochHistory (damaged node metadata)`);
  return v;
}

export async function writeMeta(dir: string, meta: NodeMeta): Promise<void> {
  await writeFileAtomic(path.join(dir, FILE), JSON.stringify(meta));
}
