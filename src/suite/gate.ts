/**
 * Gate invariants (DESIGN.md "Invariants"): one expression per line, `metric op value`, or a
 * bare `linearizable`. Metrics are the fields of a run's result (results.json):
 *   lostAcked == 0 · linearizable · splitBrainWrites == 0 · maxStaleMs < 500 · outageMs < 5000
 *   p99WriteMs < 50 · lostAcked > 0 (a negative control: the anomaly must show up)
 *   readYourWritesViolations == 0 · monotonicReadViolations == 0 · sessionViolations == 0 (the
 *   four session guarantees) · followerReadShare > 0.5 · readP99Ms < 20 · maxStaleVersions == 0
 * `linearizable` is true, false or "unknown"; `linearizable` alone means `linearizable == true`.
 */
import { ConfigError } from '../lib/errors.js';
import type { RunResult } from './results.js';

export const GATE_METRICS = [
  'lostAcked',
  'recovered',
  'linearizable',
  'splitBrainWrites',
  'maxStaleMs',
  'staleReads',
  'readYourWritesViolations',
  'monotonicReadViolations',
  'monotonicWriteViolations',
  'writesFollowReadsViolations',
  'sessionViolations',
  'followerReadShare',
  'readP99Ms',
  'maxStaleVersions',
  'p99StaleMs',
  'outageMs',
  'p50WriteMs',
  'p99WriteMs',
  'p999WriteMs',
  'acked',
  'failedShare',
  'indeterminateShare',
] as const;
export type GateMetric = (typeof GATE_METRICS)[number];
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
  const metric = m[1] as GateMetric;
  if (!GATE_METRICS.includes(metric)) throw new ConfigError(`${where}: "${text}": unknown metric "${m[1]}" (${GATE_METRICS.join(', ')})`);
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
