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

describe('CI outputs', () => {
  it('a passing gate: one testsuite per mode, a testcase per run and invariant, no failure', () => {
    const r = results([run('semi-sync', 1), run('sync', 1)]);
    const root = checkJunit(junitXml(r, '/runs/x'));
    expect(root.testsuite.map((s) => s.name)).toEqual(['ci<&>/semi-sync', 'ci<&>/sync']);
    expect(root.tests).toBe('6');
    expect(root.failures).toBe('0');
    const md = markdownSummary(r, '/runs/x');
    expect(md).toMatch(/^## replab: ci<&> — PASSED/);
    expect(md).toContain('| semi-sync | 100 | 1.0 | 5.0 | 400 | 0 | true | 0 | 1200 | pass |');
    expect(md).toContain('All invariants hold (2 runs).');
  });

  it('a failing gate: the failure names mode, seed, invariant, observed value and run folder', () => {
    const r = results([run('semi-sync', 1), run('semi-sync', 2, [{ invariant: 'lostAcked == 0', metric: 'lostAcked', observed: 3 }])]);
    const text = junitXml(r, '/runs/x');
    const root = checkJunit(text);
    expect(root.failures).toBe('1');
    const failed = root.testsuite[0]!.testcase.find((c) => c.failure)!;
    expect(failed.name).toBe('seed 2: lostAcked == 0');
    expect((failed.failure as { message: string }).message).toBe('semi-sync seed 2: lostAcked == 0 failed (observed 3); run folder /runs/x/semi-sync-seed2');
    const md = markdownSummary(r, '/runs/x');
    expect(md).toMatch(/— FAILED/);
    expect(md).toContain('- semi-sync seed 2: lostAcked == 0 (observed 3) — `/runs/x/semi-sync-seed2`');
  });
});
