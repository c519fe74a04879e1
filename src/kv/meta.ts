/**
 * Durable node metadata that must survive restarts and only grow: the highest epoch this node has
 * seen and its epoch history (Kafka's leader-epoch cache: each epoch with the first LSN written in
 * it), used to find where a returning leader's log diverges.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../lib/durable-file.js';

const EpochStartSchema = z.object({ epoch: z.number().int().nonnegative(), startLsn: z.number().int().nonnegative() });
export type EpochStart = z.infer<typeof EpochStartSchema>;

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

export async function readMeta(dir: string): Promise<NodeMeta | undefined> {
  const file = path.join(dir, FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MetaError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
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

export async function writeMeta(dir: string, meta: NodeMeta): Promise<void> {
  await writeFileAtomic(path.join(dir, FILE), JSON.stringify(meta));
}
