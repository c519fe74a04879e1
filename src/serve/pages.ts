/**
 * The pages of `replab serve`: the index of runs, the compare view and the trend view. Each is one
 * HTML document with inline CSS and charts rendered to SVG here (vega-lite, as the report does):
 * no script, nothing fetched from anywhere.
 */
import { esc, REPORT_CSS } from '../report/html.js';
import { renderSvg } from '../report/render.js';
import { machineDifference } from '../suite/provenance.js';
import type { SuiteResults } from '../suite/results.js';
import { type ModeSummary, medianOf, summarizeModes } from '../suite/summary.js';
import type { RunEntry } from './store.js';

/** The icon: a leader and two followers. Served at /favicon.ico and inlined in every page's head. */
export const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2a9d8f"/>' +
  '<path d="M8 4.5 4 11.5M8 4.5l4 7" stroke="#fff" stroke-width="1.3"/><circle cx="8" cy="4.5" r="2.3" fill="#fff"/>' +
  '<circle cx="4" cy="11.5" r="1.9" fill="#fff"/><circle cx="12" cy="11.5" r="1.9" fill="#fff"/></svg>';

const SERVE_CSS = `${REPORT_CSS}
td.worse{background:#fdecea;color:#8a0c16;font-weight:600}td.better{background:#e8f6f3;color:#1f6f64}
.note{color:#8a5a00;font-weight:600}nav{margin-bottom:1rem}nav a{margin-right:1rem}
th a{color:inherit;text-decoration:none}th a:hover{text-decoration:underline}
.nw{white-space:nowrap}.scroll{overflow-x:auto}
td .verdict{font-size:11px;padding:.05rem .45rem;letter-spacing:.02em}.verdict.incomplete{background:#b7791f}
.why{display:block;white-space:normal;font-size:12px;color:#666;max-width:20em;margin-top:.15rem}
.swatch{display:inline-block;width:.75em;height:.75em;border-radius:2px;margin-right:.35em;vertical-align:-.05em}
th .sub{display:block;font-weight:400;color:#666;font-size:12px}h3{margin-bottom:.3rem}
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<link rel="icon" type="image/svg+xml" href="data:image/svg+xml,${encodeURIComponent(ICON_SVG)}">
<style>${SERVE_CSS}</style></head>
<body><nav><a href="/">all runs</a></nav>
${body}
</body></html>
`;
}

export function errorPage(status: number, message: string): string {
  return page(`replab serve: ${status}`, `<h1>${status}</h1><p>${esc(message)}</p>`);
}

/** The report's verdict badge, in the index's and trend's tables. */
function badge(verdict: 'passed' | 'FAILED' | 'incomplete'): string {
  const cls = verdict === 'passed' ? 'pass' : verdict === 'FAILED' ? 'fail' : 'incomplete';
  return `<span class="verdict ${cls}">${verdict.toUpperCase()}</span>`;
}

const MISSING = '<span class="muted">–</span>';

/** "2026-12-04T09:28:14.120Z" → "2026-12-04 09:28:14" (UTC; the headers say so). */
function utc(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(0, 19).replace('T', ' ');
}

/** Numbers as the report shows them: counts whole, figures under 100 with one decimal. */
function num(v: number): string {
  return Number.isInteger(v) || Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
}

const commitOf = (r: SuiteResults | undefined) => (r?.git ? `${r.git.commit.slice(0, 10)}${r.git.dirty ? '+' : ''}` : '');
const commitCell = (c: string) => (c ? `<code>${esc(c)}</code>` : MISSING);

interface IndexRow {
  name: string;
  suite: string;
  started: string;
  durationSec: number | null;
  verdict: 'passed' | 'FAILED' | 'incomplete';
  why: string;
  modes: string[];
  lost: number | null;
  outageMs: number | null;
  commit: string;
}

