/**
 * Gate invariants: one expression per line, `metric op value`, or a
 * bare `linearizable`. Metrics are the fields of a run's result (results.json):
 *   lostAcked == 0 · linearizable · splitBrainWrites == 0 · maxStaleMs < 500 · outageMs < 5000
 *   p99WriteMs < 50 · lostAcked > 0 (a negative control: the anomaly must show up)
 *   readYourWritesViolations == 0 · monotonicReadViolations == 0 · sessionViolations == 0 (the
 *   four session guarantees) · followerReadShare > 0.5 · readP99Ms < 20 · maxStaleVersions == 0
 *   readsOfLostWrites == 0 (a client read a write the final state lacks; > 0 for a control)
 * `linearizable` is true, false or "unknown"; `linearizable` alone means `linearizable == true`.
 */
import { ConfigError } from '../lib/errors.js';
import { GATE_METRICS, type GateMetric, isGateMetric } from './gate-metrics.js';
import type { RunResult } from './results.js';

type Op = '==' | '!=' | '<' | '<=' | '>' | '>=';

export interface GateRule {
  text: string;
  metric: GateMetric;
  op: Op;
  value: number | boolean | 'unknown';
}

export function parseGateRule(text: string, where: string): GateRule {
  const t = text.trim();
  if (t === 'linearizable') return { text: t, metric: 'linearizable', op: '==', value: true };
  const m = /^([A-Za-z0-9]+)\s*(==|!=|<=|>=|<|>)\s*(\S+)$/.exec(t);
  if (!m) throw new ConfigError(`${where}: "${text}" is not an invariant (write "metric op value", e.g. "lostAcked == 0", or "linearizable")`);
  const metric = m[1]!;
  if (!isGateMetric(metric)) throw new ConfigError(`${where}: "${text}": unknown metric "${m[1]}" (${GATE_METRICS.join(', ')})`);
  const raw = m[3]!;
  let value: GateRule['value'];
  if (metric === 'linearizable') {
    if (raw !== 'true' && raw !== 'false' && raw !== 'unknown') throw new ConfigError(`${where}: "${text}": linearizable is true, false or unknown`);
    if (m[2] !== '==' && m[2] !== '!=') throw new ConfigError(`${where}: "${text}": compare linearizable with == or !=`);
    value = raw === 'unknown' ? 'unknown' : raw === 'true';
  } else {
    value = Number(raw);
    if (!Number.isFinite(value)) throw new ConfigError(`${where}: "${text}": "${raw}" is not a number`);
  }
  return { text: t, metric, op: m[2] as Op, value };
}

/** A broken invariant: a gate rule, or the run-level one that the cluster converged after healing. */
export interface Violation {
  invariant: string;
  metric: GateMetric | 'converged';
  observed: unknown;
}

/** The values gate rules are checked against: these fields of a run's result. */
export type GateMetrics = Pick<RunResult, GateMetric>;

/** The rules a run's metrics break. */
export function evaluateGate(rules: readonly GateRule[], metrics: GateMetrics): Violation[] {
  const out: Violation[] = [];
  for (const r of rules) {
    const v = metrics[r.metric];
    if (!holds(r, v)) out.push({ invariant: r.text, metric: r.metric, observed: v });
  }
  return out;
}

function holds(r: GateRule, v: unknown): boolean {
  if (r.metric === 'linearizable' || typeof r.value !== 'number') return r.op === '==' ? v === r.value : v !== r.value;
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  switch (r.op) {
    case '==':
      return v === r.value;
    case '!=':
      return v !== r.value;
    case '<':
      return v < r.value;
    case '<=':
      return v <= r.value;
    case '>':
      return v > r.value;
    case '>=':
      return v >= r.value;
  }
}

/** What each gate metric is called where a person reads it (terminal, JUnit, summaries, the report). */
export const METRIC_LABELS: Record<GateMetric, string> = {
  lostAcked: 'lost acknowledged writes',
  recovered: 'unacknowledged writes that took effect',
  linearizable: 'linearizable',
  splitBrainWrites: 'split-brain writes',
  maxStaleMs: 'max stale read ms',
  staleReads: 'stale reads',
  readYourWritesViolations: 'read-your-writes violations',
  monotonicReadViolations: 'monotonic-read violations',
  monotonicWriteViolations: 'monotonic-write violations',
  writesFollowReadsViolations: 'writes-follow-reads violations',
  sessionViolations: 'session-guarantee violations',
  followerReadShare: 'follower read share',
  readP99Ms: 'read p99 ms',
  maxStaleVersions: 'max versions behind',
  p99StaleMs: 'p99 staleness ms',
  readsOfLostWrites: 'reads of lost writes',
  outageMs: 'longest outage ms',
  p50WriteMs: 'write p50 ms',
  p99WriteMs: 'write p99 ms',
  p999WriteMs: 'write p99.9 ms',
  acked: 'acknowledged writes',
  failedShare: 'failed share',
  indeterminateShare: 'indeterminate share',
};

