/**
 * The one load generator every system in bench:peers is driven by: N clients in a closed loop
 * (each sends its next write only when the previous one was answered), the same value size and
 * the same uniform key spread, per-operation latency in an HdrHistogram (microseconds, 3 digits).
 * Only what changes per system is the `write` function a client is given.
 */

import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';

/** One client's write of `value` to `key`; rejects when the system refused or failed. */
export type WriteFn = (key: string, value: string) => Promise<void>;

export interface ClosedLoopOptions {
  clients: number;
  durationSec: number;
  valueBytes: number;
  /** Keys drawn uniformly from this many names. @default 10000 */
  keySpace?: number;
  /** Unmeasured seconds first (JIT, connections, the servers' first allocations). @default 1 */
  warmupSec?: number;
  /** Called as measuring starts and as it ends (after the last write), e.g. to read CPU counters. */
  onMeasure?: (phase: 'start' | 'end') => void;
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
  latencyMs: { p50: number; p99: number; p999: number; max: number };
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

export async function runClosedLoop(o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const keySpace = o.keySpace ?? 10_000;
  const value = 'v'.repeat(o.valueBytes);
  const conns = await Promise.all(Array.from({ length: o.clients }, (_, i) => o.connect(i)));
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let total = 0;
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopAt = Infinity;
  const loop = async (i: number) => {
    const nextKey = keyStream(i + 1, keySpace);
    const { write } = conns[i]!;
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      try {
        await write(nextKey(), value);
        if (measuring) {
          histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
          total++;
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
    const q = (p: number) => histogram.getValueAtPercentile(p) / 1000;
    return {
      clients: o.clients,
      valueBytes: o.valueBytes,
      writesPerSec: total / elapsedSec,
      total,
      elapsedSec,
      errors,
      firstError,
      latencyMs: { p50: q(50), p99: q(99), p999: q(99.9), max: histogram.maxValue / 1000 },
    };
  } finally {
    histogram.destroy();
    await Promise.all(conns.map((c) => c.close()));
  }
}
