/**
 * A failover reported by a system that gives no epoch or timings (Patroni's and Sentinel's logs,
 * a user's module) is listed with those cells empty ("–"), never "NaN".
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadReportData } from '../../src/report/data.js';
import { renderHtml } from '../../src/report/html.js';
import { runFolder, STARTUP_MS, SUITE_START_MS } from './run-folder.js';

let dir = '';
afterAll(() => fsp.rm(dir, { recursive: true, force: true }));

describe('failover figures a system did not give', () => {
  it('are null in the data and "–" in the table', async () => {
    ({ dir } = await runFolder());
    // The sync run's failover as Patroni's log tells it: a node and a time, nothing else.
    const zero = SUITE_START_MS + 31_000 + STARTUP_MS;
    await fsp.writeFile(
      path.join(dir, 'sync-seed1', 'events.jsonl'),
      `${JSON.stringify({ timeMs: zero + 3300, event: 'promoted', node: 'n3', by: 'patroni' })}\n`,
    );
    const data = await loadReportData(dir);
    const sync = data.runs.find((r) => r.result.mode === 'sync')!;
    expect(sync.failovers).toEqual([
      expect.objectContaining({ node: 'n3', epoch: null, detectionMs: null, promotionMs: null, unreachableMs: null, need: 'not known' }),
    ]);
    const html = renderHtml(data, { headline: '', runs: data.runs.map(() => ''), anomalies: data.runs.map(() => []) });
    expect(html).toMatch(/<td class="l">n3<\/td><td>–<\/td><td class="l">not known<\/td><td>not known<\/td><td>–<\/td><td>–<\/td>/);
    expect(html).not.toContain('NaN');
  });
});
