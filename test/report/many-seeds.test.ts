/**
 * Many seeds: the per-mode anomaly counts, and a report of more than ten runs grouped per mode
 * (one point per seed, spread and counts) with only the failed runs detailed.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build.js';
import { anomalyCounts } from '../../src/suite/summary.js';
import { fakeResults, fakeRun } from '../helpers/results.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

const seeds = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const results = fakeResults([
  ...seeds(12).map((s) =>
    fakeRun(
      'async',
      s,
      s % 4 === 0 ? { lostAcked: 10 * s, passed: false, violations: [{ invariant: 'lostAcked == 0', metric: 'lostAcked', observed: 10 * s }] } : {},
    ),
  ),
  ...seeds(12).map((s) => fakeRun('sync', s, s === 5 ? { linearizable: 'unknown' } : s === 7 ? { converged: false, passed: false } : {})),
]);

describe('many seeds', () => {
  it('counts the seeds that found each kind of anomaly, per mode', () => {
    expect(anomalyCounts(results)).toEqual([
      { mode: 'async', seeds: 12, lost: 3, splitBrain: 0, notLinearizable: 0, undecided: 0, staleReads: 0, lostWriteReads: 0, notConverged: 0, gateFailed: 3 },
      { mode: 'sync', seeds: 12, lost: 0, splitBrain: 0, notLinearizable: 0, undecided: 1, staleReads: 0, lostWriteReads: 0, notConverged: 1, gateFailed: 1 },
    ]);
  });

  it('a report of more than ten runs groups seeds per mode and details only the failed runs', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-many-seeds-'));
    dirs.push(dir);
    await fsp.writeFile(path.join(dir, 'results.json'), JSON.stringify(results));
    for (const r of results.runs) {
      await fsp.mkdir(path.join(dir, r.dir), { recursive: true });
      await fsp.writeFile(path.join(dir, r.dir, 'history.jsonl'), '');
    }
    const html = await fsp.readFile(await buildReport(dir), 'utf8');
    expect(html).toContain('<h2>Seeds per mode</h2>');
    expect(html).toContain('data-chart="seeds"');
    const sections = [...html.matchAll(/<section id="run-([\w-]+)-(\d+)">/g)].map((m) => `${m[1]}/${m[2]}`);
    expect(sections).toEqual(['async/4', 'async/8', 'async/12', 'sync/7']);
    // async: lost over seeds min / median / p90 / max, and 3 seeds with lost writes.
    expect(html).toMatch(/<td class="l">async<\/td><td>12<\/td><td>0 \/ 0 \/ 80 \/ 120<\/td><td>1000 \/ 1000 \/ 1000 \/ 1000<\/td><td>3<\/td>/);
    expect(html).toMatch(/<td class="l">sync<\/td><td>12<\/td>.*<td>0 \(\+1 undecided\)<\/td><td>0<\/td><td>0<\/td><td>1<\/td><td>1<\/td><\/tr>/);
  });
});