function indexRow(e: RunEntry): IndexRow {
  const r = e.results;
  const modes = r ? summarizeModes(r) : [];
  const lost = modes.some((m) => m.lostAcked !== null) ? modes.reduce((a, m) => a + (m.lostAcked ?? 0), 0) : null;
  return {
    name: e.name,
    suite: r?.suite ?? '',
    started: r?.startedAt ?? '',
    durationSec: r?.finishedAt ? Math.round((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000) : null,
    verdict: !e.complete ? 'incomplete' : r!.passed ? 'passed' : 'FAILED',
    why: e.complete ? '' : e.why,
    modes: r ? r.modes.map((m) => m.name) : [],
    lost,
    outageMs: modes.length ? Math.max(...modes.map((m) => m.outageMs)) : null,
    commit: commitOf(r),
  };
}

const SORT_KEYS = ['started', 'suite', 'duration', 'verdict', 'lost', 'outage', 'name'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export const isSortKey = (s: string): s is SortKey => (SORT_KEYS as readonly string[]).includes(s);

export function indexPage(entries: RunEntry[], root: string, sort: SortKey = 'started', order: 'asc' | 'desc' = 'desc'): string {
  const rows = entries.map(indexRow);
  const key = (r: IndexRow): string | number =>
    sort === 'suite'
      ? r.suite
      : sort === 'duration'
        ? (r.durationSec ?? -1)
        : sort === 'verdict'
          ? r.verdict
          : sort === 'lost'
            ? (r.lost ?? -1)
            : sort === 'outage'
              ? (r.outageMs ?? -1)
              : sort === 'name'
                ? r.name
                : r.started;
  // Folders without the sorted figure (damaged, unfinished) go last in either order, by name.
  const missing = (r: IndexRow) => r.verdict === 'incomplete' && (sort === 'started' ? !r.started : sort !== 'name' && sort !== 'verdict');
  rows.sort((a, b) => {
    if (missing(a) !== missing(b)) return missing(a) ? 1 : -1;
    if (missing(a)) return a.name < b.name ? -1 : 1;
    const ka = key(a);
    const kb = key(b);
    const c = ka < kb ? -1 : ka > kb ? 1 : a.name < b.name ? -1 : 1;
    return order === 'asc' ? c : -c;
  });
  const th = (k: SortKey, label: string, cls = '') => {
    const next = sort === k && order === 'desc' ? 'asc' : 'desc';
    const mark = sort === k ? (order === 'desc' ? ' ▼' : ' ▲') : '';
    return `<th${cls ? ` class="${cls}"` : ''}><a href="/?sort=${k}&amp;order=${next}">${esc(label)}${mark}</a></th>`;
  };
  const orDash = (v: number | null) => (v === null ? MISSING : num(Math.round(v)));
  // Names, times and modes never break inside (a run folder's name is full of hyphens); a row
  // wraps between modes, and a narrow window scrolls the table rather than split a name.
  const body = rows
    .map((r) => {
      const complete = r.verdict !== 'incomplete';
      return `<tr data-run="${esc(r.name)}"${r.verdict === 'FAILED' ? ' class="bad"' : ''}>
<td>${complete ? `<input type="checkbox" name="run" value="${esc(r.name)}" aria-label="${esc(r.name)}">` : ''}</td>
<td class="l nw"><a href="/runs/${encodeURIComponent(r.name)}/">${esc(r.name)}</a></td>
<td class="l nw">${r.suite ? `<a href="/trend?suite=${encodeURIComponent(r.suite)}">${esc(r.suite)}</a>` : MISSING}</td>
<td class="l nw">${r.started ? esc(utc(r.started)) : MISSING}</td><td>${orDash(r.durationSec)}</td>
<td class="l nw">${badge(r.verdict)}${r.why ? `<span class="why">${esc(r.why)}</span>` : ''}</td>
<td class="l">${r.modes.length ? r.modes.map((m) => `<span class="nw">${esc(m)}</span>`).join(', ') : MISSING}</td><td>${orDash(r.lost)}</td><td>${orDash(r.outageMs)}</td><td class="l nw">${commitCell(r.commit)}</td></tr>`;
    })
    .join('\n');
  return page(
    'replab: runs',
    `<h1>replab: runs</h1>
<p class="muted">${rows.length} run folder(s) in <code>${esc(root)}</code>. Tick two or more runs of one suite and compare them; a suite's name shows its trend.</p>
<form method="get" action="/compare">
<div class="scroll"><table><tr><th></th>${th('name', 'run', 'l')}${th('suite', 'suite', 'l')}${th('started', 'started (UTC)', 'l')}${th('duration', 'duration (s)')}${th('verdict', 'verdict', 'l')}<th class="l">modes</th>${th('lost', 'acked writes lost')}${th('outage', 'longest outage (ms)')}<th class="l">commit</th></tr>
${body}</table></div>
<button type="submit">compare selected runs</button>
</form>`,
  );
}

/** A page and the HTTP status it is served with. */
export interface Page {
  status: number;
  html: string;
}

const failure = (status: number, message: string): Page => ({ status, html: errorPage(status, message) });
const ok = (html: string): Page => ({ status: 200, html });

/** A mode's figures in one run: the write side (over seeds, as everywhere) and the read side. */
interface ModeFigures extends ModeSummary {
  /** null when no run of the mode measured it (no reads, or results written before it was). */
  followerReadShare: number | null;
  readP50Ms: number | null;
  readP99Ms: number | null;
  sessionViolations: number | null;
}

function modeFigures(results: SuiteResults): ModeFigures[] {
  return summarizeModes(results).map((m) => {
    const rs = results.runs.filter((r) => r.mode === m.mode);
    const sessions = rs.map((r) => r.sessionViolations).filter((v): v is number => v !== null);
    return {
      ...m,
      followerReadShare: medianOf(rs.map((r) => r.followerReadShare)),
      readP50Ms: medianOf(rs.map((r) => r.readP50Ms)),
      readP99Ms: medianOf(rs.map((r) => r.readP99Ms)),
      sessionViolations: sessions.length ? sessions.reduce((a, v) => a + v, 0) : null,
    };
  });
}

/** One line of a compare table: what it is in words and units, and which way is better. */
interface Metric {
  label: string;
  value: (m: ModeFigures) => number | boolean | string | null;
  /** 'none': a change is neither better nor worse (how much the followers serve is a choice). */
  better: 'higher' | 'lower' | 'true' | 'none';
  show?: (v: number | boolean | string) => string;
  /** A read-side figure: its lines appear only where some run measured reads. */
  reads?: true;
}

const yesNo = (v: number | boolean | string) => (v === true ? 'yes' : v === false ? 'no' : v === 'unknown' ? 'undecided' : String(v));

const METRICS: Metric[] = [
  { label: 'throughput (ops/s)', value: (m) => m.throughput, better: 'higher' },
  { label: 'p50 write latency (ms)', value: (m) => m.p50WriteMs, better: 'lower' },
  { label: 'p99 write latency (ms)', value: (m) => m.p99WriteMs, better: 'lower' },
  { label: 'p99.9 write latency (ms)', value: (m) => m.p999WriteMs, better: 'lower' },
  { label: 'acknowledged writes lost', value: (m) => m.lostAcked, better: 'lower' },
  { label: 'split-brain writes', value: (m) => m.splitBrainWrites ?? 'not measured', better: 'lower' },
  { label: 'longest outage (ms)', value: (m) => m.outageMs, better: 'lower' },
  { label: 'linearizable', value: (m) => m.linearizable, better: 'true', show: yesNo },
  { label: 'gate', value: (m) => m.passed, better: 'true', show: (v) => (v ? 'passed' : 'FAILED') },
  { label: 'reads served by followers', value: (m) => m.followerReadShare, better: 'none', show: (v) => `${Math.round(Number(v) * 100)}%`, reads: true },
  { label: 'p50 read latency (ms)', value: (m) => m.readP50Ms, better: 'lower', reads: true },
  { label: 'p99 read latency (ms)', value: (m) => m.readP99Ms, better: 'lower', reads: true },
  { label: 'stale reads', value: (m) => m.staleReads, better: 'lower', reads: true },
  { label: 'stalest read (ms behind)', value: (m) => m.maxStaleMs, better: 'lower', reads: true },
  { label: 'session guarantee violations', value: (m) => m.sessionViolations, better: 'lower', reads: true },
];

/** Whether B's value is worse, better or neither than the baseline's, by the metric's direction. */
function direction(metric: Metric, a: unknown, b: unknown): 'worse' | 'better' | '' {
  if (a === b || a === null || b === null || metric.better === 'none') return '';
  if (metric.better === 'true') return b === true ? 'better' : a === true ? 'worse' : '';
  if (typeof a !== 'number' || typeof b !== 'number') return '';
  return b > a === (metric.better === 'higher') ? 'better' : 'worse';
}

/** A, B, … Z, then R27, R28…: short enough for a legend, and never two alike. */
const letter = (i: number) => (i < 26 ? String.fromCharCode(65 + i) : `R${i + 1}`);

/** vega-lite's default palette (tableau10), named here so the key's swatches match the bars. */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

/** A round number a little above `max`, so the tallest bar or point stays clear of the frame. */
function headroom(max: number): number {
  if (!(max > 0)) return 1;
  const want = max * 1.08;
  const step = 10 ** Math.floor(Math.log10(want));
  return [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((f) => f * step).find((v) => v >= want)!;
}

/** Fonts close to the page's, no x gridlines, faint y gridlines. */
const CHART_CONFIG = {
  font: 'system-ui, sans-serif',
  view: { stroke: '#ddd' },
  title: { fontSize: 13, fontWeight: 600, anchor: 'start', offset: 8 },
  axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 400, titleColor: '#555', domainColor: '#999', tickColor: '#999' },
  axisX: { grid: false },
  axisY: { gridColor: '#eee', tickCount: 4 },
  legend: { labelFontSize: 12, titleFontSize: 12 },
};

export async function comparePage(runs: Array<{ name: string; results: SuiteResults }>): Promise<Page> {
  // The oldest run is the baseline: changes read forward in time.
  const sorted = [...runs].sort((a, b) => a.results.startedAt.localeCompare(b.results.startedAt));
  const [base, ...others] = sorted;
  if (!base || others.length === 0) return failure(400, 'pick two or more runs to compare');
  const suites = [...new Set(runs.map((r) => r.results.suite))];
  if (suites.length > 1) return failure(400, `these runs are of different suites (${suites.join(', ')}); compare runs of one suite`);

  // Run folders are named by their start time and share a long prefix; letters tell them apart
  // in the legend and the tables, and the key under the chart says which folder each is.
  const key = sorted.map((r, i) => ({
    ...r,
    letter: letter(i),
    label: `${letter(i)}  ${utc(r.results.startedAt).slice(5)}`,
    color: PALETTE[i % PALETTE.length]!,
    figures: modeFigures(r.results),
  }));
  const modes = [...new Set(key.flatMap((r) => r.figures.map((m) => m.mode)))];
  const notes = others
    .map((o, i) => ({ o, i, diff: o.results.machine || base.results.machine ? machineDifference(base.results.machine, o.results.machine) : '' }))
    .filter((x) => x.diff)
    .map((x) => `${key[x.i + 1]!.letter} ran on a different machine than A (${esc(x.diff)}): throughput and latency differences may be the machines'`);
  const partial = modes.filter((m) => key.some((r) => !r.figures.some((f) => f.mode === m)));
  if (partial.length) notes.push(`Not every run ran ${partial.map(esc).join(', ')}: – where one did not.`);

  const points = key.flatMap((r) =>
    r.figures.map((m) => ({ run: r.label, mode: m.mode, throughput: m.throughput, p99: m.p99WriteMs, lost: m.lostAcked, outage: m.outageMs })),
  );
  // Wide enough that every mode's name fits flat under its group of bars (7.5 px a character
  // is generous at 11 px), two charts a row while that fits the page.
  const group = Math.max(key.length * 18 + 30, ...modes.map((m) => m.length * 7.5 + 24));
  const width = Math.round(Math.max(400, modes.length * group));
  const bar = (field: 'throughput' | 'p99' | 'lost' | 'outage', title: string, integer = false) => ({
    width,
    height: 170,
    title,
    encoding: {
      x: {
        field: 'mode',
        type: 'nominal',
        title: null,
        sort: modes,
        scale: { paddingInner: 0.3, paddingOuter: 0.25 },
        axis: { labelAngle: 0, labelLimit: 400, ticks: false },
      },
      xOffset: { field: 'run', type: 'nominal', sort: key.map((r) => r.label), scale: { paddingInner: 0.08 } },
      y: valueAxis(field, points, integer),
      color: {
        field: 'run',
        type: 'nominal',
        scale: { domain: key.map((r) => r.label), range: key.map((r) => r.color) },
        legend: { title: null, orient: 'top', direction: 'horizontal', labelLimit: 400, symbolType: 'square' },
      },
    },
    // Counts are written on their bars: a run that lost nothing has no bar, and "0" says it was
    // measured, where no label means it was not.
    layer: [{ mark: { type: 'bar' } }, ...(integer ? [{ mark: { type: 'text', dy: -6, fontSize: 10, color: '#333' }, encoding: { text: { field } } }] : [])],
  });
  const charts = [
    bar('throughput', 'throughput (ops/s)'),
    bar('p99', 'p99 write latency (ms)'),
    bar('lost', 'acknowledged writes lost', true),
    bar('outage', 'longest outage (ms)'),
  ];
  // Two charts a row while two fit the page's width, else one under the other.
  const svg = await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: points },
    config: CHART_CONFIG,
    ...(width <= 470 ? { vconcat: [{ hconcat: charts.slice(0, 2) }, { hconcat: charts.slice(2) }] } : { vconcat: charts }),
  });

  const keyTable = `<div class="scroll"><table><tr><th class="l">run</th><th class="l">folder</th><th class="l">started (UTC)</th><th class="l">commit</th><th class="l">verdict</th></tr>
${key
  .map(
    (r) =>
      `<tr><td class="l nw"><span class="swatch" style="background:${r.color}"></span><b>${r.letter}</b>${r === key[0] ? ' <span class="muted">(baseline)</span>' : ''}</td><td class="l nw"><a href="/runs/${encodeURIComponent(r.name)}/">${esc(r.name)}</a></td><td class="l nw">${esc(utc(r.results.startedAt))}</td><td class="l nw">${commitCell(commitOf(r.results))}</td><td class="l">${badge(r.results.passed ? 'passed' : 'FAILED')}</td></tr>`,
  )
  .join('\n')}</table></div>`;

  const head = key
    .map(
      (r) =>
        `<th class="nw"><span class="swatch" style="background:${r.color}"></span>${r.letter}<span class="sub">${esc(utc(r.results.startedAt).slice(5))}</span></th>`,
    )
    .join('');
  const sections = modes.map((mode) => {
    const figures = key.map((r) => r.figures.find((f) => f.mode === mode));
    const measuredReads = figures.some((f) => f && (f.followerReadShare !== null || f.readP99Ms !== null));
    const rows = METRICS.filter((metric) => !metric.reads || measuredReads)
      .map((metric) => {
        const values = figures.map((f) => (f ? metric.value(f) : null));
        const a = values[0] ?? null;
        const cells = values.map((v, i) => {
          if (v === null) return `<td>${MISSING}</td>`;
          const shown = metric.show ? metric.show(v) : typeof v === 'number' ? num(v) : String(v);
          if (i === 0) return `<td>${esc(shown)}</td>`;
          const d = direction(metric, a, v);
          const pct =
            metric.better !== 'none' && typeof a === 'number' && typeof v === 'number' && a !== 0 && v !== a
              ? ` (${v > a ? '+' : ''}${(((v - a) / Math.abs(a)) * 100).toFixed(1)}%)`
              : '';
          return `<td${d ? ` class="${d}"` : ''}>${esc(shown)}${pct}</td>`;
        });
        return `<tr><td class="l nw">${esc(metric.label)}</td>${cells.join('')}</tr>`;
      })
      .join('\n');
    return `<h3>${esc(mode)}</h3><div class="scroll"><table><tr><th class="l">per mode, medians over seeds</th>${head}</tr>\n${rows}</table></div>`;
  });
  return ok(
    page(
      `replab: compare ${base.results.suite}`,
      `<h1>Compare: ${esc(base.results.suite)}</h1>
<p class="muted">${key.length} runs, oldest first; A is the baseline and every other run's figures carry their change from it. Red: worse (slower, less throughput, more lost, longer outage, a verdict lost); green: better.</p>
${notes.map((n) => `<p class="note">${n}</p>`).join('\n')}
<figure class="chart" data-chart="compare">${svg}</figure>
${keyTable}
${sections.join('\n')}`,
    ),
  );
}

