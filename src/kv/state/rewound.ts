/**
 * `rewound.jsonl` in a node's data dir: every record a node cut from its log because the new
 * leader's history does not contain it (one JSON line: epoch, lsn, key, value, op, rewoundAt).
 * The report lists these as the writes a failover discarded; nothing ever reads them back into
 * the log.
 */

import path from 'node:path';
import { z } from 'zod';
import { errnoCode } from '../../lib/errors.js';
import { type Disk, hostDisk } from '../../lib/io/disk.js';
import { parseJsonLines } from '../../lib/json-lines.js';
import type { WalRecord } from '../wal/record.js';

export const REWOUND_FILE = 'rewound.jsonl';

/** Appends `records` and syncs them; `atMs` is when they were cut (the node's wall clock). */
export async function appendRewound(disk: Disk, dataDir: string, records: readonly WalRecord[], atMs: number): Promise<void> {
  if (records.length === 0) return;
  const at = new Date(atMs).toISOString();
  const lines = records.map(
    (r) =>
      `${JSON.stringify({ epoch: r.epoch, lsn: r.lsn, key: r.op.key, value: r.op.type === 'put' ? r.op.value : null, op: r.op.type, writtenAtMs: r.timeMs, rewoundAt: at })}\n`,
  );
  const fh = await disk.open(path.join(dataDir, REWOUND_FILE), 'a');
  try {
    await fh.append(lines.join(''));
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

const RewoundRecordSchema = z.looseObject({
  epoch: z.number().int().nonnegative(),
  lsn: z.number().int().nonnegative(),
  key: z.string(),
  value: z.string().nullable(),
  op: z.enum(['put', 'del']),
});
export type RewoundRecord = z.infer<typeof RewoundRecordSchema>;

export async function readRewound(dataDir: string, disk: Disk = hostDisk): Promise<RewoundRecord[]> {
  let text: string;
  try {
    text = (await disk.readFile(path.join(dataDir, REWOUND_FILE))).toString('utf8');
  } catch (e: unknown) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
  return parseJsonLines(text, RewoundRecordSchema);
}