/** Short names for narrow places (the terminal table's gate column). */
export const METRIC_SHORT: Record<GateMetric, string> = {
  lostAcked: 'lost',
  recovered: 'recovered',
  linearizable: 'linearizable',
  splitBrainWrites: 'split-brain',
  maxStaleMs: 'stale ms',
  staleReads: 'stale reads',
  readYourWritesViolations: 'RYW',
  monotonicReadViolations: 'mono-read',
  monotonicWriteViolations: 'mono-write',
  writesFollowReadsViolations: 'WFR',
  sessionViolations: 'session',
  followerReadShare: 'follower share',
  readP99Ms: 'read p99',
  maxStaleVersions: 'versions behind',
  p99StaleMs: 'p99 stale ms',
  readsOfLostWrites: 'lost-write reads',
  outageMs: 'outage',
  p50WriteMs: 'p50',
  p99WriteMs: 'p99',
  p999WriteMs: 'p99.9',
  acked: 'acked',
  failedShare: 'failed',
  indeterminateShare: 'indeterminate',
};

/**
 * The figures a reader takes as the run's safety verdict. When the gate judges none of them the
 * explanation still names them, so a pass cannot be read as "nothing was lost".
 */
const HEADLINE: ReadonlyArray<{ metric: GateMetric; name: string; alsoGatedBy?: readonly GateMetric[] }> = [
  { metric: 'lostAcked', name: 'lost writes' },
  { metric: 'splitBrainWrites', name: 'split-brain writes' },
  { metric: 'linearizable', name: 'linearizable' },
  {
    metric: 'sessionViolations',
    name: 'session violations',
    alsoGatedBy: ['readYourWritesViolations', 'monotonicReadViolations', 'monotonicWriteViolations', 'writesFollowReadsViolations'],
  },
];

/** The nouns a negative control must find ("must find lost writes"). */
const CONTROL_NOUN: Partial<Record<GateMetric, string>> = {
  lostAcked: 'lost writes',
  splitBrainWrites: 'split-brain writes',
  linearizable: 'a linearizability violation',
  staleReads: 'stale reads',
  readsOfLostWrites: 'reads of lost writes',
  sessionViolations: 'session-guarantee violations',
  readYourWritesViolations: 'read-your-writes violations',
  monotonicReadViolations: 'monotonic-read violations',
  monotonicWriteViolations: 'monotonic-write violations',
  writesFollowReadsViolations: 'writes-follow-reads violations',
};

export interface VerdictCheck {
  /** The rule as written in the suite ("splitBrainWrites == 0"), or "converged". */
  rule: string;
  /** The rule in words ("split-brain writes == 0"). */
  label: string;
  /** The rule's short form for narrow places ("split-brain == 0"). */
  short: string;
  ok: boolean;
  /** What the run measured ("0", "106", "unknown", "not measured"). */
  observed: string;
}

export interface VerdictExplanation {
  passed: boolean;
  control: boolean;
  /** Every rule the run was judged by, in the suite's order, then convergence (always judged). */
  checks: VerdictCheck[];
  /** Headline figures the run measured that no rule judged, with their value ("lost writes: 106 (not gated)"). */
  notGated: string[];
  /** Short names of the unjudged figures that show something (not 0, not linearizable), for narrow places ("lost"). */
  notGatedShort: string[];
  /** One sentence: what was checked, how it came out, and the unjudged figures that show something. */
  line: string;
}

/** The fields of a run's result that explainVerdict reads. */
export type ExplainableRun = Pick<RunResult, 'gate' | 'violations' | 'converged' | 'passed' | 'control' | GateMetric>;

/** A metric's value as a short figure. */
export function formatObserved(v: unknown): string {
  if (v === null || v === undefined) return 'not measured';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
  return String(v);
}

