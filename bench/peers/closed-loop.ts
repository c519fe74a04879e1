/**
 * The closed-loop load generator the benchmarks share: N clients, each sending its next operation
 * only when the previous one was answered, keys drawn from the same fixed-seed uniform spread,
 * per-operation latency in an HdrHistogram (microseconds, 3 digits).
 *
 * `runOpLoop` takes any operation: an operation may say what kind it was (a read, a write) and
 * tag it (e.g. the node that served it), and each kind gets its own histogram and tag counts, so
 * a client mixing reads and writes is measured as two streams (bench:reads). `runClosedLoop` is
 * the write-only form bench:peers drives every system with: only the `write` function a client is
 * given changes per system.
 */

import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';

/** One client's write of `value` to `key`; rejects when the system refused or failed. */
export type WriteFn = (key: string, value: string) => Promise<void>;

/** What a completed operation reports: its kind (default "op") and an optional tag to count. */
export interface OpDone {
  kind?: string;
  tag?: string;
}

/** One client's operation on `key`; rejects when the system refused or failed. */
export type OpFn = (key: string) => Promise<OpDone | undefined>;

interface LoopCommon {
  clients: number;
  durationSec: number;
  /** Keys drawn uniformly from this many names (`k0` … `k<n-1>`). @default 10000 */
  keySpace?: number;
  /** Unmeasured seconds first (JIT, connections, the servers' first allocations). @default 1 */
  warmupSec?: number;
  /** Called as measuring starts and as it ends (after the last operation), e.g. to read CPU counters. */
  onMeasure?: (phase: 'start' | 'end') => void;
}

export interface OpLoopOptions extends LoopCommon {
  /** Makes client `i`'s operation (its own connection, its own session state). */
  connect: (i: number) => Promise<{ op: OpFn; close: () => Promise<void> | void }>;
}

export interface LatencyMs {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export interface KindResult {
  total: number;
  perSec: number;
  latencyMs: LatencyMs;
  /** Completed operations of this kind by tag (untagged ones are not counted here). */
  tags: Record<string, number>;
}

export interface OpLoopResult {
  clients: number;
  elapsedSec: number;
  /** Operations that rejected while measuring, of any kind. */
  errors: number;
  firstError: string | undefined;
  byKind: Record<string, KindResult>;
}

export interface ClosedLoopOptions extends LoopCommon {
  valueBytes: number;
  /** Makes client `i`'s write function (its own connection). */
  connect: (i: number) => Promise<{ write: WriteFn; close: () => Promise<void> | void }>;
}

export interface ClosedLoopResult {
  clients: number;
  valueBytes: number;
  writesPerSec: number;
  total: number;
  elapsedSec: number;
  errors: number;
  firstError: string | undefined;
  latencyMs: LatencyMs;
}

/** A small fixed-seed generator so every system sees the same key sequence per client. */
function keyStream(seed: number, keySpace: number): () => string {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return `k${s % keySpace}`;
  };
}

interface KindState {
  histogram: hdr.Histogram;
  total: number;
  tags: Map<string, number>;
}

export async function runOpLoop(o: OpLoopOptions): Promise<OpLoopResult> {
  const keySpace = o.keySpace ?? 10_000;
  const conns = await Promise.all(Array.from({ length: o.clients }, (_, i) => o.connect(i)));
  const kinds = new Map<string, KindState>();
  const kindState = (kind: string) => {
    let k = kinds.get(kind);
    if (!k) {
      k = {
        histogram: hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 }),
        total: 0,
        tags: new Map(),
      };
      kinds.set(kind, k);
    }
    return k;
  };
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopAt = Infinity;
  const loop = async (i: number) => {
    const nextKey = keyStream(i + 1, keySpace);
    const { op } = conns[i]!;
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      try {
        const done = await op(nextKey());
        if (measuring) {
          const k = kindState(done?.kind ?? 'op');
          k.histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
          k.total++;
          if (done?.tag !== undefined) k.tags.set(done.tag, (k.tags.get(done.tag) ?? 0) + 1);
        }
      } catch (e: unknown) {
        if (measuring) errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  try {
    const warmupMs = (o.warmupSec ?? 1) * 1000;
    const started = performance.now();
    stopAt = started + warmupMs + o.durationSec * 1000;
    const loops = conns.map((_, i) => loop(i));
    await new Promise((r) => setTimeout(r, warmupMs));
    measuring = true;
    o.onMeasure?.('start');
    const t0 = performance.now();
    await Promise.all(loops);
    const elapsedSec = (performance.now() - t0) / 1000;
    o.onMeasure?.('end');
    const byKind: Record<string, KindResult> = {};
    for (const [kind, k] of kinds) {
      const q = (p: number) => k.histogram.getValueAtPercentile(p) / 1000;
      byKind[kind] = {
        total: k.total,
        perSec: k.total / elapsedSec,
        latencyMs: { p50: q(50), p99: q(99), p999: q(99.9), max: k.histogram.maxValue / 1000 },
        tags: Object.fromEntries(k.tags),
      };
    }
    return { clients: o.clients, elapsedSec, errors, firstError, byKind };
  } finally {
    for (const k of kinds.values()) k.histogram.destroy();
    await Promise.all(conns.map((c) => c.close()));
  }
}

/** Writes only: every client writes `valueBytes` to its next key (bench:peers). */
export async function runClosedLoop(o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const value = 'v'.repeat(o.valueBytes);
  const r = await runOpLoop({
    ...o,
    connect: async (i) => {
      const c = await o.connect(i);
      return {
        op: async (key) => {
          await c.write(key, value);
          return undefined;
        },
        close: () => c.close(),
      };
    },
  });
  const w = r.byKind.op;
  return {
    clients: r.clients,
    valueBytes: o.valueBytes,
    writesPerSec: w?.perSec ?? 0,
    total: w?.total ?? 0,
    elapsedSec: r.elapsedSec,
    errors: r.errors,
    firstError: r.firstError,
    latencyMs: w?.latencyMs ?? { p50: 0, p99: 0, p999: 0, max: 0 },
  };
}
