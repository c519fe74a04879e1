/**
 * Latency of completed (ok) client operations, per function and per serving node, in HdrHistograms
 * (hdr-histogram-js, microsecond resolution, 3 significant digits).
 */
import * as hdr from 'hdr-histogram-js';
import { isClientProcess, type PairedHistory } from '../history/op.js';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface LatencyResult {
  byF: Record<string, LatencySummary>;
  byNode: Record<string, LatencySummary>;
}

const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

export function summarizeHistogram(h: hdr.Histogram): LatencySummary {
  const ms = (us: number) => us / 1000;
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
  };
}

export function checkLatency({ pairs }: PairedHistory): LatencyResult {
  const byF = new Map<string, hdr.Histogram>();
  const byNode = new Map<string, hdr.Histogram>();
  for (const { invoke, complete } of pairs) {
    if (complete?.type !== 'ok' || !isClientProcess(invoke.process)) continue;
    const us = Math.max(1, Math.round((complete.time - invoke.time) / 1000));
    const f = invoke.f;
    if (!byF.has(f)) byF.set(f, newHistogram());
    byF.get(f)!.recordValue(us);
    const node = complete.node;
    if (node) {
      if (!byNode.has(node)) byNode.set(node, newHistogram());
      byNode.get(node)!.recordValue(us);
    }
  }
  const out = (m: Map<string, hdr.Histogram>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, h]) => [k, summarizeHistogram(h)]));
  return { byF: out(byF), byNode: out(byNode) };
}
