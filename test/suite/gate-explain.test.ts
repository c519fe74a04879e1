import { describe, expect, it } from 'vitest';
import { type ExplainableRun, evaluateGate, explainVerdict, METRIC_LABELS, METRIC_SHORT, parseGateRule } from '../../src/suite/gate.js';
import { GATE_METRICS } from '../../src/suite/gate-metrics.js';

/** A run with every gate metric measured as harmless, then `over`; violations recomputed from the gate. */
function run(gate: string[], over: Partial<ExplainableRun> = {}): ExplainableRun {
  const base: ExplainableRun = {
    gate,
    violations: [],
    converged: true,
    passed: true,
    control: false,
    lostAcked: 0,
    recovered: 0,
    linearizable: true,
    splitBrainWrites: 0,
    maxStaleMs: 0,
    staleReads: 0,
    readYourWritesViolations: null,
    monotonicReadViolations: null,
    monotonicWriteViolations: null,
    writesFollowReadsViolations: null,
    sessionViolations: null,
    followerReadShare: null,
    readP99Ms: null,
    maxStaleVersions: null,
    p99StaleMs: null,
    readsOfLostWrites: null,
    outageMs: 0,
    p50WriteMs: 1,
    p99WriteMs: 5,
    p999WriteMs: 9,
    acked: 1000,
    failedShare: 0,
    indeterminateShare: 0,
    ...over,
  };
  const violations = evaluateGate(
    gate.map((g) => parseGateRule(g, 'test')),
    base,
  );
  if (!base.converged) violations.push({ invariant: 'the cluster converges after healing', metric: 'converged', observed: 'did not converge within 30 s' });
  return { ...base, violations, passed: violations.length === 0 };
}

describe('explainVerdict', () => {
  it('names every gate metric in words and in short', () => {
    for (const m of GATE_METRICS) {
      expect(METRIC_LABELS[m]).toMatch(/\S/);
      expect(METRIC_SHORT[m]).toMatch(/\S/);
    }
    expect(METRIC_LABELS.readYourWritesViolations).toBe('read-your-writes violations');
  });

  it('an async run that passed its split-brain gate says its 106 lost writes were not judged', () => {
    const e = explainVerdict(run(['splitBrainWrites == 0'], { lostAcked: 106, linearizable: false }));
    expect(e.passed).toBe(true);
    expect(e.checks[0]).toEqual({ rule: 'splitBrainWrites == 0', label: 'split-brain writes == 0', short: 'split-brain == 0', ok: true, observed: '0' });
    expect(e.checks[1]).toMatchObject({ rule: 'converged', ok: true });
    expect(e.notGated).toEqual(['lost writes: 106 (not gated)', 'linearizable: false (not gated)']);
    expect(e.notGatedShort).toEqual(['lost', 'linearizable']);
    expect(e.line).toBe('gate: split-brain writes == 0 ✓ — not gated: lost writes 106, linearizable false');
  });

  it('a negative control says what it had to find and what it found', () => {
    const e = explainVerdict(run(['lostAcked > 0'], { control: true, lostAcked: 106 }));
    expect(e.line).toBe('control: must find lost writes (lost acknowledged writes > 0) ✓ found 106');
    expect(e.notGated).toEqual(['split-brain writes: 0 (not gated)', 'linearizable: true (not gated)']);
    const missed = explainVerdict(run(['lostAcked > 0'], { control: true, lostAcked: 0 }));
    expect(missed.passed).toBe(false);
    expect(missed.line).toMatch(/^control FAILED: must find lost writes \(lost acknowledged writes > 0\) ✗ found 0 — the checker did not see the anomaly/);
  });

  it('the control flag passed in decides the wording, not only the run field', () => {
    expect(explainVerdict(run(['splitBrainWrites > 0'], { splitBrainWrites: 4 }), true).line).toMatch(/^control: must find split-brain writes/);
  });

  it('a failing semi-sync run marks the broken rule with its observed value', () => {
    const e = explainVerdict(run(['lostAcked == 0', 'linearizable', 'splitBrainWrites == 0'], { lostAcked: 3, linearizable: 'unknown' }));
    expect(e.passed).toBe(false);
    expect(e.checks.map((c) => [c.label, c.ok, c.observed])).toEqual([
      ['lost acknowledged writes == 0', false, '3'],
      ['linearizable', false, 'unknown'],
      ['split-brain writes == 0', true, '0'],
      ['the cluster converges after healing', true, 'true'],
    ]);
    expect(e.notGated).toEqual([]);
    expect(e.line).toBe('gate FAILED: lost acknowledged writes == 0 ✗ (3) · linearizable ✗ (unknown) · split-brain writes == 0 ✓');
  });

  it('names convergence when it broke, even with every rule holding', () => {
    const e = explainVerdict(run(['lostAcked == 0'], { converged: false }));
    expect(e.checks.at(-1)).toMatchObject({ rule: 'converged', ok: false, observed: 'did not converge within 30 s' });
    expect(e.line).toContain('the cluster converges after healing ✗ (did not converge within 30 s)');
  });

  it('a session guarantee gated counts as judging session violations; ungated ones are named', () => {
    const sessions = {
      readYourWritesViolations: 2,
      monotonicReadViolations: 0,
      monotonicWriteViolations: 0,
      writesFollowReadsViolations: 0,
      sessionViolations: 2,
    };
    const gated = explainVerdict(run(['lostAcked == 0', 'linearizable', 'splitBrainWrites == 0', 'readYourWritesViolations == 0'], sessions));
    expect(gated.notGated).toEqual([]);
    expect(gated.checks[3]).toMatchObject({ label: 'read-your-writes violations == 0', ok: false, observed: '2' });
    const ungated = explainVerdict(run(['lostAcked == 0', 'linearizable', 'splitBrainWrites == 0'], sessions));
    expect(ungated.notGated).toEqual(['session violations: 2 (not gated)']);
  });

  it('a run without rules still says nothing but convergence was checked', () => {
    const e = explainVerdict(run([], { lostAcked: 5 }));
    expect(e.line).toBe('gate: no rules — not gated: lost writes 5');
    expect(e.notGated).toEqual(['lost writes: 5 (not gated)', 'split-brain writes: 0 (not gated)', 'linearizable: true (not gated)']);
  });

  it('lists clean unjudged figures but names in the sentence only those that show something', () => {
    const clean = explainVerdict(run(['splitBrainWrites == 0'], { sessionViolations: 0, readYourWritesViolations: 0 }));
    expect(clean.notGated).toEqual(['lost writes: 0 (not gated)', 'linearizable: true (not gated)', 'session violations: 0 (not gated)']);
    expect(clean.notGatedShort).toEqual([]);
    expect(clean.line).toBe('gate: split-brain writes == 0 ✓');
    const undecided = explainVerdict(run(['splitBrainWrites == 0'], { linearizable: 'unknown' }));
    expect(undecided.line).toBe('gate: split-brain writes == 0 ✓ — not gated: linearizable unknown');
  });

  it('does not name figures that were not measured', () => {
    const e = explainVerdict(run(['splitBrainWrites == 0'], { lostAcked: null, linearizable: null }));
    expect(e.notGated).toEqual([]);
  });
});