function ruleWords(rule: GateRule, names: Record<GateMetric, string>): string {
  if (rule.metric === 'linearizable') {
    if (rule.op === '==' && rule.value === true) return 'linearizable';
    if (rule.op === '!=' && rule.value === true) return 'not linearizable';
  }
  return `${names[rule.metric]} ${rule.op} ${String(rule.value)}`;
}

/**
 * Why a run passed or failed, in words: each gate rule with what was observed, convergence, and
 * the headline figures (lost writes, split brain, linearizability, session guarantees) that no
 * rule judged. `control` (the mode's flag, normally run.control) turns the sentence around: a
 * negative control passes by finding its anomaly. The recorded `violations` decide which rules
 * broke, so the explanation never disagrees with the recorded verdict.
 */
export function explainVerdict(run: ExplainableRun, control: boolean = run.control): VerdictExplanation {
  const broken = new Set(run.violations.map((v) => v.invariant));
  const gated = new Set<GateMetric>();
  const checks: VerdictCheck[] = [];
  const rules: GateRule[] = [];
  for (const text of run.gate) {
    let rule: GateRule | undefined;
    try {
      rule = parseGateRule(text, 'gate');
    } catch {
      // A rule this version cannot parse (results written by another version): show it as written.
    }
    const violation = run.violations.find((v) => v.invariant === text);
    if (!rule) {
      checks.push({ rule: text, label: text, short: text, ok: !broken.has(text), observed: violation ? formatObserved(violation.observed) : 'unknown' });
      continue;
    }
    rules.push(rule);
    gated.add(rule.metric);
    checks.push({
      rule: text,
      label: ruleWords(rule, METRIC_LABELS),
      short: ruleWords(rule, METRIC_SHORT),
      ok: !broken.has(text),
      observed: formatObserved(violation ? violation.observed : run[rule.metric]),
    });
  }
  const convergence: VerdictCheck = {
    rule: 'converged',
    label: 'the cluster converges after healing',
    short: 'converged',
    ok: run.converged,
    observed: formatObserved(run.violations.find((v) => v.metric === 'converged')?.observed ?? run.converged),
  };
  checks.push(convergence);

  const notGated: string[] = [];
  const notGatedShort: string[] = [];
  const notGatedWords: string[] = [];
  for (const h of HEADLINE) {
    if (gated.has(h.metric) || h.alsoGatedBy?.some((m) => gated.has(m))) continue;
    const v = run[h.metric];
    if (v === null || v === undefined) continue; // not measured: nothing to leave unjudged
    notGated.push(`${h.name}: ${formatObserved(v)} (not gated)`);
    // The sentence and the table cell name an unjudged figure only when it shows something (a
    // count above 0, not linearizable or undecided): "session violations 0 not gated" on every
    // line would bury "lost writes 106 not gated". notGated keeps them all.
    if (v === 0 || v === true) continue;
    notGatedShort.push(METRIC_SHORT[h.metric]);
    notGatedWords.push(`${h.name} ${formatObserved(v)}`);
  }

  const mark = (c: VerdictCheck) => (c.ok ? `${c.label} ✓` : `${c.label} ✗ (${c.observed})`);
  const ruleChecks = checks.slice(0, -1);
  let line: string;
  if (control) {
    const parts = ruleChecks.map((c) => {
      const r = rules.find((x) => x.text === c.rule);
      const noun = r ? CONTROL_NOUN[r.metric] : undefined;
      const what = noun ? `must find ${noun} (${c.label})` : `must show ${c.label}`;
      return `${what} ${c.ok ? '✓' : '✗'} found ${c.observed}`;
    });
    line = `control${run.passed ? '' : ' FAILED'}: ${parts.length > 0 ? parts.join('; ') : 'no rule to find an anomaly'}`;
    if (!run.passed && ruleChecks.some((c) => !c.ok)) line += ' — the checker did not see the anomaly';
  } else {
    line = `gate${run.passed ? '' : ' FAILED'}: ${ruleChecks.length > 0 ? ruleChecks.map(mark).join(' · ') : 'no rules'}`;
  }
  // Convergence is judged on every run; it is named only when it broke, to keep the line short.
  if (!convergence.ok) line += ` · ${mark(convergence)}`;
  // A negative control exists to show the checker sees one anomaly; what else it did is beside the
  // point there, so its sentence leaves the unjudged figures out (notGated still lists them).
  if (!control && notGatedWords.length > 0) line += ` — not gated: ${notGatedWords.join(', ')}`;
  return { passed: run.passed, control, checks, notGated, notGatedShort, line };
}
