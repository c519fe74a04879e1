/**
 * A metric the system cannot measure (split-brain writes on a system whose acknowledgements carry
 * no epoch, PostgreSQL's) reads "not measured" in every table: never 0, never "null". A mode with
 * no runs in these results (another shard's) shows no figures at all.
 */
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/report/html.js';
import { whatHappened } from '../../src/report/story.js';
import { markdownSummary } from '../../src/suite/ci-output.js';
import { compareResults, formatComparison } from '../../src/suite/compare.js';
import { parseResults } from '../../src/suite/results.js';
import { formatSummaryTable } from '../../src/suite/runner.js';
import { anomalyCounts, formatAnomalyCounts, noRunsText, summarizeModes } from '../../src/suite/summary.js';
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

describe('a mode with no runs in these results (another shard runs it)', () => {
  const shard = () => ({
    ...fakeResults([fakeRun('sync', 1, { passed: true })], undefined, {}),
    modes: fakeResults([fakeRun('async', 1), fakeRun('sync', 1)]).modes,
    shard: { index: 2, count: 3, pairs: 3 },
  });

  it('is not "linearizable: true" in the summary, and every table says no runs instead of figures', () => {
    const r = shard();
    const async = summarizeModes(r).find((m) => m.mode === 'async')!;
    expect([async.runs, async.linearizable]).toEqual([0, null]);
    const table = formatSummaryTable(r).split('\n');
    const row = table.find((l) => l.startsWith('async'))!;
    expect(row).toContain('no runs in this shard (2/3): another shard runs this mode');
    expect(row).not.toMatch(/\b0\b|true|not measured/);
    const md = markdownSummary(r, 'run')
      .split('\n')
      .find((l) => l.startsWith('| async'))!;
    expect(md).toBe('| async | – | – | – | – | – | – | – | – | no runs in this shard (2/3): another shard runs this mode |');
    // Not in a shard: just "no runs".
    expect(formatSummaryTable({ ...r, shard: undefined })).toMatch(/async .* no runs$/m);
  });
});

describe('the report for a shard, on a mode another shard runs', () => {
  it('tells no story and shows no figures for it', () => {
    const results = {
      ...fakeResults([fakeRun('sync', 1, { passed: true })]),
      modes: fakeResults([fakeRun('async', 1), fakeRun('sync', 1)]).modes,
      shard: { index: 2, count: 3, pairs: 3 },
    };
    const story = whatHappened(results.modes, results.runs, [], noRunsText(results));
    expect(story.find((s) => s.mode === 'async')!.text).toBe('async: no runs in this shard (2/3): another shard runs this mode.');
    const html = renderHtml({ results, runs: [], reads: [], story, runWallMs: null }, { headline: '', runs: [], anomalies: [] });
    const figures = html.slice(html.indexOf('id="mode-figures"'));
    const row = figures.slice(figures.indexOf('data-mode="async"'), figures.indexOf('</tr>', figures.indexOf('data-mode="async"')));
    expect(row).toContain('colspan="13">no runs in this shard (2/3): another shard runs this mode');
    expect(row).not.toMatch(/>true<|>0</);
  });
});
