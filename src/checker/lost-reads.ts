/**
 * Reads of lost writes ("phantom reads"): a client read a value whose write is absent from the
 * final state. The write was visible somewhere (a primary that showed it before any replica had
 * it: MariaDB's semi-sync AFTER_COMMIT, replab's KV with `visibility: early`), then a failover went
 * on without it. Whoever read it acted on data that, as far as the cluster is concerned, never
 * existed. The write need not have been acknowledged: the anomaly is the read, not the loss.
 *
 * Judged against the final reads, for both workload shapes:
 *   set       a read of element e that found it (value e), when no node's final read holds e;
 *   register  a read of value v of key k (values are unique per key, so v names its write W), when
 *             on every node the final value of k is absent, or comes from a write that completed
 *             before W was invoked (W would have overwritten it had W survived).
 * Conservative on purpose: a write any node still holds counts as kept. No verdict of its own
 * (semi-sync AFTER_COMMIT is expected to show it); suites gate on the count.
 */

import type { OpPair, PairedHistory } from '../history/op.js';

export interface LostRead {
  /** When the read completed, seconds from the history's start. */
  t: number;
  /** The client that read it. */
  process: number | string;
  /** The node that served the read. */
  node: string | null;
  key: string;
  value: unknown;
  /** How the write that produced the value ended for its own client: ok, info or fail. */
  write: string;
}

export interface LostReadsResult {
  /** Ok reads that returned a written value (the reads this check can judge). */
  judged: number;
  /** Reads that returned a lost write's value. */
  readsOfLostWrites: number;
  /** Distinct lost writes that were read. */
  lostWritesRead: number;
  /** Every such read (at most 200), in time order. */
  reads: LostRead[];
  message: string;
}

const NS_PER_S = 1e9;
const vkey = (v: unknown) => (typeof v === 'string' ? `s${v}` : JSON.stringify(v));

export function checkLostReads(history: PairedHistory): LostReadsResult {
  const { pairs } = history;
  const finals = pairs.filter((p) => p.invoke.f === 'final-read' && p.complete?.type === 'ok');
  const reads = pairs.filter((p) => p.invoke.f === 'read' && p.complete?.type === 'ok' && p.complete.value !== null && p.complete.value !== undefined);
  const isSet = pairs.some((p) => p.invoke.f === 'add');
  const found: Array<{ read: OpPair; write: OpPair | undefined; id: string }> = [];
  if (finals.length > 0) {
    if (isSet) {
      const present = new Set<string>();
      for (const f of finals) for (const e of Array.isArray(f.complete!.value) ? f.complete!.value : []) present.add(vkey(e));
      const adds = new Map(pairs.filter((p) => p.invoke.f === 'add').map((p) => [vkey(p.invoke.value), p]));
      for (const r of reads) {
        const id = vkey(r.complete!.value);
        if (adds.has(id) && !present.has(id)) found.push({ read: r, write: adds.get(id), id });
      }
    } else {
      const written = (p: OpPair) => (p.invoke.f === 'cas' ? (Array.isArray(p.invoke.value) ? p.invoke.value[1] : undefined) : p.invoke.value);
      const byValue = new Map<string, OpPair>();
      for (const p of pairs)
        if ((p.invoke.f === 'write' || p.invoke.f === 'cas') && p.invoke.key !== undefined) byValue.set(`${p.invoke.key}\u0000${vkey(written(p))}`, p);
      const finalsByKey = new Map<string, OpPair[]>();
      for (const f of finals) if (f.invoke.key !== undefined) finalsByKey.set(f.invoke.key, [...(finalsByKey.get(f.invoke.key) ?? []), f]);
      for (const r of reads) {
        const k = r.invoke.key;
        if (k === undefined) continue;
        const id = `${k}\u0000${vkey(r.complete!.value)}`;
        const w = byValue.get(id);
        const fs = finalsByKey.get(k);
        if (!w || !fs) continue;
        const kept = fs.some((f) => {
          const v = f.complete!.value;
          if (v === null || v === undefined) return false;
          const s = byValue.get(`${k}\u0000${vkey(v)}`);
          // Kept when the final value is W's own, or from a write W could have come before.
          return s === w || !s?.complete || s.complete.index > w.invoke.index;
        });
        if (!kept) found.push({ read: r, write: w, id });
      }
    }
  }
  found.sort((a, b) => a.read.complete!.time - b.read.complete!.time);
  const lostWritesRead = new Set(found.map((f) => f.id)).size;
  return {
    judged: reads.length,
    readsOfLostWrites: found.length,
    lostWritesRead,
    reads: found.slice(0, 200).map((f) => ({
      t: f.read.complete!.time / NS_PER_S,
      process: f.read.invoke.process,
      node: f.read.complete!.node ?? null,
      key: f.read.invoke.key ?? '',
      value: f.read.complete!.value,
      write: f.write?.complete?.type ?? 'info',
    })),
    message:
      finals.length === 0
        ? 'no final-read in the history: reads of lost writes cannot be judged'
        : `${found.length} of ${reads.length} reads returned a write absent from the final state (${lostWritesRead} distinct write(s))`,
  };
}
