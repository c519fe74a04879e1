/**
 * A node's log read offline, from its data dir alone (`replab wal dump`, and the harness keeping
 * each node's final log as evidence): meta.json (epoch and epoch history), the newest checkpoint,
 * and every WAL segment after it, read-only.
 *
 * The rules are recovery's own (`scanSegment`): zeros after the last record are unused
 * preallocation; a damaged record that ends the last segment is a torn tail, reported and not an
 * error; damage anywhere else is corruption, refused with the segment and byte offset. A folder
 * with no WAL segment, checkpoint or meta.json is no data dir, and refused as such.
 *
 * The JSON Lines form (`log-<node>.jsonl` in a run folder, `wal dump --json`) is one header line,
 * then the checkpoint's entries, then the records:
 *   {"type":"log","epoch":3,"epochHistory":[{"epoch":1,"startLsn":1}],"leaderOf":3,"checkpointLsn":0,"lastLsn":812,"tornTail":null}
 *   {"type":"checkpoint","lsn":500,"key":"k1","value":"3-17"}
 *   {"type":"record","lsn":501,"epoch":2,"timeMs":1764430000000,"op":"put","key":"k1","value":"4-2"}
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { toError } from '../lib/errors.js';
import { hostDisk } from '../lib/io/disk.js';
import { type EpochStart, readMeta } from './state/meta.js';
import { CheckpointFiles, SnapshotError } from './state/snapshot.js';
import { isZero, SEGMENT_RE, scanSegment, WalCorruptionError } from './wal/segment-format.js';

export interface LogRecord {
  lsn: number;
  epoch: number;
  timeMs: number;
  op: 'put' | 'del';
  key: string;
  /** The value written; null for a delete. */
  value: string | null;
}

export interface NodeLog {
  /** The highest epoch the node had seen. */
  epoch: number;
  epochHistory: EpochStart[];
  /** The epoch the node led when it stopped, if it was a leader. */
  leaderOf: number | null;
  /** The checkpoint the log continues from (0: none, the log starts at LSN 1). */
  checkpointLsn: number;
  checkpointEntries: Array<[string, string]>;
  records: LogRecord[];
  lastLsn: number;
  /** A torn record at the end of the last segment (a crash mid-write), which recovery cuts. */
  tornTail: { file: string; offset: number; bytes: number } | null;
}

/** A data dir that cannot be read as a log: names the file (and byte offset) and what is wrong. */
export class LogDumpError extends Error {
  override name = 'LogDumpError';
}

export async function readNodeLog(dataDir: string): Promise<NodeLog> {
  const names = await fsp.readdir(dataDir).catch((e: NodeJS.ErrnoException) => {
    throw new LogDumpError(`${dataDir}: cannot read the data dir (${e.code === 'ENOTDIR' ? 'not a directory' : (e.code ?? e.message)})`);
  });
  const meta = await readMeta(hostDisk, dataDir).catch((e: unknown) => {
    throw new LogDumpError(`${path.join(dataDir, 'meta.json')}: unreadable (${toError(e).message})`);
  });
  const snap = await new CheckpointFiles(hostDisk, dataDir).latest().catch((e: unknown) => {
    throw new LogDumpError(e instanceof SnapshotError ? e.message : `${dataDir}: cannot read the checkpoint (${toError(e).message})`);
  });
  const checkpointLsn = snap?.snapshot.lsn ?? 0;
  const segments = names.filter((n) => SEGMENT_RE.test(n)).sort();
  // A node writes meta.json as it starts: a folder with none of the three is some other folder
  // (`wal dump /etc`), and reading it as an empty log would claim a node that holds nothing.
  if (!meta && !snap && segments.length === 0) throw new LogDumpError(`${dataDir}: not a node's data dir (no WAL segment, checkpoint or meta.json in it)`);
  const records: LogRecord[] = [];
  let lastLsn = checkpointLsn;
  let tornTail: NodeLog['tornTail'] = null;
  for (let i = 0; i < segments.length; i++) {
    const file = path.join(dataDir, segments[i]!);
    const buf = await fsp.readFile(file);
    let scan: ReturnType<typeof scanSegment>;
    try {
      scan = scanSegment({ file, buf, isLast: i === segments.length - 1, afterLsn: checkpointLsn, lastLsn });
    } catch (e: unknown) {
      if (e instanceof WalCorruptionError) throw new LogDumpError(e.message);
      throw e;
    }
    for (const { record: r } of scan.records) {
      records.push({ lsn: r.lsn, epoch: r.epoch, timeMs: r.timeMs, op: r.op.type, key: r.op.key, value: r.op.type === 'put' ? r.op.value : null });
    }
    lastLsn = scan.lastLsn;
    if (!isZero(buf, scan.validBytes)) tornTail = { file, offset: scan.validBytes, bytes: buf.length - scan.validBytes };
  }
  return {
    epoch: meta?.epoch ?? 0,
    epochHistory: meta?.epochHistory ?? [],
    leaderOf: meta?.leaderOf ?? null,
    checkpointLsn,
    checkpointEntries: snap?.snapshot.entries ?? [],
    records,
    lastLsn,
    tornTail,
  };
}

