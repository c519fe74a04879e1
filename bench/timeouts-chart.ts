/**
 * The timeout sweep's chart (src/report/charts.ts's timeoutSweepChart, rendered to SVG in Node as
 * the report renders its charts), for bench/timeouts-bench.ts's docs section.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/lib/paths.js';
import { type TimeoutSweepPoint, timeoutSweepChart } from '../src/report/charts.js';
import { renderSvg } from '../src/report/render.js';

/** Writes docs/img/timeouts-sweep.svg; returns its path relative to docs/ for the markdown. */
export async function writeSweepChart(rows: TimeoutSweepPoint[]): Promise<string> {
  const file = path.join(projectRoot(), 'docs', 'img', 'timeouts-sweep.svg');
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, await renderSvg(timeoutSweepChart(rows)));
  return 'img/timeouts-sweep.svg';
}
