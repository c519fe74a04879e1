/**
 * A node's binlog as replab reads it: `mariadb-binlog --base64-output=decode-rows --verbose` over
 * its binlog files, parsed into transactions (GTID and the rows each wrote). One parser for that
 * text; failover.ts uses it to list a returning primary's errant transactions record by record,
 * and the run's evidence says where each write went (in which node's binlog, or in none).
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Gtid, parseGtidList } from './gtid.js';

const run = promisify(execFile);

export interface BinlogRow {
  op: 'insert' | 'update' | 'delete';
  table: string;
  /** The row's key and value after the change (before it, for a delete). */
  key: string;
  value: string | null;
}

export interface BinlogTxn {
  gtid: Gtid;
  rows: BinlogRow[];
}

const unquote = (s: string) => (s.startsWith("'") && s.endsWith("'") ? s.slice(1, -1).replace(/\\'/g, "'").replace(/\\\\/g, '\\') : s === 'NULL' ? null : s);

/** Parses mariadb-binlog's decoded output (see the file's comment). */
export function parseBinlogText(text: string): BinlogTxn[] {
  const out: BinlogTxn[] = [];
  let cur: BinlogTxn | undefined;
  let row: { op: BinlogRow['op']; table: string; cols: Array<string | null>; section: 'where' | 'set' } | undefined;
  const flush = () => {
    if (row && cur) cur.rows.push({ op: row.op, table: row.table, key: row.cols[0] ?? '', value: row.cols[1] ?? null });
    row = undefined;
  };
  for (const line of text.split('\n')) {
    const g = /\bGTID (\d+-\d+-\d+)\b/.exec(line);
    if (g && !line.startsWith('###')) {
      flush();
      cur = { gtid: parseGtidList(g[1])[0]!, rows: [] };
      out.push(cur);
      continue;
    }
    const start = /^### (INSERT INTO|UPDATE|DELETE FROM) `([^`]*)`\.`([^`]*)`/.exec(line);
    if (start) {
      flush();
      const op = start[1] === 'INSERT INTO' ? 'insert' : start[1] === 'UPDATE' ? 'update' : 'delete';
      row = { op, table: start[3]!, cols: [], section: op === 'insert' ? 'set' : 'where' };
      continue;
    }
    if (!row) continue;
    if (line === '### SET') {
      row.section = 'set';
      row.cols = [];
      continue;
    }
    const col = /^###\s+@(\d+)=(.*)$/.exec(line);
    if (col) row.cols[Number(col[1]) - 1] = unquote(col[2]!.replace(/\s+\/\*.*\*\/$/, ''));
  }
  flush();
  return out;
}

/** The binlog files of a data dir, in order (from binlog.index). */
export async function binlogFiles(dataDir: string): Promise<string[]> {
  const index = await fsp.readFile(path.join(dataDir, 'binlog.index'), 'utf8').catch(() => '');
  return index
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((f) => path.resolve(dataDir, path.basename(f)));
}

/** Every transaction in the binlog files of `dataDir` (none when it has none). */
export async function readBinlogs(mariadbBinlog: string, dataDir: string): Promise<BinlogTxn[]> {
  const files = await binlogFiles(dataDir);
  if (!files.length) return [];
  const { stdout } = await run(mariadbBinlog, ['--base64-output=decode-rows', '--verbose', ...files], { maxBuffer: 512 * 1024 * 1024 });
  return parseBinlogText(stdout);
}