/** The JSON Lines form (see the module comment). */
export function nodeLogToJsonl(log: NodeLog): string {
  const lines = [
    JSON.stringify({
      type: 'log',
      epoch: log.epoch,
      epochHistory: log.epochHistory,
      leaderOf: log.leaderOf,
      checkpointLsn: log.checkpointLsn,
      lastLsn: log.lastLsn,
      tornTail: log.tornTail,
    }),
  ];
  for (const [key, value] of log.checkpointEntries) lines.push(JSON.stringify({ type: 'checkpoint', lsn: log.checkpointLsn, key, value }));
  for (const r of log.records) lines.push(JSON.stringify({ type: 'record', ...r }));
  return `${lines.join('\n')}\n`;
}

/** Reads the JSON Lines form back; LogDumpError naming the line when it is not one. */
export function parseNodeLogJsonl(text: string, where: string): NodeLog {
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  const parse = (line: string, n: number): Record<string, unknown> => {
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw new LogDumpError(`${where}:${n}: not a JSON object`);
  };
  const head = lines.length ? parse(lines[0]!, 1) : undefined;
  if (head?.type !== 'log' || typeof head.lastLsn !== 'number' || !Array.isArray(head.epochHistory)) {
    throw new LogDumpError(`${where}:1: expected a {"type":"log",...} header line`);
  }
  const log: NodeLog = {
    epoch: Number(head.epoch ?? 0),
    epochHistory: head.epochHistory as EpochStart[],
    leaderOf: typeof head.leaderOf === 'number' ? head.leaderOf : null,
    checkpointLsn: Number(head.checkpointLsn ?? 0),
    checkpointEntries: [],
    records: [],
    lastLsn: head.lastLsn,
    tornTail: (head.tornTail as NodeLog['tornTail']) ?? null,
  };
  for (let i = 1; i < lines.length; i++) {
    const o = parse(lines[i]!, i + 1);
    if (o.type === 'checkpoint' && typeof o.key === 'string' && typeof o.value === 'string') log.checkpointEntries.push([o.key, o.value]);
    else if (
      o.type === 'record' &&
      typeof o.lsn === 'number' &&
      typeof o.epoch === 'number' &&
      typeof o.key === 'string' &&
      (o.op === 'put' || o.op === 'del')
    ) {
      log.records.push({
        lsn: o.lsn,
        epoch: o.epoch,
        timeMs: Number(o.timeMs ?? 0),
        op: o.op,
        key: o.key,
        value: typeof o.value === 'string' ? o.value : null,
      });
    } else throw new LogDumpError(`${where}:${i + 1}: expected a checkpoint or record line`);
  }
  return log;
}

/** One line per record for a terminal. */
export function describeNodeLog(log: NodeLog, dataDir: string): string {
  const out = [
    `${dataDir}: epoch ${log.epoch}${log.leaderOf !== null ? ` (leader of epoch ${log.leaderOf})` : ''}, records ${log.checkpointLsn + 1}..${log.lastLsn}, epoch history ${log.epochHistory.map((e) => `${e.epoch}@${e.startLsn}`).join(' ') || '(empty)'}`,
  ];
  if (log.checkpointLsn > 0) out.push(`checkpoint at lsn ${log.checkpointLsn}: ${log.checkpointEntries.length} key(s)`);
  for (const r of log.records) {
    const what = r.op === 'put' ? `put ${JSON.stringify(r.key)} = ${JSON.stringify(r.value)}` : `del ${JSON.stringify(r.key)}`;
    out.push(`lsn ${r.lsn}  epoch ${r.epoch}  ${new Date(r.timeMs).toISOString()}  ${what}`);
  }
  if (log.tornTail)
    out.push(`torn tail: ${log.tornTail.bytes} byte(s) at offset ${log.tornTail.offset} of ${log.tornTail.file} (the end of the log; recovery cuts it)`);
  return out.join('\n');
}
