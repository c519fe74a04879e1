/**
 * Per-mode aggregation of a suite's results over seeds: the terminal table, the CI summary and the
 * report all show these figures. Pure: it reads results.json's contents, nothing else.
 */
import { type ExplainableRun, explainVerdict, type VerdictExplanation } from './gate.js';
import { GATE_METRICS, type GateMetric } from './gate-metrics.js';
import { measuredText, type RunResult, type SuiteResults } from './results.js';

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
  /** null: no run of the mode could measure it. */
  splitBrainWrites: number | null;
  outageMs: number;
  staleReads: number;
  maxStaleMs: number;
  /** Reads of lost writes over the mode's runs (null: not measured). */
  readsOfLostWrites: number | null;
  passed: boolean;
}

/**
 * What a table says for a mode with no runs in these results, in place of figures that would read
 * as measured zeros: in a shard, that another shard runs it.
 */
export function noRunsText(results: SuiteResults): string {
  const s = results.shard;
  return s ? `no runs in this shard (${s.index}/${s.count}): another shard runs this mode` : 'no runs';
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
      // A mode with no runs (another shard's) proved nothing: not "true".
      linearizable: rs.length === 0 ? null : lin.includes(false) ? false : lin.includes('unknown') ? 'unknown' : lin.includes(null) ? null : true,
      splitBrainWrites: rs.some((r) => r.splitBrainWrites !== null) ? rs.reduce((a, r) => a + (r.splitBrainWrites ?? 0), 0) : null,
      outageMs: Math.max(0, ...rs.map((r) => r.outageMs)),
      staleReads: rs.reduce((a, r) => a + r.staleReads, 0),
      maxStaleMs: Math.max(0, ...rs.map((r) => r.maxStaleMs)),
      readsOfLostWrites: rs.some((r) => r.readsOfLostWrites != null) ? rs.reduce((a, r) => a + (r.readsOfLostWrites ?? 0), 0) : null,
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
  /** Seeds with split-brain writes; null when the system cannot measure them. */
  splitBrain: number | null;
  notLinearizable: number;
  /** Seeds whose linearizability the checker could not decide. */
  undecided: number;
  staleReads: number;
  /** Seeds where a client read a write the final state lacks. */
  lostWriteReads: number;
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
      splitBrain: rs.some((r) => r.splitBrainWrites !== null) ? count((r) => (r.splitBrainWrites ?? 0) > 0) : null,
      notLinearizable: count((r) => r.linearizable === false),
      undecided: count((r) => r.linearizable === 'unknown'),
      staleReads: count((r) => r.staleReads > 0),
      lostWriteReads: count((r) => (r.readsOfLostWrites ?? 0) > 0),
      notConverged: count((r) => !r.converged),
      gateFailed: count((r) => !r.passed),
    };
  });
}

/** The counts as a terminal table: "seeds with …" per mode. */
export function formatAnomalyCounts(counts: AnomalyCounts[]): string {
  const header = [
    'mode',
    'seeds',
    'lost writes',
    'split brain',
    'not linearizable',
    'undecided',
    'stale reads',
    'lost-write reads',
    'not converged',
    'gate failed',
  ];
  const rows = counts.map((c) =>
    [c.mode, c.seeds, c.lost, measuredText(c.splitBrain), c.notLinearizable, c.undecided, c.staleReads, c.lostWriteReads, c.notConverged, c.gateFailed].map(
      String,
    ),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

/** Gate metrics that count events: over seeds they add up; the others (latencies, shares) take the worst seed's. */
const COUNTED = new Set<GateMetric>([
  'lostAcked',
  'recovered',
  'splitBrainWrites',
  'staleReads',
  'readYourWritesViolations',
  'monotonicReadViolations',
  'monotonicWriteViolations',
  'writesFollowReadsViolations',
  'sessionViolations',
  'readsOfLostWrites',
  'acked',
]);

/**
 * What a mode's gate checked over all its seeds, as explainVerdict says it for one run: counts
 * added over seeds, a rule some seeds broke observed as "2 of 5 seeds". Undefined for a mode
 * without runs (an unfinished shard).
 */
export function explainMode(results: SuiteResults, mode: string): VerdictExplanation | undefined {
  const m = results.modes.find((x) => x.name === mode);
  const rs = results.runs.filter((r) => r.mode === mode);
  if (rs.length === 0) return undefined;
  const control = m?.control ?? rs[0]!.control;
  if (rs.length === 1) return explainVerdict(rs[0]!, control);
  const n = rs.length;
  const broken = new Map<string, { metric: RunResult['violations'][number]['metric']; seeds: number }>();
  for (const r of rs)
    for (const v of r.violations) {
      const b = broken.get(v.invariant) ?? { metric: v.metric, seeds: 0 };
      b.seeds++;
      broken.set(v.invariant, b);
    }
  const metrics = {} as Record<GateMetric, unknown>;
  for (const k of GATE_METRICS) {
    const xs = rs.map((r) => r[k]);
    if (k === 'linearizable') {
      const lin = xs as Array<RunResult['linearizable']>;
      metrics[k] = lin.includes(false) ? false : lin.includes('unknown') ? 'unknown' : lin.includes(null) ? null : true;
    } else {
      const nums = xs.filter((x): x is number => typeof x === 'number');
      metrics[k] = nums.length === 0 ? null : COUNTED.has(k) ? nums.reduce((a, x) => a + x, 0) : Math.max(...nums);
    }
  }
  const run = {
    ...(metrics as Pick<ExplainableRun, GateMetric>),
    gate: m?.gate ?? rs[0]!.gate,
    violations: [...broken].map(([invariant, b]) => ({ invariant, metric: b.metric, observed: `${b.seeds} of ${n} seeds` })),
    converged: rs.every((r) => r.converged),
    passed: rs.every((r) => r.passed),
    control,
  };
  return explainVerdict(run, control);
}

/**
 * A verdict in one table cell: "pass: split-brain == 0 (lost, lin not gated)", "FAIL: lost == 0 ✗,
 * lin, split-brain == 0", "pass: must find lost > 0". Convergence, judged on every run, is named
 * only when it broke.
 */
export function verdictCell(e: VerdictExplanation): string {
  const rules = e.checks.filter((c) => c.rule !== 'converged' || !c.ok).map((c) => (e.passed || c.ok ? c.short : `${c.short} ✗`));
  const head = e.passed ? 'pass' : 'FAIL';
  const checked = rules.length === 0 ? 'converged only' : `${e.control ? 'must find ' : ''}${rules.join(', ')}`;
  // As in explainVerdict's sentence, a control's unjudged figures are left out.
  return `${head}: ${checked}${!e.control && e.notGatedShort.length > 0 ? ` (${e.notGatedShort.join(', ')} not gated)` : ''}`;
}
