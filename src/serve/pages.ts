/**
 * The pages of `replab serve`: the index of runs, the compare view and the trend view. Each is one
 * HTML document with inline CSS and charts rendered to SVG here (vega-lite, as the report does):
 * no script, nothing fetched from anywhere.
 */
import { esc, REPORT_CSS } from '../report/html.js';
import { renderSvg } from '../report/render.js';
import { compareResults, type MetricChange } from '../suite/compare.js';
import type { SuiteResults } from '../suite/results.js';
import { summarizeModes } from '../suite/summary.js';
import type { RunEntry } from './store.js';

const SERVE_CSS = `${REPORT_CSS}
td.worse{background:#fdecea;color:#8a0c16;font-weight:600}td.better{background:#e8f6f3;color:#1f6f64}
.incomplete{color:#8a5a00;font-weight:600}nav{margin-bottom:1rem}nav a{margin-right:1rem}
th a{color:inherit;text-decoration:none}th a:hover{text-decoration:underline}
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${SERVE_CSS}</style></head>
<body><nav><a href="/">all runs</a></nav>
${body}
</body></html>
`;
}

export function errorPage(status: number, message: string): string {
  return page(`replab serve: ${status}`, `<h1>${status}</h1><p>${esc(message)}</p>`);
}

interface IndexRow {
  name: string;
  suite: string;
  started: string;
  durationSec: number | null;
  verdict: 'passed' | 'FAILED' | 'incomplete';
  why: string;
  modes: string;
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
    modes: r ? r.modes.map((m) => m.name).join(', ') : '',
    lost,
    outageMs: modes.length ? Math.max(...modes.map((m) => m.outageMs)) : null,
    commit: r?.git ? `${r.git.commit.slice(0, 10)}${r.git.dirty ? '+' : ''}` : '',
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
  const body = rows
    .map((r) => {
      const complete = r.verdict !== 'incomplete';
      return `<tr data-run="${esc(r.name)}"${r.verdict === 'FAILED' ? ' class="bad"' : ''}>
<td>${complete ? `<input type="checkbox" name="run" value="${esc(r.name)}">` : ''}</td>
<td class="l"><a href="/runs/${encodeURIComponent(r.name)}/">${esc(r.name)}</a></td>
<td class="l">${r.suite ? `<a href="/trend?suite=${encodeURIComponent(r.suite)}">${esc(r.suite)}</a>` : ''}</td>
<td class="l">${esc(r.started)}</td><td>${r.durationSec ?? ''}</td>
<td class="l${complete ? '' : ' incomplete'}">${esc(r.verdict)}${r.why ? ` <span class="muted">(${esc(r.why)})</span>` : ''}</td>
<td class="l">${esc(r.modes)}</td><td>${r.lost ?? ''}</td><td>${r.outageMs ?? ''}</td><td class="l"><code>${esc(r.commit)}</code></td></tr>`;
    })
    .join('\n');
  return page(
    'replab: runs',
    `<h1>replab: runs</h1>
<p class="muted">${rows.length} run folder(s) in <code>${esc(root)}</code>. Tick two or more runs of one suite and compare them; a suite's name shows its trend.</p>
<form method="get" action="/compare">
<table><tr><th></th>${th('name', 'run', 'l')}${th('suite', 'suite', 'l')}${th('started', 'started', 'l')}${th('duration', 'duration s')}${th('verdict', 'verdict', 'l')}<th class="l">modes</th>${th('lost', 'lost (acked)')}${th('outage', 'longest outage ms')}<th class="l">commit</th></tr>
${body}</table>
<button type="submit">compare selected runs</button>
</form>`,
  );
}

/** Whether a change is for the worse, for the better, or neither (by the metric's direction). */
function direction(c: MetricChange): 'worse' | 'better' | '' {
  if (c.a === c.b || c.a === null || c.b === null) return '';
  if (c.metric === 'linearizable' || c.metric === 'passed') return c.b === true ? 'better' : 'worse';
  if (typeof c.a !== 'number' || typeof c.b !== 'number') return '';
  const higherIsBetter = c.metric === 'throughput';
  return c.b > c.a === higherIsBetter ? 'better' : 'worse';
}

