/**
 * The binlog evidence of a MariaDB run: for every key any binlog wrote, which nodes' binlogs hold
 * each value (binlogs set aside before a re-clone count as that node's). Written to the run folder
 * as binlog-evidence.json, so a lost write can be placed: in the old primary's binlog only (an
 * errant transaction, committed there and never replicated), or in no binlog at all (never made
 * durable anywhere). PostgreSQL runs cannot say this; replab does not read its WAL.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { BinlogTxn } from './binlog.js';
import { gtidText } from './gtid.js';

export const EVIDENCE_FILE = 'binlog-evidence.json';

const BinlogEvidenceSchema = z.object({
  finalPrimary: z.string().nullable(),
  /** key → value → nodes whose binlog holds that write (with the GTID there). */
  writes: z.record(z.string(), z.record(z.string(), z.array(z.object({ node: z.string(), gtid: z.string() })))),
});
export type BinlogEvidence = z.infer<typeof BinlogEvidenceSchema>;

/** A run folder's binlog evidence, or undefined when it has none (another system) or it is unreadable. */
export async function readBinlogEvidence(dir: string): Promise<BinlogEvidence | undefined> {
  try {
    const r = BinlogEvidenceSchema.safeParse(JSON.parse(await fsp.readFile(path.join(dir, EVIDENCE_FILE), 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
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

/** Where the write of `value` to `key` went, in words; `gtids: false` leaves the GTIDs out (for tallies). */
export function whereWent(e: BinlogEvidence, key: string, value: string, { gtids = true } = {}): string {
  const holders = e.writes[key]?.[value] ?? [];
  if (holders.length === 0) return 'in no binlog (never made durable on any node)';
  if (e.finalPrimary && holders.some((h) => h.node === e.finalPrimary)) return `in the final primary ${e.finalPrimary}'s binlog`;
  return `only in ${holders.map((h) => `${h.node}'s binlog${gtids ? ` (${h.gtid})` : ''}`).join(', ')}: an errant transaction the final primary never had`;
}

export async function writeEvidence(dir: string, binlogs: Record<string, BinlogTxn[]>, finalPrimary: string | undefined): Promise<void> {
  await fsp.writeFile(path.join(dir, EVIDENCE_FILE), JSON.stringify(binlogEvidence(binlogs, finalPrimary)));
}
