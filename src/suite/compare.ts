/**
 * Two suite runs side by side, mode by mode: throughput, write latency, loss, outage and the gate,
 * each with its change, and which changes cross the limits (p99 may grow at most X%, throughput
 * may drop at most Y%; by default 20% and 10%, each changeable or off). Pure: results.json
 * contents in, a comparison out.
 */
import { machineDifference } from './provenance.js';
import type { SuiteResults } from './results.js';
import { type ModeSummary, summarizeModes } from './summary.js';

export interface CompareLimits {
  /** Largest allowed p99 write latency increase, in percent; absent: no limit. */
  maxP99IncreasePct?: number;
  /** Largest allowed throughput drop, in percent; absent: no limit. */
  maxThroughputDropPct?: number;
}

/**
 * The limits `replab compare` applies unless told otherwise: without any, a 653% p50 rise read
 * as "no regression". p99 +20% and throughput -10% leave room for run-to-run noise on one machine.
 */
export const DEFAULT_COMPARE_LIMITS: Readonly<Required<CompareLimits>> = { maxP99IncreasePct: 20, maxThroughputDropPct: 10 };

export interface MetricChange {
  metric: 'throughput' | 'p50WriteMs' | 'p99WriteMs' | 'p999WriteMs' | 'lostAcked' | 'splitBrainWrites' | 'outageMs' | 'linearizable' | 'passed';
  a: number | boolean | string | null;
  b: number | boolean | string | null;
  /** Relative change in percent (numbers only, when A is not 0). */
  changePct: number | null;
  /** The limit this change crosses, in words, or null. */
  regression: string | null;
}

export interface ModeComparison {
  mode: string;
  /** Runs (seeds) behind each side's figures. */
  runsA: number;
  runsB: number;
  changes: MetricChange[];
}

export interface Comparison {
  suiteA: string;
  suiteB: string;
  modes: ModeComparison[];
  /** Modes only one side ran. */
  onlyA: string[];
  onlyB: string[];
  /** How the two machines differ ('' when they do not, or neither says). */
  machineDifference: string;
  /** The limits the comparison was judged by. */
  limits: CompareLimits;
  regressions: string[];
}

const METRICS: MetricChange['metric'][] = [
  'throughput',
  'p50WriteMs',
  'p99WriteMs',
  'p999WriteMs',
  'lostAcked',
  'splitBrainWrites',
  'outageMs',
  'linearizable',
  'passed',
];

export function compareResults(a: SuiteResults, b: SuiteResults, limits: CompareLimits = DEFAULT_COMPARE_LIMITS): Comparison {
  const sa = summarizeModes(a);
  const sb = summarizeModes(b);
  const modes: ModeComparison[] = [];
  const regressions: string[] = [];
  for (const ma of sa) {
    const mb = sb.find((m) => m.mode === ma.mode);
    // A mode with no runs on one side (another shard ran it) has no figures to compare.
    if (!mb || ma.runs === 0 || mb.runs === 0) continue;
    const changes = METRICS.map((metric) => change(metric, ma, mb, limits));
    for (const c of changes) if (c.regression) regressions.push(`${ma.mode}: ${c.regression}`);
    modes.push({ mode: ma.mode, runsA: ma.runs, runsB: mb.runs, changes });
  }
  return {
    suiteA: a.suite,
    suiteB: b.suite,
    modes,
    onlyA: sa.filter((m) => !sb.some((x) => x.mode === m.mode)).map((m) => m.mode),
    onlyB: sb.filter((m) => !sa.some((x) => x.mode === m.mode)).map((m) => m.mode),
    machineDifference: a.machine || b.machine ? machineDifference(a.machine, b.machine) : '',
    limits: { ...limits },
    regressions,
  };
}

