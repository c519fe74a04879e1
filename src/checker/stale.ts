/**
 * Stale reads: how far behind each read was, from the history alone. A read reports the LSN the
 * serving node had applied (`lsn`); by its invocation, some writes were already acknowledged with
 * higher LSNs. The read is behind by
 *   lagLsn = highest acknowledged LSN at invocation − the read's LSN, and
 *   lagMs  = invocation time − when the first acknowledged write the node lacked was acknowledged.
 * Reads without an LSN (from other systems) are not judged.
 */
import type { Op, PairedHistory } from '../history/op.js';
import { countBelow } from '../lib/sorted.js';

export interface StaleReadResult {
  reads: number;
  judged: number;
  stale: number;
  maxStaleMs: number;
  maxStaleLsn: number;
  lagMs: { p50: number; p90: number; p99: number; max: number };
  lagLsn: { p50: number; p90: number; p99: number; max: number };
  /** The stalest reads (at most 10). */
  worst: Array<{ index: number; node: string | undefined; key: string | undefined; lagMs: number; lagLsn: number }>;
  /** Stale reads per serving node. */
  perNode: Record<string, { reads: number; stale: number; maxStaleMs: number }>;
}

const NS_PER_MS = 1e6;

export function checkStaleReads({ pairs }: PairedHistory): StaleReadResult {
  // Acknowledged writes (ok with an LSN) in completion order, with a running maximum of LSNs.
  const acks = pairs
    .filter((p) => p.complete?.type === 'ok' && p.invoke.f !== 'read' && p.invoke.f !== 'final-read' && typeof p.complete.lsn === 'number')
    .sort((a, b) => a.completePos! - b.completePos!);
  const ackPos = acks.map((p) => p.completePos!);
  const ackTime = acks.map((p) => p.complete!.time);
  const prefMax: number[] = [];
  for (const p of acks) prefMax.push(Math.max(prefMax.at(-1) ?? 0, p.complete!.lsn!));
  const lags: Array<{ op: Op; lagMs: number; lagLsn: number }> = [];
  let reads = 0;
  for (const p of pairs) {
    if (p.invoke.f !== 'read' || p.complete?.type !== 'ok') continue;
    reads++;
    const lsn = p.complete.lsn;
    if (typeof lsn !== 'number') continue;
    const known = countBelow(ackPos, p.invokePos); // acks completed before the read was invoked
    const lagLsn = known > 0 ? Math.max(0, prefMax[known - 1]! - lsn) : 0;
    const lagMs = lagLsn > 0 ? Math.max(0, (p.invoke.time - ackTime[firstAbove(prefMax, lsn, known)]!) / NS_PER_MS) : 0;
    lags.push({ op: p.complete, lagMs, lagLsn });
  }
  const staleLags = lags.filter((l) => l.lagLsn > 0);
  const perNode: StaleReadResult['perNode'] = {};
  for (const l of lags) {
    perNode[l.op.node ?? '?'] ??= { reads: 0, stale: 0, maxStaleMs: 0 };
    const n = perNode[l.op.node ?? '?']!;
    n.reads++;
    if (l.lagLsn > 0) n.stale++;
    n.maxStaleMs = Math.max(n.maxStaleMs, l.lagMs);
  }
  const lagMsList = lags.map((l) => l.lagMs);
  const lagLsnList = lags.map((l) => l.lagLsn);
  const lagMsQ = quantiles(lagMsList);
  const lagLsnQ = quantiles(lagLsnList);
  return {
    reads,
    judged: lags.length,
    stale: staleLags.length,
    maxStaleMs: lagMsQ.max,
    maxStaleLsn: lagLsnQ.max,
    lagMs: lagMsQ,
    lagLsn: lagLsnQ,
    worst: [...staleLags]
      .sort((a, b) => b.lagMs - a.lagMs)
      .slice(0, 10)
      .map((l) => ({ index: l.op.index, node: l.op.node, key: l.op.key, lagMs: l.lagMs, lagLsn: l.lagLsn })),
    perNode,
  };
}

/** First index < end whose prefix maximum exceeds `lsn` (prefMax is non-decreasing). */
function firstAbove(prefMax: number[], lsn: number, end: number): number {
  let lo = 0;
  let hi = end - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (prefMax[mid]! > lsn) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function quantiles(xs: number[]): { p50: number; p90: number; p99: number; max: number } {
  if (xs.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[s.length - 1]! };
}
