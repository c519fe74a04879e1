/** JUnit XML and the markdown summary for a passing and a failing gate, checked against JUnit's required elements. */

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { junitXml, markdownSummary } from '../../src/suite/ci-output.js';
import type { RunResult, SuiteResults } from '../../src/suite/results.js';
import { fakeResults, fakeRun } from '../helpers/results.js';

const GATE = ['lostAcked == 0', 'linearizable'];

function run(mode: string, seed: number, violations: RunResult['violations'] = []): RunResult {
  return fakeRun(mode, seed, {
    nemesis: 'kill leader @4s for 5s',
    acked: 400,
    lostAcked: violations.length ? 3 : 0,
    infoResolved: 2,
    throughput: 100,
    p50WriteMs: 1,
    p99WriteMs: 5,
    p999WriteMs: 9,
    outageMs: 1200,
    failedShare: 0.01,
    indeterminateShare: 0.01,
    gate: GATE,
    passed: violations.length === 0,
    violations,
  });
}

function results(runs: RunResult[]): SuiteResults {
  const base = fakeResults(runs);
  return {
    ...base,
    suite: 'ci<&>',
    file: 'suites/ci.yaml',
    finishedAt: '2026-11-29T10:01:00.000Z',
    modes: base.modes.map((m) => ({ ...m, nemesis: 'kill', gate: GATE })),
    passed: runs.every((r) => r.passed),
  };
}

/** JUnit's required elements and attributes (the common schema: testsuites > testsuite > testcase [> failure]). */
function checkJunit(text: string) {
  expect(XMLValidator.validate(text)).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testsuite' || name === 'testcase' }).parse(
    text,
  ) as { testsuites: { tests: string; failures: string; testsuite: Array<Record<string, unknown> & { testcase: Array<Record<string, unknown>> }> } };
  const root = doc.testsuites;
  for (const s of root.testsuite) {
    for (const a of ['name', 'tests', 'failures', 'errors', 'time']) expect(s, `testsuite @${a}`).toHaveProperty(a);
    expect(Number(s.tests)).toBe(s.testcase.length);
    for (const c of s.testcase) for (const a of ['name', 'classname', 'time']) expect(c, `testcase @${a}`).toHaveProperty(a);
  }
  return root;
}

/** The quick suite's async mode: its gate checks split brain only, and it lost 106 acknowledged writes. */
function asyncLoss(): SuiteResults {
  const gate = ['splitBrainWrites == 0'];
  const r = results([{ ...run('async', 1), gate, lostAcked: 106, linearizable: false }]);
  return { ...r, modes: r.modes.map((m) => ({ ...m, gate })) };
}

describe('CI outputs', () => {
  it('a pass beside lost writes says what was checked and that the loss was not gated', () => {
    const r = asyncLoss();
    const root = checkJunit(junitXml(r, '/runs/x'));
    const suite = root.testsuite[0]! as { properties: { property: Array<{ name: string; value: string }> }; testcase: Array<Record<string, unknown>> };
    expect(suite.properties.property).toEqual([
      { name: 'gate', value: 'splitBrainWrites == 0' },
      { name: 'not-gated', value: 'lost writes: 106 (not gated)' },
      { name: 'not-gated', value: 'linearizable: false (not gated)' },
    ]);
    expect(suite.testcase.map((c) => c.name)).toEqual(['seed 1: splitBrainWrites == 0', 'seed 1: the cluster converges after healing']);
    expect(suite.testcase[0]!['system-out']).toBe(
      'checked: split-brain writes == 0 (observed 0)\nrun: gate: split-brain writes == 0 ✓ — not gated: lost writes 106, linearizable false\nlost writes: 106 (not gated); linearizable: false (not gated)',
    );
    expect(suite.testcase[1]!['system-out']).toMatch(/^checked: the cluster converges after healing \(observed true\)\n/);
    const md = markdownSummary(r, '/runs/x');
    expect(md).toContain('| async | 100 | 1.0 | 5.0 | 400 | 106 | false | 0 | 1200 | pass: split-brain == 0 (lost, linearizable not gated) |');
    expect(md).toContain('- **async**: gate: split-brain writes == 0 ✓ — not gated: lost writes 106, linearizable false');
  });

  it('a negative control says what it had to find', () => {
    const gate = ['lostAcked > 0'];
    const base = results([{ ...run('control-loss', 1), control: true, gate, lostAcked: 57 }]);
    const r = { ...base, modes: base.modes.map((m) => ({ ...m, gate, control: true })) };
    const md = markdownSummary(r, '/runs/x');
    expect(md).toContain('| control-loss (negative control) |');
    expect(md).toContain('| pass: must find lost > 0 |');
    expect(md).toContain('- **control-loss**: control: must find lost writes (lost acknowledged writes > 0) ✓ found 57');
    const root = checkJunit(junitXml(r, '/runs/x'));
    expect(root.testsuite[0]!.testcase[0]!['system-out']).toContain('run: control: must find lost writes');
  });

  it('a pipe in a mode name or rule does not break the markdown table', () => {
    const base = results([run('a|b', 1)]);
    expect(markdownSummary(base, '/runs/x')).toContain('| a\\|b | 100 |');
    expect(markdownSummary(base, '/runs/x')).toContain('- **a\\|b**: gate:');
  });

  it('a passing gate: one testsuite per mode, a testcase per run and invariant, no failure', () => {
    const r = results([run('semi-sync', 1), run('sync', 1)]);
    const root = checkJunit(junitXml(r, '/runs/x'));
    expect(root.testsuite.map((s) => s.name)).toEqual(['ci<&>/semi-sync', 'ci<&>/sync']);
    expect(root.tests).toBe('6');
    expect(root.failures).toBe('0');
    const md = markdownSummary(r, '/runs/x');
    expect(md).toMatch(/^## replab: ci<&> — PASSED/);
    expect(md).toContain('| semi-sync | 100 | 1.0 | 5.0 | 400 | 0 | true | 0 | 1200 | pass: lost == 0, linearizable |');
    expect(md).toContain('- **semi-sync**: gate: lost acknowledged writes == 0 ✓ · linearizable ✓\n');
    expect(md).toContain('All invariants hold (2 runs) — only the ones listed above.');
  });

  it('a failing gate: the failure names mode, seed, invariant, observed value and run folder', () => {
    const r = results([run('semi-sync', 1), run('semi-sync', 2, [{ invariant: 'lostAcked == 0', metric: 'lostAcked', observed: 3 }])]);
    const text = junitXml(r, '/runs/x');
    const root = checkJunit(text);
    expect(root.failures).toBe('1');
    const failed = root.testsuite[0]!.testcase.find((c) => c.failure)!;
    expect(failed.name).toBe('seed 2: lostAcked == 0');
    expect((failed.failure as { message: string }).message).toBe('semi-sync seed 2: lostAcked == 0 failed (observed 3); run folder /runs/x/semi-sync-seed2');
    expect(failed['system-out']).toContain('checked: lost acknowledged writes == 0 (observed 3)');
    const md = markdownSummary(r, '/runs/x');
    expect(md).toMatch(/— FAILED/);
    expect(md).toContain('| **FAIL**: lost == 0 ✗, linearizable |');
    expect(md).toContain('- **semi-sync**: gate FAILED: lost acknowledged writes == 0 ✗ (1 of 2 seeds) · linearizable ✓');
    expect(md).toContain('- semi-sync seed 2: lostAcked == 0 (observed 3) — `/runs/x/semi-sync-seed2`');
  });
});
