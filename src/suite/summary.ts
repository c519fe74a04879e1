/**
 * Per-mode aggregation of a suite's results over seeds: the terminal table, the CI summary and the
 * report all show these figures. Pure: it reads results.json's contents, nothing else.
 */
import type { SuiteResults } from './results.js';

/** Per-mode aggregation over seeds, for the terminal table and the report. */
export interface ModeSummary {
  mode: string;
  control: boolean;
  runs: number;
  throughput: number;
  p50WriteMs: number | null;
  p99WriteMs: number | null;
  p999WriteMs: number | null;
  acked: number;
  lostAcked: number | null;
  /** The final-read count, for comparison (it misses lost writes that later writes overwrote). */
  lostAckedFinalReads: number | null;
  /** Where lostAcked comes from across the mode's runs. */
  lossEvidence: 'logs' | 'final-reads' | 'mixed';
  /** Acknowledged writes the logs could not classify, over all runs. */
  lossUnknown: number;
  infoResolved: number;
  infoOpen: number;
  linearizable: boolean | 'unknown' | null;
  splitBrainWrites: number;
  outageMs: number;
  staleReads: number;
  maxStaleMs: number;
  passed: boolean;
}

export function medianOf(xs: Array<number | null>): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

export function summarizeModes(results: SuiteResults): ModeSummary[] {
  return results.modes.map((m) => {
    const rs = results.runs.filter((r) => r.mode === m.name);
    const lin = rs.map((r) => r.linearizable);
    return {
      mode: m.name,
      control: m.control,
      runs: rs.length,
      throughput: medianOf(rs.map((r) => r.throughput)) ?? 0,
      p50WriteMs: medianOf(rs.map((r) => r.p50WriteMs)),
      p99WriteMs: medianOf(rs.map((r) => r.p99WriteMs)),
      p999WriteMs: medianOf(rs.map((r) => r.p999WriteMs)),
      acked: rs.reduce((a, r) => a + r.acked, 0),
      lostAcked: rs.some((r) => r.lostAcked !== null) ? rs.reduce((a, r) => a + (r.lostAcked ?? 0), 0) : null,
      lostAckedFinalReads: rs.some((r) => r.lostAckedFinalReads != null) ? rs.reduce((a, r) => a + (r.lostAckedFinalReads ?? 0), 0) : null,
      lossUnknown: rs.reduce((a, r) => a + (r.lossUnknown ?? 0), 0),
      lossEvidence: rs.every((r) => r.lossEvidence === 'final-reads') ? 'final-reads' : rs.every((r) => r.lossEvidence !== 'final-reads') ? 'logs' : 'mixed',
      infoResolved: rs.reduce((a, r) => a + (r.infoResolved ?? 0), 0),
      infoOpen: rs.reduce((a, r) => a + (r.infoOpen ?? 0), 0),
      linearizable: lin.includes(false) ? false : lin.includes('unknown') ? 'unknown' : lin.includes(null) ? null : true,
      splitBrainWrites: rs.reduce((a, r) => a + r.splitBrainWrites, 0),
      outageMs: Math.max(0, ...rs.map((r) => r.outageMs)),
      staleReads: rs.reduce((a, r) => a + r.staleReads, 0),
      maxStaleMs: Math.max(0, ...rs.map((r) => r.maxStaleMs)),
      passed: rs.every((r) => r.passed),
    };
  });
}

/** How many seeds of each mode found each kind of anomaly (a suite with many seeds reads best this way). */
export interface AnomalyCounts {
  mode: string;
  seeds: number;
  /** Seeds with acknowledged writes lost. */
  lost: number;
  splitBrain: number;
  notLinearizable: number;
  /** Seeds whose linearizability the checker could not decide. */
  undecided: number;
  staleReads: number;
  notConverged: number;
  gateFailed: number;
}

export function anomalyCounts(results: SuiteResults): AnomalyCounts[] {
  return results.modes.map((m) => {
    const rs = results.runs.filter((r) => r.mode === m.name);
    const count = (f: (r: (typeof rs)[number]) => boolean) => rs.filter(f).length;
    return {
      mode: m.name,
      seeds: rs.length,
      lost: count((r) => (r.lostAcked ?? 0) > 0),
      splitBrain: count((r) => r.splitBrainWrites > 0),
      notLinearizable: count((r) => r.linearizable === false),
      undecided: count((r) => r.linearizable === 'unknown'),
      staleReads: count((r) => r.staleReads > 0),
      notConverged: count((r) => !r.converged),
      gateFailed: count((r) => !r.passed),
    };
  });
}

/** The counts as a terminal table: "seeds with …" per mode. */
export function formatAnomalyCounts(counts: AnomalyCounts[]): string {
  const header = ['mode', 'seeds', 'lost writes', 'split brain', 'not linearizable', 'undecided', 'stale reads', 'not converged', 'gate failed'];
  const rows = counts.map((c) =>
    [c.mode, c.seeds, c.lost, c.splitBrain, c.notLinearizable, c.undecided, c.staleReads, c.notConverged, c.gateFailed].map(String),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}