/** Marker shapes and dashes per mode, so lines that coincide still show every mode. */
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'triangle-down', 'cross'];
const DASHES = [
  [1, 0],
  [6, 3],
  [2, 2],
  [8, 3, 2, 3],
  [4, 4],
  [10, 2],
];

export async function trendPage(suite: string, entries: RunEntry[]): Promise<Page> {
  const runs = entries
    .filter((e): e is Extract<RunEntry, { complete: true }> => e.complete && e.results.suite === suite)
    .sort((a, b) => a.results.startedAt.localeCompare(b.results.startedAt));
  if (runs.length === 0) return failure(404, `no finished run of suite "${suite}"`);
  const points = runs.flatMap((r) =>
    summarizeModes(r.results).map((m) => ({
      run: r.name,
      started: r.results.startedAt,
      mode: m.mode,
      throughput: m.throughput,
      p99: m.p99WriteMs,
      lost: m.lostAcked,
      outage: m.outageMs,
    })),
  );
  const modes = [...new Set(points.map((p) => p.mode))];
  // Ticks at the runs themselves, labelled by the time of day when they all ran on one day.
  const times = runs.map((r) => Date.parse(r.results.startedAt)).filter((t) => !Number.isNaN(t));
  const oneDay = new Set(times.map((t) => new Date(t).toISOString().slice(0, 10))).size <= 1;
  const format = oneDay ? '%H:%M:%S' : '%m-%d %H:%M';
  const xTitle = oneDay && times.length ? `run started, ${new Date(times[0]!).toISOString().slice(0, 10)} (UTC)` : 'run started (UTC)';
  const byMode = (range: unknown[]) => ({ domain: modes, range: modes.map((_, i) => range[i % range.length]) });
  const line = (field: 'throughput' | 'p99' | 'lost' | 'outage', title: string, integer = false) => ({
    width: 440,
    height: 160,
    title,
    // One layer per mode, each a few pixels to the side: equal values of two modes sit next to
    // each other, not on top; the dash and marker shape tell the lines apart where they coincide.
    layer: modes.map((mode, i) => {
      const dx = (i - (modes.length - 1) / 2) * 5;
      return {
        transform: [{ filter: { field: 'mode', equal: mode } }],
        mark: { type: 'line', xOffset: dx, strokeWidth: 1.6, point: { xOffset: dx, filled: true, size: 55, stroke: '#fff', strokeWidth: 0.8 } },
        encoding: {
          x: {
            field: 'started',
            type: 'temporal',
            title: xTitle,
            scale: { type: 'utc', padding: 16 },
            axis: { values: times, labelExpr: `utcFormat(datum.value, '${format}')`, labelAngle: 0, labelOverlap: 'greedy' },
          },
          y: valueAxis(field, points, integer),
          color: {
            field: 'mode',
            type: 'nominal',
            scale: { domain: modes },
            legend: { title: 'mode', orient: 'top', direction: 'horizontal', symbolStrokeWidth: 0 },
          },
          shape: { field: 'mode', type: 'nominal', scale: byMode(SHAPES) },
          strokeDash: { field: 'mode', type: 'nominal', scale: byMode(DASHES), legend: null },
        },
      };
    }),
  });
  const svg = await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: points },
    config: CHART_CONFIG,
    vconcat: [
      { hconcat: [line('throughput', 'throughput (ops/s)'), line('p99', 'p99 write latency (ms)')] },
      { hconcat: [line('lost', 'acknowledged writes lost', true), line('outage', 'longest outage (ms)')] },
    ],
  });
  const rows = runs
    .map(
      (r) =>
        `<tr><td class="l nw"><a href="/runs/${encodeURIComponent(r.name)}/">${esc(r.name)}</a></td><td class="l nw">${esc(utc(r.results.startedAt))}</td><td class="l nw">${commitCell(commitOf(r.results))}</td><td class="l">${badge(r.results.passed ? 'passed' : 'FAILED')}</td></tr>`,
    )
    .join('\n');
  return ok(
    page(
      `replab: trend of ${suite}`,
      `<h1>Trend: ${esc(suite)}</h1>
<p class="muted">${runs.length} finished run(s), oldest first; one line per mode (medians over each run's seeds; lost and outage: sum and longest). Modes are drawn a few pixels apart so equal values stay visible.</p>
<figure class="chart" data-chart="trend">${svg}</figure>
<div class="scroll"><table><tr><th class="l">run</th><th class="l">started (UTC)</th><th class="l">commit</th><th class="l">verdict</th></tr>
${rows}</table></div>`,
    ),
  );
}

/** The y encoding both charts share: from 0 to a little above the largest value, whole numbers for counts. */
function valueAxis(field: string, points: Array<Record<string, unknown>>, integer: boolean): Record<string, unknown> {
  const max = Math.max(
    0,
    ...points.map((p) => {
      const v = p[field];
      return typeof v === 'number' ? v : 0;
    }),
  );
  return {
    field,
    type: 'quantitative',
    title: null,
    scale: { domain: [0, headroom(max)], nice: false },
    axis: integer ? { tickMinStep: 1, format: 'd' } : {},
  };
}