const fmt = (v: unknown) =>
  typeof v === 'number' ? (Number.isInteger(v) || Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : v === null || v === undefined ? '–' : String(v);

/** A page and the HTTP status it is served with. */
export interface Page {
  status: number;
  html: string;
}

const failure = (status: number, message: string): Page => ({ status, html: errorPage(status, message) });
const ok = (html: string): Page => ({ status: 200, html });

export async function comparePage(runs: Array<{ name: string; results: SuiteResults }>): Promise<Page> {
  // The oldest run is the baseline: changes read forward in time.
  const [base, ...others] = [...runs].sort((a, b) => a.results.startedAt.localeCompare(b.results.startedAt));
  if (!base || others.length === 0) return failure(400, 'pick two or more runs to compare');
  const suites = [...new Set(runs.map((r) => r.results.suite))];
  if (suites.length > 1) return failure(400, `these runs are of different suites (${suites.join(', ')}); compare runs of one suite`);
  const comparisons = others.map((o) => compareResults(base.results, o.results));
  const notes = comparisons
    .filter((c) => c.machineDifference)
    .map((c, i) => `${esc(others[i]!.name)}: different machine than ${esc(base.name)} (${esc(c.machineDifference)})`);
  const sections = summarizeModes(base.results).map((m) => {
    const metrics = comparisons[0]?.modes.find((x) => x.mode === m.mode)?.changes.map((c) => c.metric) ?? [];
    const rows = metrics
      .map((metric) => {
        const cells = comparisons.map((c) => {
          const ch = c.modes.find((x) => x.mode === m.mode)?.changes.find((x) => x.metric === metric);
          if (!ch) return '<td>–</td>';
          const d = direction(ch);
          const pct = ch.changePct === null || ch.changePct === 0 ? '' : ` (${ch.changePct > 0 ? '+' : ''}${ch.changePct.toFixed(1)}%)`;
          return `<td${d ? ` class="${d}"` : ''}>${esc(fmt(ch.b))}${pct}</td>`;
        });
        const a = comparisons[0]?.modes.find((x) => x.mode === m.mode)?.changes.find((x) => x.metric === metric)?.a;
        return `<tr><td class="l">${esc(metric)}</td><td>${esc(fmt(a))}</td>${cells.join('')}</tr>`;
      })
      .join('\n');
    return `<h3>${esc(m.mode)}</h3><table><tr><th class="l">metric</th><th>${esc(base.name)} (baseline)</th>${others.map((o) => `<th>${esc(o.name)}</th>`).join('')}</tr>\n${rows}</table>`;
  });
  const points = runs.flatMap((r) => summarizeModes(r.results).map((m) => ({ run: r.name, mode: m.mode, throughput: m.throughput, p99: m.p99WriteMs ?? 0 })));
  const bar = (field: 'throughput' | 'p99', title: string) => ({
    width: 360,
    height: 200,
    title,
    data: { values: points },
    mark: 'bar',
    encoding: {
      x: { field: 'mode', type: 'nominal', title: null },
      xOffset: { field: 'run', type: 'nominal' },
      y: { field, type: 'quantitative', title },
      color: { field: 'run', type: 'nominal', legend: { orient: 'bottom', columns: 1 } },
    },
  });
  const svg = await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    hconcat: [bar('throughput', 'ops/s'), bar('p99', 'p99 write ms')],
  });
  return ok(
    page(
      `replab: compare ${base.results.suite}`,
      `<h1>Compare: ${esc(base.results.suite)}</h1>
<p class="muted">Baseline ${esc(base.name)}; each other run's figures with their change from it. Red: worse (slower, less throughput, more lost, longer outage, a verdict lost); green: better.</p>
${notes.map((n) => `<p class="incomplete">${n}</p>`).join('\n')}
<figure class="chart" data-chart="compare">${svg}</figure>
${sections.join('\n')}`,
    ),
  );
}

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
  const line = (field: string, title: string) => ({
    width: 460,
    height: 160,
    title,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'started', type: 'temporal', title: 'run started' },
      y: { field, type: 'quantitative', title },
      color: { field: 'mode', type: 'nominal' },
      tooltip: [{ field: 'run' }, { field: 'mode' }, { field }],
    },
  });
  const svg = await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: points },
    vconcat: [
      { hconcat: [line('throughput', 'ops/s'), line('p99', 'p99 write ms')] },
      { hconcat: [line('lost', 'acknowledged writes lost'), line('outage', 'longest outage ms')] },
    ],
  });
  const rows = runs
    .map(
      (r) =>
        `<tr><td class="l"><a href="/runs/${encodeURIComponent(r.name)}/">${esc(r.name)}</a></td><td class="l">${esc(r.results.startedAt)}</td><td class="l">${r.results.passed ? 'passed' : 'FAILED'}</td></tr>`,
    )
    .join('\n');
  return ok(
    page(
      `replab: trend of ${suite}`,
      `<h1>Trend: ${esc(suite)}</h1>
<p class="muted">${runs.length} finished run(s), oldest first; one line per mode (medians over each run's seeds; lost and outage: sum and longest).</p>
<figure class="chart" data-chart="trend">${svg}</figure>
<table><tr><th class="l">run</th><th class="l">started</th><th class="l">verdict</th></tr>
${rows}</table>`,
    ),
  );
}
