/**
 * What `replab run` prints: the line as each run ends, the per-mode table and the gate lines under
 * it (a pass always says what it checked and what it did not), the progress ETA, and the
 * non-terminal progress printer.
 */
import { describe, expect, it } from 'vitest';
import { progressPrinter } from '../../src/cli/commands/run.js';
import type { RunResult, SuiteResults } from '../../src/suite/results.js';
import { estimateRemainingMs, formatGateLines, formatSummaryTable, runVerdictLine } from '../../src/suite/runner.js';
import { explainMode, verdictCell } from '../../src/suite/summary.js';
import { fakeResults, fakeRun } from '../helpers/results.js';

const STRICT = ['splitBrainWrites == 0', 'lostAcked == 0', 'linearizable'];

/** The quick suite's three modes plus a control, as results.json would hold them. */
function quick(): SuiteResults {
  const runs: RunResult[] = [
    fakeRun('async', 1, { gate: ['splitBrainWrites == 0'], lostAcked: 106, linearizable: false, staleReads: 72, maxStaleMs: 1504 }),
    fakeRun('semi-sync', 1, {
      gate: STRICT,
      lostAcked: 2,
      passed: false,
      violations: [{ invariant: 'lostAcked == 0', metric: 'lostAcked', observed: 2 }],
    }),
    fakeRun('sync', 1, { gate: STRICT }),
    fakeRun('control-loss', 1, { control: true, gate: ['lostAcked > 0'], lostAcked: 57 }),
  ];
  const r = fakeResults(runs, undefined, { passed: false });
  r.modes = r.modes.map((m) => ({ ...m, gate: runs.find((x) => x.mode === m.name)!.gate, control: m.name.startsWith('control') }));
  return r;
}

/** A table's row for `mode`, split into its cells (cells are separated by two or more spaces). */
function row(table: string, mode: string): string[] {
  return table
    .split('\n')
    .find((l) => l.startsWith(`${mode} `))!
    .split(/\s{2,}/);
}

describe('the line printed as a run ends', () => {
  it('names what the gate checked and the lost writes it did not', () => {
    const r = quick();
    expect(runVerdictLine(r.runs[0]!)).toBe('gate: split-brain writes == 0 ✓ — not gated: lost writes 106, linearizable false');
    expect(runVerdictLine(r.runs[1]!)).toBe('gate FAILED: split-brain writes == 0 ✓ · lost acknowledged writes == 0 ✗ (2) · linearizable ✓');
    expect(runVerdictLine(r.runs[3]!)).toBe('control: must find lost writes (lost acknowledged writes > 0) ✓ found 57');
  });
});

describe('formatSummaryTable', () => {
  it("gives stale reads and the stalest read's ms a column each, and the gate column its rules", () => {
    const table = formatSummaryTable(quick());
    const header = table.split('\n')[0]!.split(/\s{2,}/);
    expect(header.slice(-3)).toEqual(['stale reads', 'max stale ms', 'gate']);
    expect(row(table, 'async').slice(-3)).toEqual(['72', '1504', 'pass: split-brain == 0 (lost, linearizable not gated)']);
    expect(row(table, 'semi-sync').slice(-3)).toEqual(['0', '-', 'FAIL: split-brain == 0, lost == 0 ✗, linearizable']);
    expect(row(table, 'sync').at(-1)).toBe('pass: split-brain == 0, lost == 0, linearizable');
    expect(row(table, 'control-loss').at(-1)).toBe('pass: must find lost > 0');
    // No line carries trailing padding (the gate column is left-aligned and last).
    for (const l of table.split('\n')) expect(l).toBe(l.trimEnd());
  });

  it('prints a verdict line per mode for under the table', () => {
    expect(formatGateLines(quick()).split('\n')).toEqual([
      '  async         gate: split-brain writes == 0 ✓ — not gated: lost writes 106, linearizable false',
      '  semi-sync     gate FAILED: split-brain writes == 0 ✓ · lost acknowledged writes == 0 ✗ (2) · linearizable ✓',
      '  sync          gate: split-brain writes == 0 ✓ · lost acknowledged writes == 0 ✓ · linearizable ✓',
      '  control-loss  control: must find lost writes (lost acknowledged writes > 0) ✓ found 57',
    ]);
  });
});

