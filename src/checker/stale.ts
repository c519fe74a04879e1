/**
 * Stale reads: how far behind each read was, from the history alone. A read reports the LSN the
 * serving node had applied (`lsn`); by its invocation, some writes were already acknowledged with
 * higher LSNs. The read is behind by
 *   lagLsn = highest acknowledged LSN at invocation − the read's LSN, and
 *   lagMs  = invocation time − when the first acknowledged write the node lacked was acknowledged.
 * Reads without an LSN (from other systems) are not judged.
 */
import { type Op, pairOps } from '../history/op.js';

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

export function checkStaleReads(history: Op[]): StaleReadResult {
  // Acknowledged writes in completion order, with a running maximum of their LSNs.
  const ackTime: number[] = [];
  const prefMax: number[] = [];
  const readState = new Map<Op, { known: number; acks: number }>();
  const { pairs } = pairOps(history);
  const readInvokes = new Set(pairs.filter((p) => p.invoke.f === 'read').map((p) => p.invoke));
  const readOf = new Map(pairs.filter((p) => p.complete).map((p) => [p.complete!, p.invoke]));
  const lags: Array<{ op: Op; lagMs: number; lagLsn: number }> = [];
  let reads = 0;
  for (const op of history) {
    if (op.type === 'invoke' && readInvokes.has(op)) {
      readState.set(op, { known: prefMax.at(-1) ?? 0, acks: prefMax.length });
      continue;
    }
    if (op.type !== 'ok') continue;
    if (op.f !== 'read' && typeof op.lsn === 'number' && op.f !== 'final-read') {
      ackTime.push(op.time);
      prefMax.push(Math.max(prefMax.at(-1) ?? 0, op.lsn));
      continue;
    }
    if (op.f !== 'read') continue;
    reads++;
    const invoke = readOf.get(op);
    const st = invoke && readState.get(invoke);
    if (!invoke || !st || typeof op.lsn !== 'number') continue;
    const lagLsn = Math.max(0, st.known - op.lsn);
    let lagMs = 0;
    if (lagLsn > 0) {
      const i = firstAbove(prefMax, op.lsn, st.acks);
      lagMs = Math.max(0, (invoke.time - ackTime[i]!) / NS_PER_MS);
    }
    lags.push({ op, lagMs, lagLsn });
  }
  const staleLags = lags.filter((l) => l.lagLsn > 0);
  const perNode: StaleReadResult['perNode'] = {};
  for (const l of lags) {
    const n = (perNode[l.op.node ?? '?'] ??= { reads: 0, stale: 0, maxStaleMs: 0 });
    n.reads++;
    if (l.lagLsn > 0) n.stale++;
    n.maxStaleMs = Math.max(n.maxStaleMs, l.lagMs);
  }
  return {
    reads,
    judged: lags.length,
    stale: staleLags.length,
    maxStaleMs: Math.max(0, ...lags.map((l) => l.lagMs)),
    maxStaleLsn: Math.max(0, ...lags.map((l) => l.lagLsn)),
    lagMs: quantiles(lags.map((l) => l.lagMs)),
    lagLsn: quantiles(lags.map((l) => l.lagLsn)),
    worst: [...staleLags].sort((a, b) => b.lagMs - a.lagMs).slice(0, 10).map((l) => ({ index: l.op.index, node: l.op.node, key: l.op.key, lagMs: l.lagMs, lagLsn: l.lagLsn })),
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
