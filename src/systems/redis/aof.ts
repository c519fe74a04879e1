/**
 * Each node's AOF as evidence. Redis 7 keeps its append-only file as a folder of parts
 * (appendonlydir/: a base file, increments, a manifest); with no RDB preamble every part is a plain
 * RESP log of the commands the node applied, as a primary or as a replica. The nodes are told to
 * keep old parts (aof-disable-auto-gc), so a node that was rewritten by a full resync after a
 * failover still has the commands it held before.
 *
 * After a run, for every acknowledged add the final reads lost, this says which nodes' AOF ever
 * held it: only the old primary's (and the replicas that followed it), meaning the write was
 * applied and acknowledged there and then discarded when that node resynchronised from a primary
 * that never had it; or nowhere, meaning it was never written to disk. Kept as
 * `aof-evidence.json` beside the copied parts (`aof/<node>/`).
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { PairedHistory } from '../../history/op.js';
import { loadHistory } from '../../history/reader.js';
import { SET_KEY } from './client.js';

/**
 * The commands in a RESP log: arrays of bulk strings. A truncated tail (a node killed mid-write)
 * ends the list; annotation lines (`#...`) are skipped.
 */
export function parseAof(buf: Buffer): string[][] {
  const out: string[][] = [];
  let i = 0;
  const line = (): string | undefined => {
    const end = buf.indexOf('\r\n', i);
    if (end < 0) return undefined;
    const s = buf.toString('latin1', i, end);
    i = end + 2;
    return s;
  };
  while (i < buf.length) {
    const head = line();
    if (head === undefined) break;
    if (head.startsWith('#') || head === '') continue;
    if (!head.startsWith('*')) break;
    const n = Number(head.slice(1));
    const cmd: string[] = [];
    for (let k = 0; k < n; k++) {
      const len = line();
      if (len === undefined || !len.startsWith('$')) return out;
      const size = Number(len.slice(1));
      if (i + size + 2 > buf.length) return out;
      cmd.push(buf.toString('utf8', i, i + size));
      i += size + 2;
    }
    out.push(cmd);
  }
  return out;
}

/** The set workload's elements a node's AOF parts ever added (SADD into SET_KEY), in any part. */
export async function addedMembers(aofDir: string): Promise<Set<string>> {
  const members = new Set<string>();
  for (const f of (await fsp.readdir(aofDir).catch(() => [] as string[])).filter((x) => x.endsWith('.aof')).sort()) {
    for (const cmd of parseAof(await fsp.readFile(path.join(aofDir, f)))) {
      if (cmd[0]?.toUpperCase() === 'SADD' && cmd[1] === SET_KEY) for (const m of cmd.slice(2)) members.add(m);
    }
  }
  return members;
}

/** The element number a member key ends with (`<prefix><n>`). */
const elementOf = (member: string) => /(\d+)$/.exec(member)?.[1];

export interface LostWrite {
  element: number;
  /** Nodes whose AOF held the add at some point; empty: nowhere. */
  inAofOf: string[];
}

export interface AofEvidence {
  /** Acknowledged adds missing from at least one node's final read, and where each was logged. */
  lost: LostWrite[];
  /** How many lost adds each set of nodes held ("n1+n2"), and "nowhere". */
  where: Record<string, number>;
  /** Per node: how many distinct elements its AOF ever added. */
  added: Record<string, number>;
}

/** Lost acknowledged adds (the set workload) against every node's AOF; undefined for other workloads. */
export function explainLoss(history: Awaited<ReturnType<typeof loadHistory>>, added: Map<string, Set<string>>): AofEvidence | undefined {
  const { pairs } = PairedHistory.of(history);
  const adds = pairs.filter((p) => p.invoke.f === 'add');
  if (adds.length === 0) return undefined;
  const finals = pairs.filter((p) => p.invoke.f === 'final-read' && p.complete?.type === 'ok');
  const lost: LostWrite[] = [];
  for (const p of adds) {
    if (p.complete?.type !== 'ok') continue;
    const element = Number(p.invoke.value);
    const missing = finals.some((f) => !(Array.isArray(f.complete!.value) && f.complete!.value.map(Number).includes(element)));
    if (!missing) continue;
    const inAofOf = [...added.entries()].filter(([, set]) => [...set].some((m) => Number(elementOf(m)) === element)).map(([id]) => id);
    lost.push({ element, inAofOf: inAofOf.sort() });
  }
  const where: Record<string, number> = {};
  for (const l of lost) {
    const k = l.inAofOf.length ? l.inAofOf.join('+') : 'nowhere';
    where[k] = (where[k] ?? 0) + 1;
  }
  return { lost, where, added: Object.fromEntries([...added].map(([id, s]) => [id, s.size])) };
}

/**
 * Copies each node's AOF folder into `<dir>/aof/<node>/` and, when the run folder has a set
 * workload's history, writes `<dir>/aof-evidence.json` saying where each lost write went.
 */
export async function keepAofEvidence(dir: string, nodes: Array<{ id: string; aofDir: string }>): Promise<AofEvidence | undefined> {
  const added = new Map<string, Set<string>>();
  for (const n of nodes) {
    const to = path.join(dir, 'aof', n.id);
    await fsp.mkdir(to, { recursive: true });
    for (const f of await fsp.readdir(n.aofDir).catch(() => [] as string[])) await fsp.copyFile(path.join(n.aofDir, f), path.join(to, f)).catch(() => {});
    added.set(n.id, await addedMembers(n.aofDir));
  }
  const file = path.join(dir, 'history.jsonl');
  if (!existsSync(file)) return undefined;
  const evidence = explainLoss(await loadHistory(file), added);
  if (evidence) await fsp.writeFile(path.join(dir, 'aof-evidence.json'), `${JSON.stringify(evidence, null, 2)}\n`);
  return evidence;
}

/**
 * What one node's AOF says about the run's lost inserts, in a sentence for the report; with
 * `summary` (said once per run), where all of them went.
 */
export function aofSentence(e: AofEvidence, node: string, summary: boolean): string {
  if (e.lost.length === 0) return 'no acknowledged insert was lost';
  const here = e.lost.filter((l) => l.inAofOf.includes(node)).length;
  if (!summary) return `its AOF held ${here} of the ${e.lost.length} lost acknowledged inserts`;
  const where = Object.entries(e.where)
    .map(([k, n]) => `${n} in ${k === 'nowhere' ? 'no AOF' : `the AOF of ${k.replaceAll('+', ' and ')} only`}`)
    .join(', ');
  return `its AOF held ${here} of the ${e.lost.length} lost acknowledged inserts; of those ${e.lost.length}: ${where} (aof-evidence.json lists each)`;
}