function change(metric: MetricChange['metric'], ma: ModeSummary, mb: ModeSummary, limits: CompareLimits): MetricChange {
  const a = ma[metric];
  const b = mb[metric];
  // Rounded to a millionth of a percent: 10 -> 12 is +20%, not +20.000000000000004%, at a 20% limit.
  const changePct = typeof a === 'number' && typeof b === 'number' && a !== 0 ? Math.round(((b - a) / Math.abs(a)) * 1e8) / 1e6 : null;
  let regression: string | null = null;
  if (metric === 'p99WriteMs' && limits.maxP99IncreasePct !== undefined && changePct !== null && changePct > limits.maxP99IncreasePct) {
    regression = `p99 write latency ${fmt(a)} -> ${fmt(b)} ms (+${changePct.toFixed(1)}%, limit +${limits.maxP99IncreasePct}%)`;
  }
  if (metric === 'throughput' && limits.maxThroughputDropPct !== undefined && changePct !== null && -changePct > limits.maxThroughputDropPct) {
    regression = `throughput ${fmt(a)} -> ${fmt(b)} ops/s (${changePct.toFixed(1)}%, limit -${limits.maxThroughputDropPct}%)`;
  }
  return { metric, a, b, changePct, regression };
}

function fmt(v: unknown): string {
  if (v === null) return 'not measured';
  if (typeof v !== 'number') return String(v);
  return Number.isInteger(v) || Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

/** The comparison as a terminal table, with the notes a reader needs to trust it. */
export function formatComparison(c: Comparison, labels: { a: string; b: string }): string {
  const lines: string[] = [`A: ${labels.a}`, `B: ${labels.b}`, `limits: ${limitsText(c.limits)}`];
  if (c.suiteA !== c.suiteB) lines.push(`note: different suites (${c.suiteA} vs ${c.suiteB}); modes are matched by name`);
  if (c.machineDifference)
    lines.push(`note: the runs are from different machines (${c.machineDifference}); throughput and latency differences may be the machines'`);
  const header = ['mode', 'metric', 'A', 'B', 'change', ''];
  const rows: string[][] = [];
  for (const m of c.modes) {
    for (const ch of m.changes) {
      if (ch.a === ch.b && !ch.regression && ch.metric !== 'throughput' && ch.metric !== 'p99WriteMs') continue;
      const pct = ch.changePct === null ? (ch.a === ch.b ? '' : 'changed') : `${ch.changePct >= 0 ? '+' : ''}${ch.changePct.toFixed(1)}%`;
      rows.push([m.mode, ch.metric, fmt(ch.a), fmt(ch.b), pct, ch.regression ? 'REGRESSION' : '']);
    }
  }
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  lines.push(
    '',
    [header, ...rows]
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n'),
  );
  if (c.onlyA.length) lines.push(`only in A: ${c.onlyA.join(', ')}`);
  if (c.onlyB.length) lines.push(`only in B: ${c.onlyB.join(', ')}`);
  lines.push(
    '',
    c.regressions.length
      ? `${c.regressions.length} regression(s):\n${c.regressions.map((r) => `  ${r}`).join('\n')}`
      : c.limits.maxP99IncreasePct === undefined && c.limits.maxThroughputDropPct === undefined
        ? 'no limits applied (both off): the changes above are not judged'
        : 'no regression beyond the limits above',
  );
  return lines.join('\n');
}

/**
 * The limits in words, and what they leave out, so "no regression" is never read as "nothing got
 * worse": "p99 write latency may grow at most 20%, throughput may fall at most 10%; p50, p99.9,
 * loss and outage are shown, not limited".
 */
export function limitsText(l: CompareLimits): string {
  const p99 = l.maxP99IncreasePct !== undefined ? `p99 write latency may grow at most ${l.maxP99IncreasePct}%` : 'p99 write latency: no limit (off)';
  const tput = l.maxThroughputDropPct !== undefined ? `throughput may fall at most ${l.maxThroughputDropPct}%` : 'throughput: no limit (off)';
  return `${p99}, ${tput}; p50, p99.9, loss and outage are shown, not limited`;
}
