/**
 * The binlog evidence of a MariaDB run: for every key any binlog wrote, which nodes' binlogs hold
 * each value (binlogs set aside before a re-clone count as that node's). Written to the run folder
 * as binlog-evidence.json, so a lost write can be placed: in the old primary's binlog only (an
 * errant transaction, committed there and never replicated), or in no binlog at all (never made
 * durable anywhere). PostgreSQL runs cannot say this; replab does not read its WAL.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { BinlogTxn } from './binlog.js';
import { gtidText } from './gtid.js';

export interface BinlogEvidence {
  finalPrimary: string | null;
  /** key → value → nodes whose binlog holds that write (with the GTID there). */
  writes: Record<string, Record<string, Array<{ node: string; gtid: string }>>>;
}

export function binlogEvidence(binlogs: Record<string, BinlogTxn[]>, finalPrimary: string | undefined): BinlogEvidence {
  const writes: BinlogEvidence['writes'] = {};
  for (const [node, txns] of Object.entries(binlogs))
    for (const t of txns)
      for (const r of t.rows) {
        if (r.op === 'delete') continue;
        const byValue = writes[r.key] ?? {};
        writes[r.key] = byValue;
        const holders = byValue[r.value ?? ''] ?? [];
        byValue[r.value ?? ''] = holders;
        if (!holders.some((h) => h.node === node)) holders.push({ node, gtid: gtidText(t.gtid) });
      }
  return { finalPrimary: finalPrimary ?? null, writes };
}

/** Where the write of `value` to `key` went, in words. */
export function whereWent(e: BinlogEvidence, key: string, value: string): string {
  const holders = e.writes[key]?.[value] ?? [];
  if (holders.length === 0) return 'in no binlog (never made durable on any node)';
  if (e.finalPrimary && holders.some((h) => h.node === e.finalPrimary)) return `in the final primary ${e.finalPrimary}'s binlog`;
  return `only in ${holders.map((h) => `${h.node}'s binlog (${h.gtid})`).join(', ')}: an errant transaction the final primary never had`;
}

export async function writeEvidence(dir: string, binlogs: Record<string, BinlogTxn[]>, finalPrimary: string | undefined): Promise<void> {
  await fsp.writeFile(path.join(dir, 'binlog-evidence.json'), JSON.stringify(binlogEvidence(binlogs, finalPrimary)));
}
