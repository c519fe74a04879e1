/**
 * Lost writes, from the final reads taken after the faults healed and the cluster converged.
 *
 * set workload: every `add` is unique. Against each node's final read —
 *   lost       acknowledged (ok) but absent;
 *   recovered  not acknowledged (fail or info) but present — it happened after all;
 *   unexpected present but never attempted (a bug, or corruption).
 * A `fail` add that is present is reported too: `fail` promised it did not happen.
 *
 * register workload: values are unique per key, so a final value names the write that produced
 * it. An acknowledged write is lost when the final value comes from a write that completed before
 * it was even invoked (so it should have been overwritten), or the key is absent.
 *
 * The overall counts use the strictest reading: an acknowledged write missing on any node counts.
 */
import type { OpPair, PairedHistory } from '../history/op.js';
import type { Validity } from './linearizable.js';

export interface NodeLoss {
  node: string;
  lost: number;
  recovered: number;
  unexpected: number;
  failedButPresent: number;
}

export interface LossResult {
  valid: Validity;
  /** Acknowledged writes (adds or register writes) in the history. */
  acked: number;
  attempted: number;
  lostAcked: number;
  recovered: number;
  unexpected: number;
  perNode: NodeLoss[];
  /** Up to 20 lost elements/values, for the report. */
  lostSamples: unknown[];
  message: string;
}

const key = (v: unknown) => (typeof v === 'string' ? `s${v}` : JSON.stringify(v));

export function checkLoss({ pairs }: PairedHistory): LossResult {
  const finals = pairs.filter((p) => p.invoke.f === 'final-read' && p.complete?.type === 'ok');
  if (pairs.some((p) => p.invoke.f === 'add')) return checkSetLoss(pairs, finals);
  return checkRegisterLoss(pairs, finals);
}

function empty(message: string): LossResult {
  return { valid: 'unknown', acked: 0, attempted: 0, lostAcked: 0, recovered: 0, unexpected: 0, perNode: [], lostSamples: [], message };
}

function checkSetLoss(pairs: readonly OpPair[], finals: OpPair[]): LossResult {
  const adds = pairs.filter((p) => p.invoke.f === 'add');
  const outcome = new Map<string, { value: unknown; type: string }>();
  for (const p of adds) outcome.set(key(p.invoke.value), { value: p.invoke.value, type: p.complete?.type ?? 'info' });
  const acked = [...outcome.values()].filter((o) => o.type === 'ok').length;
  if (finals.length === 0) return { ...empty('no final-read in the history: loss cannot be judged'), acked, attempted: outcome.size };
  const lostAll = new Map<string, unknown>();
  const recoveredAll = new Set<string>();
  const unexpectedAll = new Set<string>();
  const perNode: NodeLoss[] = [];
  for (const f of finals) {
    const present = new Set((Array.isArray(f.complete!.value) ? f.complete!.value : []).map(key));
    const n: NodeLoss = { node: f.complete!.node ?? f.invoke.node ?? String(f.invoke.process), lost: 0, recovered: 0, unexpected: 0, failedButPresent: 0 };
    for (const [k, o] of outcome) {
      if (o.type === 'ok' && !present.has(k)) {
        n.lost++;
        lostAll.set(k, o.value);
      }
      if (o.type !== 'ok' && present.has(k)) {
        n.recovered++;
        recoveredAll.add(k);
        if (o.type === 'fail') n.failedButPresent++;
      }
    }
    for (const k of present) {
      if (!outcome.has(k)) {
        n.unexpected++;
        unexpectedAll.add(k);
      }
    }
    perNode.push(n);
  }
  const failedButPresent = perNode.reduce((s, n) => s + n.failedButPresent, 0);
  const valid = lostAll.size === 0 && unexpectedAll.size === 0 && failedButPresent === 0;
  return {
    valid,
    acked,
    attempted: outcome.size,
    lostAcked: lostAll.size,
    recovered: recoveredAll.size,
    unexpected: unexpectedAll.size,
    perNode,
    lostSamples: [...lostAll.values()].slice(0, 20),
    message: valid
      ? `all ${acked} acknowledged adds present on ${finals.length} node(s); ${recoveredAll.size} unacknowledged add(s) present too`
      : `${lostAll.size} of ${acked} acknowledged adds lost, ${unexpectedAll.size} unexpected element(s), ${failedButPresent} failed add(s) present`,
  };
}

function checkRegisterLoss(pairs: readonly OpPair[], finals: OpPair[]): LossResult {
  const writes = pairs.filter((p) => (p.invoke.f === 'write' || p.invoke.f === 'cas') && p.invoke.key !== undefined);
  const written = (p: OpPair) => (p.invoke.f === 'cas' ? (Array.isArray(p.invoke.value) ? p.invoke.value[1] : undefined) : p.invoke.value);
  const byValue = new Map<string, OpPair>();
  for (const p of writes) byValue.set(`${p.invoke.key}\u0000${key(written(p))}`, p);
  const acked = writes.filter((p) => p.complete?.type === 'ok');
  if (finals.length === 0) return { ...empty('no final-read in the history: loss cannot be judged'), acked: acked.length, attempted: writes.length };
  const lostAll = new Map<string, unknown>();
  const unexpectedAll = new Set<string>();
  const recoveredAll = new Set<string>();
  const perNode: NodeLoss[] = [];
  for (const f of finals) {
    const node = f.complete!.node ?? f.invoke.node ?? String(f.invoke.process);
    let n = perNode.find((x) => x.node === node);
    if (!n) {
      n = { node, lost: 0, recovered: 0, unexpected: 0, failedButPresent: 0 };
      perNode.push(n);
    }
    const k = f.invoke.key;
    if (k === undefined) continue;
    const finalValue = f.complete!.value;
    const source = finalValue === null ? undefined : byValue.get(`${k}\u0000${key(finalValue)}`);
    if (finalValue !== null && !source) {
      n.unexpected++;
      unexpectedAll.add(`${k}=${key(finalValue)}`);
      continue;
    }
    if (source && source.complete?.type !== 'ok') {
      n.recovered++;
      recoveredAll.add(`${k}=${key(finalValue)}`);
      if (source.complete?.type === 'fail') n.failedButPresent++;
    }
    // Acknowledged writes of this key that were invoked after the final value's write completed.
    const sourceDone = source?.complete ? source.complete.index : -1;
    for (const w of acked) {
      if (w.invoke.key !== k || w === source) continue;
      if (source === undefined || (source.complete && w.invoke.index > sourceDone)) {
        n.lost++;
        lostAll.set(`${k}\u0000${key(written(w))}`, { key: k, value: written(w) });
      }
    }
  }
  const failedButPresent = perNode.reduce((s, n) => s + n.failedButPresent, 0);
  const valid = lostAll.size === 0 && unexpectedAll.size === 0 && failedButPresent === 0;
  return {
    valid,
    acked: acked.length,
    attempted: writes.length,
    lostAcked: lostAll.size,
    recovered: recoveredAll.size,
    unexpected: unexpectedAll.size,
    perNode,
    lostSamples: [...lostAll.values()].slice(0, 20),
    message: valid
      ? `no acknowledged write superseded by an older value on ${perNode.length} node(s)`
      : `${lostAll.size} acknowledged write(s) lost, ${unexpectedAll.size} unexpected final value(s)`,
  };
}
