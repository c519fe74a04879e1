/**
 * The log evidence of a run folder: each node's final log kept as `log-<node>.jsonl` (read offline
 * from its data dir once the cluster stopped, with `replab wal dump`'s reader) beside the
 * `rewound-<node>.jsonl` it wrote, and the same files read back as the checker's input.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { EvidenceRecord, NodeEvidence } from '../../checker/evidence.js';
import { nodeLogToJsonl, parseNodeLogJsonl, readNodeLog } from '../../kv/log-dump.js';
import { REWOUND_FILE } from '../../kv/state/rewound.js';
import { toError } from '../../lib/errors.js';
import { isRecord } from '../../lib/schema.js';

export const logFileName = (node: string) => `log-${node}.jsonl`;
export const rewoundFileName = (node: string) => `rewound-${node}.jsonl`;

/**
 * Copies each stopped node's final log and rewound records into `dir`. Returns, per node, null
 * when its log was kept, or why it could not be read (the checker then says "no log evidence").
 */
export async function keepNodeLogs(nodes: ReadonlyArray<{ id: string; dataDir: string }>, dir: string): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const n of nodes) {
    await fsp.copyFile(path.join(n.dataDir, REWOUND_FILE), path.join(dir, rewoundFileName(n.id))).catch(() => {});
    try {
      const log = await readNodeLog(n.dataDir);
      await fsp.writeFile(path.join(dir, logFileName(n.id)), nodeLogToJsonl(log));
      out[n.id] = null;
    } catch (e: unknown) {
      out[n.id] = toError(e).message;
    }
  }
  return out;
}

/** The evidence of `nodes` from the files in `dir`; `why` carries reasons recorded at run time. */
export async function loadNodeEvidence(dir: string, nodes: readonly string[], why: Record<string, string | null> = {}): Promise<NodeEvidence[]> {
  const out: NodeEvidence[] = [];
  for (const node of nodes) {
    const rewound = await readRewoundFile(path.join(dir, rewoundFileName(node)));
    const file = path.join(dir, logFileName(node));
    const text = await fsp.readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) {
      out.push({ node, rewound, unavailable: why[node] ?? `${logFileName(node)} is missing` });
      continue;
    }
    try {
      const log = parseNodeLogJsonl(text, file);
      out.push({
        node,
        rewound,
        log: {
          epochHistory: log.epochHistory,
          lastLsn: log.lastLsn,
          checkpointLsn: log.checkpointLsn,
          checkpointEntries: log.checkpointEntries,
          records: log.records,
        },
      });
    } catch (e: unknown) {
      out.push({ node, rewound, unavailable: toError(e).message });
    }
  }
  return out;
}

async function readRewoundFile(file: string): Promise<EvidenceRecord[]> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  const out: EvidenceRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const o: unknown = JSON.parse(line);
      if (isRecord(o) && typeof o.lsn === 'number' && typeof o.epoch === 'number' && typeof o.key === 'string')
        out.push({ lsn: o.lsn, epoch: o.epoch, key: o.key, value: typeof o.value === 'string' ? o.value : null });
    } catch {
      // A torn last line (the node was killed while appending) carries nothing we can use.
    }
  }
  return out;
}