describe('a mode over several seeds', () => {
  it('adds counts over seeds and says how many seeds broke a rule', () => {
    const r = fakeResults([
      fakeRun('semi-sync', 1, {
        gate: STRICT,
        converged: false,
        passed: false,
        violations: [{ invariant: 'the cluster converges after healing', metric: 'converged', observed: 'x' }],
      }),
      fakeRun('semi-sync', 2, { gate: STRICT, lostAcked: 4, passed: false, violations: [{ invariant: 'lostAcked == 0', metric: 'lostAcked', observed: 4 }] }),
      fakeRun('semi-sync', 3, { gate: STRICT }),
    ]);
    r.modes[0]!.gate = STRICT;
    const e = explainMode(r, 'semi-sync')!;
    expect(e.passed).toBe(false);
    expect(e.checks.map((c) => [c.short, c.ok, c.observed])).toEqual([
      ['split-brain == 0', true, '0'],
      ['lost == 0', false, '1 of 3 seeds'],
      ['linearizable', true, 'true'],
      ['converged', false, '1 of 3 seeds'],
    ]);
    expect(verdictCell(e)).toBe('FAIL: split-brain == 0, lost == 0 ✗, linearizable, converged ✗');
    const async = fakeResults([fakeRun('async', 1, { gate: [], lostAcked: 50 }), fakeRun('async', 2, { gate: [], lostAcked: 56 })]);
    async.modes[0]!.gate = [];
    expect(explainMode(async, 'async')!.notGated[0]).toBe('lost writes: 106 (not gated)');
    expect(verdictCell(explainMode(async, 'async')!)).toBe('pass: converged only (lost not gated)');
    expect(explainMode(async, 'missing')).toBeUndefined();
  });
});

describe('estimateRemainingMs', () => {
  const base = { suiteStartMs: 0, total: 3, durationSec: 20 };

  it('counts down with the clock during the first run, from durationSec and the start-up seen so far', () => {
    // Started 3 s ago and still starting: per run 20 s + 2 × 3 s = 26 s; 23 s of this one left, two more runs.
    expect(estimateRemainingMs({ ...base, now: 3000, runStartMs: 0, finished: 0 })).toBe(23_000 + 2 * 26_000);
    // The workload began at 4 s: per run 28 s; at 10 s, 18 s of this one left.
    const at10 = estimateRemainingMs({ ...base, now: 10_000, runStartMs: 0, runningAtMs: 4000, finished: 0 });
    const at15 = estimateRemainingMs({ ...base, now: 15_000, runStartMs: 0, runningAtMs: 4000, finished: 0 });
    expect(at10).toBe(18_000 + 2 * 28_000);
    expect(at10 - at15).toBe(5000);
  });

  it('after a run finished, takes the finished runs\u2019 average and still counts down during the next', () => {
    // One run took 40 s; the second started at 40 s.
    expect(estimateRemainingMs({ ...base, now: 40_000, runStartMs: 40_000, finished: 1 })).toBe(80_000);
    expect(estimateRemainingMs({ ...base, now: 50_000, runStartMs: 40_000, finished: 1 })).toBe(70_000);
  });

  it('never goes below what the runs after this one need, nor below zero', () => {
    // The current (second) run overran the 40 s average: only the third run is left to estimate.
    expect(estimateRemainingMs({ ...base, now: 100_000, runStartMs: 40_000, finished: 1 })).toBe(40_000);
    expect(estimateRemainingMs({ ...base, now: 200_000, runStartMs: 80_000, finished: 2 })).toBe(0);
  });
});

describe('progressPrinter', () => {
  it('off a terminal, prints a line per step, not every second the ETA changes', () => {
    const written: string[] = [];
    let t = 0;
    const print = progressPrinter({ isTTY: false, write: (s: string) => written.push(s) }, () => t);
    print('[1/3 · ETA 1 min 10 s] async seed 1 · running · 1 s', false, '1 running');
    t = 1000;
    print('[1/3 · ETA 1 min 9 s] async seed 1 · running · 2 s', false, '1 running');
    t = 2000;
    print('[1/3 · ETA 1 min 8 s] async seed 1 · running · 3 s · faults: kill', false, '1 running · faults: kill');
    t = 8000;
    print('[1/3 · ETA 1 min 2 s] async seed 1 · running · 9 s · faults: kill', false, '1 running · faults: kill');
    print('[1/3] async seed 1 · gate: split-brain writes == 0 ✓', true, '1 verdict');
    expect(written).toEqual([
      '[1/3 · ETA 1 min 10 s] async seed 1 · running · 1 s\n',
      '[1/3 · ETA 1 min 8 s] async seed 1 · running · 3 s · faults: kill\n',
      '[1/3 · ETA 1 min 2 s] async seed 1 · running · 9 s · faults: kill\n',
      '[1/3] async seed 1 · gate: split-brain writes == 0 ✓\n',
    ]);
  });

  it('on a terminal, rewrites one line', () => {
    const written: string[] = [];
    const print = progressPrinter({ isTTY: true, write: (s: string) => written.push(s) });
    print('a', false, '1 starting');
    print('b', true, '1 verdict');
    expect(written).toEqual(['\r\x1b[2Ka', '\r\x1b[2Kb\n']);
  });
});
