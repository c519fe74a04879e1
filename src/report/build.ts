/** Builds report.html for a run folder from its files (`replab report RUN_DIR`, and at the end of `replab run`). */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { anomalyChart, headlineChart, runChart } from './charts.js';
import { loadReportData } from './data.js';
import { renderHtml } from './html.js';
import { renderSvg } from './render.js';

export const REPORT_FILE = 'report.html';

export async function buildReport(runDir: string): Promise<string> {
  const data = await loadReportData(runDir);
  const headline = await renderSvg(headlineChart(data.results.runs));
  const runs: string[] = [];
  const anomalies: string[][] = [];
  for (const run of data.runs) {
    runs.push(await renderSvg(runChart(run)));
    const a: string[] = [];
    for (const an of run.anomalies) a.push(an.ops.length ? await renderSvg(anomalyChart(an, run)) : '');
    anomalies.push(a);
  }
  const file = path.join(runDir, REPORT_FILE);
  await fsp.writeFile(file, renderHtml(data, { headline, runs, anomalies }));
  return file;
}
