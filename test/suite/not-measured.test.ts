/**
 * A metric the system cannot measure (split-brain writes on a system whose acknowledgements carry
 * no epoch, PostgreSQL's) reads "not measured" in every table: never 0, never "null".
 */
import { describe, expect, it } from 'vitest';
import { markdownSummary } from '../../src/suite/ci-output.js';
import { compareResults, formatComparison } from '../../src/suite/compare.js';
import { parseResults } from '../../src/suite/results.js';
import { formatSummaryTable } from '../../src/suite/runner.js';
import { anomalyCounts, formatAnomalyCounts, summarizeModes } from '../../src/suite/summary.js';
import { fakeResults, fakeRun } from '../helpers/results.js';

const unmeasured = () => fakeResults([fakeRun('pg', 1, { splitBrainWrites: null }), fakeRun('pg', 2, { splitBrainWrites: null })]);

describe('split-brain writes a system cannot measure', () => {
  it('stay null through results.json and the mode summary', () => {
    const r = parseResults(JSON.stringify(unmeasured()), 'results.json');
    expect(r.runs.map((x) => x.splitBrainWrites)).toEqual([null, null]);
    expect(summarizeModes(r)[0]!.splitBrainWrites).toBeNull();
    expect(anomalyCounts(r)[0]!.splitBrain).toBeNull();
  });

  it('read "not measured" in the terminal tables and the CI summary', () => {
    const r = unmeasured();
    for (const text of [formatSummaryTable(r), formatAnomalyCounts(anomalyCounts(r)), markdownSummary(r, 'run')]) {
      expect(text).toContain('not measured');
      expect(text).not.toContain('null');
    }
  });

  it('read "not measured" in compare when one side could not measure them', () => {
    const measured = fakeResults([fakeRun('pg', 1, { splitBrainWrites: 0 })]);
    const text = formatComparison(compareResults(measured, unmeasured()), { a: 'A', b: 'B' });
    expect(text).toMatch(/splitBrainWrites\s+0\s+not measured/);
  });

  it('still add up where a run measured them', () => {
    const r = fakeResults([fakeRun('m', 1, { splitBrainWrites: 2 }), fakeRun('m', 2, { splitBrainWrites: 1 })]);
    expect(summarizeModes(r)[0]!.splitBrainWrites).toBe(3);
    expect(anomalyCounts(r)[0]!.splitBrain).toBe(2);
  });
});
