/** Builds report.html for a run folder from its files (`replab report RUN_DIR`, and at the end of `replab run`). */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { anomalyChart, headlineChart, readChart, runChart, seedsChart } from './charts.js';
import { lagUnitOf, loadReportData } from './data.js';
import { renderHtml } from './html.js';
import { renderSvg } from './render.js';

export const REPORT_FILE = 'report.html';

/** Above this many runs the report groups seeds per mode and details only the failed runs. */
export const GROUP_SEEDS_ABOVE = 10;
/** At most this many failed runs get their own section in a grouped report (the table lists all). */
const DETAILED_FAILURES = 10;

export async function buildReport(runDir: string): Promise<string> {
  const data = await loadReportData(runDir);
  const headline = await renderSvg(headlineChart(data.results.runs));
  // Only when some run has reads whose staleness was measured: no empty chart for a write-only suite.
  const measured = data.reads.filter((m) => m.stale.judged > 0);
  const reads = measured.length ? await renderSvg(readChart(measured)) : undefined;
  const grouped = data.runs.length > GROUP_SEEDS_ABOVE;
  if (grouped) data.runs = data.runs.filter((r) => !r.result.passed).slice(0, DETAILED_FAILURES);
  const seeds = grouped ? await renderSvg(seedsChart(data.results.runs)) : undefined;
  const runs: string[] = [];
  const anomalies: string[][] = [];
  for (const run of data.runs) {
    // The lag's unit is the system's (records, bytes, seconds).
    runs.push(await renderSvg(runChart(run, lagUnitOf(data.results, run.result.mode))));
    const a: string[] = [];
    for (const an of run.anomalies) a.push(an.ops.length ? await renderSvg(anomalyChart(an, run)) : '');
    anomalies.push(a);
  }
  const file = path.join(runDir, REPORT_FILE);
  await fsp.writeFile(file, renderHtml(data, { headline, reads, runs, anomalies, seeds }));
  return file;
}
