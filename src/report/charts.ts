/**
 * The report's vega-lite specs. Pure data → spec functions; render.ts turns them into SVG.
 */

import type { RunResult } from '../suite/results.js';
import type { Anomaly, FailoverNeed, ModeReads, RunData } from './model.js';

type Spec = Record<string, unknown>;

const FAULT_COLOR = '#f4a261';
/** Reads of lost writes on a run's timeline. */
const LOST_READ_COLOR = '#7b2cbf';
/** The narrowest an op's bar is drawn on an anomaly timeline (px). */
const MIN_BAR_PX = 4;

/**
 * A linear axis from zero for points of up to `radiusPx`: ticks at a 1-2-5 step up to the largest
 * value, and the domain widened by the radius at both ends (in data units), so a point at zero or
 * at the maximum is drawn whole inside the plot, clear of the axis labels.
 */
export function paddedAxis(max: number, sizePx: number, radiusPx: number): { domain: [number, number]; ticks: number[] } {
  const step = niceStep(Math.max(max, 1e-9), 5, false);
  const top = Math.max(step, Math.ceil(max / step - 1e-9) * step);
  const ticks: number[] = [];
  for (let i = 0; i * step <= top + step / 2; i++) ticks.push(Number((i * step).toPrecision(6)));
  const perPx = top / Math.max(1, sizePx - 2 * radiusPx);
  return { domain: [-radiusPx * perPx, top + radiusPx * perPx], ticks };
}

/** Latency against durability: one point per run, p50 and p99 side by side. */
export function headlineChart(runs: RunResult[]): Spec {
  const values = runs.map((r) => ({
    mode: r.mode,
    seed: r.seed,
    p50: r.p50WriteMs ?? 0,
    p99: r.p99WriteMs ?? 0,
    lostPer1000: r.acked > 0 && r.lostAcked !== null ? Math.round((10_000 * r.lostAcked) / r.acked) / 10 : 0,
    lost: r.lostAcked ?? 0,
    acked: r.acked,
    unavailable: Math.round((r.failedShare + r.indeterminateShare) * 1000) / 10,
    control: r.control,
  }));
  const width = 300;
  const height = 240;
  const sizes = [40, 500];
  // The largest point's radius, plus its outline.
  const radius = Math.sqrt(sizes[1]! / Math.PI) + 2;
  const y = paddedAxis(Math.max(1, ...values.map((v) => v.lostPer1000)), height, radius);
  const controls = [...new Set(values.filter((v) => v.control).map((v) => v.mode))];
  const modeLabel = controls.length
    ? `indexof(${JSON.stringify(controls)}, datum.label) >= 0 ? datum.label + ' (negative control)' : datum.label`
    : 'datum.label';
  const panel = (q: 'p50' | 'p99') => {
    const x = paddedAxis(Math.max(1, ...values.map((v) => v[q])), width, radius);
    return {
      width,
      height,
      mark: { type: 'point', filled: true, opacity: 0.85 },
      encoding: {
        x: {
          field: q,
          type: 'quantitative',
          title: `${q} acknowledged-write latency (ms)`,
          scale: { domain: x.domain, nice: false, zero: false },
          axis: { values: x.ticks, format: '~r' },
        },
        y: {
          field: 'lostPer1000',
          type: 'quantitative',
          title: 'acknowledged writes lost per 1,000',
          scale: { domain: y.domain, nice: false, zero: false },
          axis: { values: y.ticks, format: '~r' },
        },
        color: { field: 'mode', type: 'nominal', title: 'mode', legend: { labelExpr: modeLabel, labelLimit: 260 } },
        size: {
          field: 'unavailable',
          type: 'quantitative',
          title: 'ops failed or indeterminate',
          scale: { domain: [0, Math.max(1, ...values.map((v) => v.unavailable))], range: sizes, zero: true },
          legend: { format: '~r', labelExpr: "datum.label + '%'", titleLimit: 300, symbolFillColor: '#888', symbolStrokeColor: '#888' },
        },
        // Negative controls as diamonds; the colour legend names them, so no legend of its own.
        shape: { field: 'control', type: 'nominal', scale: { domain: [false, true], range: ['circle', 'diamond'] }, legend: null },
        tooltip: [
          { field: 'mode' },
          { field: 'seed' },
          { field: 'p50', format: '.2f' },
          { field: 'p99', format: '.2f' },
          { field: 'lost', title: 'lost' },
          { field: 'acked', title: 'acknowledged' },
          { field: 'lostPer1000', title: 'lost per 1,000' },
          { field: 'unavailable', title: 'ops failed or indeterminate (%)' },
        ],
      },
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Latency against durability',
      subtitle: `one point per run${controls.length ? ' (diamond: a negative control)' : ''}; point size: the share of ops that failed or ended indeterminate`,
    },
    data: { values },
    hconcat: [panel('p50'), panel('p99')],
    resolve: { scale: { x: 'independent' } },
  };
}

/** A run's faults and write outages shaded and its failover events as dashed lines, clamped to the chart's time domain (seconds). */
function faultLayer(run: Pick<RunData, 'faults' | 'outage' | 'outages' | 'events'>, domain: [number, number]): Spec[] {
  const layers: Spec[] = [];
  const x = (field: string) => ({ field, type: 'quantitative', scale: { domain, nice: false, zero: false } });
  const clamp = <T extends { from: number; to: number }>(xs: T[]) =>
    xs.filter((w) => w.to >= domain[0] && w.from <= domain[1]).map((w) => ({ ...w, from: Math.max(w.from, domain[0]), to: Math.min(w.to, domain[1]) }));
  const faults = clamp(run.faults);
  if (faults.length) {
    layers.push({
      data: { values: faults.map((f) => ({ ...f, label: `${f.fault} ${f.detail}` })) },
      mark: { type: 'rect', color: FAULT_COLOR, opacity: 0.25 },
      encoding: { x: x('from'), x2: { field: 'to' }, tooltip: [{ field: 'label', title: 'fault' }] },
    });
  }
  const outages = clamp([
    ...(run.outage ? [{ ...run.outage, node: 'longest outage' }] : []),
    ...run.outages.map((o) => ({ ...o, node: `failover to ${o.node}` })),
  ]);
  if (outages.length) {
    layers.push({
      data: { values: outages },
      mark: { type: 'rect', color: '#e63946', opacity: 0.15 },
      encoding: { x: x('from'), x2: { field: 'to' }, tooltip: [{ field: 'node', title: 'write outage' }] },
    });
  }
  const events = run.events.filter((e) => e.event !== 'repointed' && e.t >= domain[0] && e.t <= domain[1]);
  if (events.length) {
    layers.push({
      data: { values: events },
      mark: { type: 'rule', color: '#6a040f', strokeDash: [4, 3] },
      encoding: { x: x('t'), tooltip: [{ field: 'event' }, { field: 'detail' }] },
    });
  }
  return layers;
}

const NEED_COLOR: Record<FailoverNeed, string> = { needed: '#6a040f', needless: '#d62828', 'not known': '#6c757d' };

/**
 * Each promotion named at the top of the first chart, beside its dashed line: "needed",
 * "needless" or "need not known", so a needless failover stands out without the table.
 */
function failoverLabels(run: Pick<RunData, 'failovers'>, domain: [number, number]): Spec[] {
  const values = run.failovers
    .filter((f) => f.at >= domain[0] && f.at <= domain[1])
    .map((f) => ({
      t: f.at,
      label: f.need === 'not known' ? 'need not known' : f.need,
      need: f.need,
      why: f.why,
      unreachable: f.unreachableMs === null ? 'not known' : `${f.unreachableMs} ms`,
    }));
  if (!values.length) return [];
  return [
    {
      data: { values },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 10, y: 0 },
      encoding: {
        x: { field: 't', type: 'quantitative', scale: { domain, nice: false, zero: false } },
        text: { field: 'label' },
        // Fixed colours by condition, not a scale: a scale would add a legend to the run's column of legends.
        color: {
          condition: [
            { test: "datum.need === 'needless'", value: NEED_COLOR.needless },
            { test: "datum.need === 'needed'", value: NEED_COLOR.needed },
          ],
          value: NEED_COLOR['not known'],
        },
        tooltip: [{ field: 'label', title: 'failover' }, { field: 'unreachable', title: 'leader unreachable' }, { field: 'why' }],
      },
    },
  ];
}

/** Tick mantissas on a log axis, sparse to dense: the denser ones only where the sparse leave too few. */
const LOG_STEPS = [
  [1, 2, 5],
  [1, 1.5, 2, 3, 5, 7],
  [1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8],
] as const;

/** The values of `mantissas` × powers of ten within [lo, hi]. */
function logTicks(lo: number, hi: number, mantissas: readonly number[]): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of mantissas) {
      const v = Number((m * 10 ** e).toPrecision(6));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  return out;
}

/**
 * A log axis for latencies (ms), and the chart height that keeps its labels apart. The domain runs
 * from the 1-2-5 value at or below the smallest value to the one at or above the largest, with
 * ticks at 1, 2, 5, 10, 20, 50 …. Between `focus` (the run's p50 and p99, where a reader looks)
 * denser ticks (1, 1.5, 2, 3, 5, 7 …, then 1, 1.5, 2, 2.5, 3, 4 …) are added when the plain ones
 * leave fewer than three there; the height then grows (from `minHeight`, up to `maxHeight`) until
 * neighbouring labels are `gapPx` apart, so vega drops none of them as overlapping.
 */
export function latencyAxis(
  values: number[],
  focus: [number, number] | null,
  { minHeight = 180, maxHeight = 400, gapPx = 13 } = {},
): { domain: [number, number]; ticks: number[]; height: number } {
  const pos = values.filter((v) => v > 0);
  const lo0 = Math.max(0.01, Math.min(...pos, focus?.[0] ?? Number.POSITIVE_INFINITY));
  const hi0 = Math.max(lo0 * 2, ...pos, focus?.[1] ?? 0);
  const steps = logTicks(lo0 / 10, hi0 * 10, LOG_STEPS[0]);
  const domain: [number, number] = [steps.filter((v) => v <= lo0).at(-1) ?? lo0, steps.find((v) => v >= hi0) ?? hi0];
  let ticks = logTicks(domain[0], domain[1], LOG_STEPS[0]);
  if (focus) {
    const inFocus = (v: number) => v >= focus[0] && v <= focus[1];
    for (const level of LOG_STEPS.slice(1)) {
      if (ticks.filter(inFocus).length >= 3) break;
      ticks = [...new Set([...ticks, ...logTicks(domain[0], domain[1], level).filter(inFocus)])].sort((a, b) => a - b);
    }
  }
  const decades = Math.log10(domain[1] / domain[0]);
  const closest = Math.min(1, ...ticks.slice(1).map((v, i) => Math.log10(v / ticks[i]!)));
  const height = Math.round(Math.min(maxHeight, Math.max(minHeight, (gapPx / closest) * decades)));
  return { domain, ticks, height };
}

/** Per run: write latency quantiles, throughput and replication lag over time, faults shaded, on one time axis. */
/** A run's timeline; `lagUnit` names the lag panel's unit (null: the system gives no lag amount). */
export function runChart(run: RunData, lagUnit: string | null = 'records'): Spec {
  const domain = run.timeDomain;
  const x = { field: 't', type: 'quantitative', title: 'seconds since start', scale: { domain, nice: false, zero: false }, axis: { format: '~r' } };
  const width = 640;
  const r = run.result;
  const focus: [number, number] | null = r.p50WriteMs !== null && r.p99WriteMs !== null ? [r.p50WriteMs, r.p99WriteMs] : null;
  const lat = latencyAxis(
    run.latency.flatMap((p) => (typeof p.ms === 'number' ? [p.ms] : [])),
    focus,
  );
  const background = faultLayer(run, domain);
  // Reads of lost writes, on the latency chart: each a purple rule at the moment a client read it.
  const lostReads = (run.lostReads ?? [])
    .filter((r) => r.t >= domain[0] && r.t <= domain[1])
    .map((r) => ({ ...r, client: String(r.process), read: `${r.key} = ${JSON.stringify(r.value)}`, served: r.node ?? '?' }));
  const lostReadLayer: Spec[] = lostReads.length
    ? [
        {
          data: { values: lostReads },
          mark: { type: 'rule', color: LOST_READ_COLOR, strokeWidth: 1.5, opacity: 0.8 },
          encoding: {
            x: { field: 't', type: 'quantitative' },
            tooltip: [
              { field: 't', title: 'read of a lost write at (s)', format: '.2f' },
              { field: 'client', title: 'client' },
              { field: 'served', title: 'served by' },
              { field: 'read', title: 'read' },
              { field: 'write', title: "the write's own outcome" },
            ],
          },
        },
      ]
    : [];
  // Legends in one column at the right, each beside its own chart.
  const legend = { orient: 'right', titleLimit: 200 };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${r.mode}, seed ${r.seed}: ${r.nemesis}`,
    vconcat: [
      {
        width,
        height: lat.height,
        layer: [
          ...background,
          ...lostReadLayer,
          ...failoverLabels(run, domain),
          {
            data: { values: run.latency },
            mark: { type: 'line', point: false, clip: true },
            encoding: {
              x,
              y: {
                field: 'ms',
                type: 'quantitative',
                title: 'write latency, ms (log scale)',
                scale: { type: 'log', domain: lat.domain, nice: false },
                // Every tick labelled: the height keeps them apart, and a reader needs the ones between p50 and p99.
                axis: { values: lat.ticks, format: '~r', grid: true, labelOverlap: false },
              },
              color: {
                field: 'quantile',
                type: 'nominal',
                title: `quantile per ${Number(run.bucketSec.toFixed(2))} s`,
                scale: { domain: ['p50', 'p99'], range: ['#4c78a8', '#f58518'] },
                legend,
              },
            },
          },
        ],
      },
      {
        width,
        height: 110,
        layer: [
          ...background,
          {
            data: { values: run.throughput },
            mark: { type: 'area', opacity: 0.8, clip: true },
            encoding: {
              x,
              y: { field: 'opsPerSec', type: 'quantitative', title: 'ops/s', stack: true },
              color: {
                field: 'type',
                type: 'nominal',
                title: 'outcome',
                scale: { domain: ['ok', 'fail', 'info'], range: ['#2a9d8f', '#e9c46a', '#e76f51'] },
                legend,
              },
            },
          },
        ],
      },
      {
        width,
        height: 110,
        layer: [
          ...background,
          {
            data: { values: run.lag.length ? run.lag : [{ t: 0, follower: 'none', leader: '', period: 0, records: 0 }] },
            mark: { type: 'line', clip: true },
            encoding: {
              x,
              y: { field: 'records', type: 'quantitative', title: lagUnit ? `lag (${lagUnit})` : 'lag (not measured)' },
              color: { field: 'follower', type: 'nominal', title: 'follower', legend },
              // One line per follower per leader period: a failover breaks the line.
              detail: { field: 'period', type: 'nominal' },
              tooltip: [
                { field: 'follower' },
                { field: 'leader', title: 'as seen by leader' },
                { field: 'records', title: `lag (${lagUnit ?? 'not measured'})` },
              ],
            },
          },
        ],
      },
    ],
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
  };
}

/**
 * The ops of an anomaly on a timeline, one row per op (Jepsen's timeline.html, but a row each):
 * labels sit on the y axis, so they never overlap however close the ops are in time; long labels
 * are cut with an ellipsis and given whole in the tooltip and the table beside the chart. Faults
 * are shaded and failovers drawn as dashed lines when the run is given.
 */
export function anomalyChart(a: Anomaly, run?: Pick<RunData, 'faults' | 'events'>): Spec {
  const width = 620;
  const lo = Math.min(...a.ops.map((o) => o.from * 1000));
  const hi = Math.max(...a.ops.map((o) => o.to * 1000));
  const pad = Math.max(5, (hi - lo) * 0.05);
  const domain = [lo - pad, hi + pad];
  // Ops of a millisecond on a timeline of seconds would be slivers: each bar is at least this wide.
  const minMs = (MIN_BAR_PX * (domain[1]! - domain[0]!)) / width;
  const values = a.ops.map((o) => {
    const from = o.from * 1000;
    const to = Math.max(o.to * 1000, from + minMs);
    return { ...o, from, to, group: o.group ?? o.type, where: o.where ?? '' };
  });
  const x = { field: 'from', type: 'quantitative', title: 'ms since start', scale: { domain, zero: false, nice: false } };
  const inView = (from: number, to: number) => to >= domain[0]! && from <= domain[1]!;
  const background: Spec[] = [];
  const faults = (run?.faults ?? [])
    .map((f) => ({ from: f.from * 1000, to: f.to * 1000, label: `${f.fault} ${f.detail}` }))
    .filter((f) => inView(f.from, f.to));
  if (faults.length)
    background.push({
      data: { values: faults.map((f) => ({ ...f, from: Math.max(f.from, domain[0]!), to: Math.min(f.to, domain[1]!) })) },
      mark: { type: 'rect', color: FAULT_COLOR, opacity: 0.2 },
      encoding: { x: { field: 'from', type: 'quantitative', scale: { domain } }, x2: { field: 'to' }, tooltip: [{ field: 'label', title: 'fault' }] },
    });
  const events = (run?.events ?? [])
    .filter((e) => e.event !== 'repointed')
    .map((e) => ({ ...e, t: e.t * 1000 }))
    .filter((e) => inView(e.t, e.t));
  if (events.length)
    background.push({
      data: { values: events },
      mark: { type: 'rule', color: '#6a040f', strokeDash: [4, 3] },
      encoding: { x: { field: 't', type: 'quantitative', scale: { domain } }, tooltip: [{ field: 'event' }, { field: 'detail' }] },
    });
  // A non-linearizable timeline colours by outcome (its groups are outcomes and two roles); the others by who acknowledged.
  const byGroup = a.kind !== 'non-linearizable';
  const rows = new Set(values.map((v) => v.row)).size;
  const dense = rows > 40;
  const titles = a.tooltipTitles ?? { group: 'acknowledged', where: 'where it went' };
  // Legend entries in the order the ops come (for a session violation: what it required, then the op that fell short).
  const colors = a.groupColors;
  const present = [...new Set(values.map((v) => v.group))];
  // With fixed colours, legend entries in the colours' order (outcomes, then the roles); otherwise as the ops come.
  const groups = colors && present.every((g) => colors[g]) ? Object.keys(colors).filter((g) => present.includes(g)) : present;
  const groupScale = colors && groups.every((g) => colors[g]) ? { domain: groups, range: groups.map((g) => colors[g]) } : { domain: groups };
  // Above the plot, wrapped after three entries so a long legend does not widen the chart (and so shrink it on the page).
  const groupColor = {
    field: 'group',
    type: 'nominal',
    title: null,
    scale: groupScale,
    legend: { orient: 'top', labelLimit: 300, columns: Math.min(3, groups.length) },
  };
  const marks: Spec[] = [];
  if (a.kind === 'session') {
    // One row per violation: a thin line from the op that set the bar to the op that fell short.
    const spans = new Map<string, { row: string; from: number; to: number }>();
    for (const v of values) {
      const s = spans.get(v.row);
      spans.set(v.row, s ? { row: v.row, from: Math.min(s.from, v.from), to: Math.max(s.to, v.to) } : { row: v.row, from: v.from, to: v.to });
    }
    marks.push({
      data: { values: [...spans.values()] },
      mark: { type: 'rule', color: '#999', strokeWidth: 1, clip: true },
      encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' }, y: { field: 'row', type: 'nominal', sort: null } },
    });
  }
  const notes = values.filter((v) => v.note);
  if (notes.length) {
    // Beside the op, on the side with room, and clipped at the plot's edge like everything else.
    const mid = (domain[0]! + domain[1]!) / 2;
    const side = (align: 'left' | 'right') => ({
      data: { values: notes.filter((v) => (align === 'left') === v.to < mid) },
      mark: { type: 'text', align, baseline: 'middle', dx: align === 'left' ? 8 : -8, fontSize: dense ? 9 : 10, color: '#333', clip: true },
      encoding: {
        x: { field: align === 'left' ? 'to' : 'from', type: 'quantitative' },
        y: { field: 'row', type: 'nominal', sort: null },
        text: { field: 'note' },
      },
    });
    marks.push(side('left'), side('right'));
  }
  if (byGroup)
    // Ops last milliseconds on a timeline of seconds: a dot at each keeps it visible however thin its bar.
    marks.push({
      data: { values: values.map((v) => ({ ...v, mid: (v.from + v.to) / 2 })) },
      mark: { type: 'point', filled: true, size: dense ? 30 : 50, opacity: 0.9, clip: true },
      encoding: { x: { field: 'mid', type: 'quantitative' }, y: { field: 'row', type: 'nominal', sort: null }, color: groupColor },
    });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: a.title,
    width,
    height: { step: dense ? 12 : 20 },
    layer: [
      ...background,
      ...marks,
      {
        data: { values },
        mark: { type: 'bar', cornerRadius: 2, clip: true },
        encoding: {
          x,
          x2: { field: 'to' },
          y: { field: 'row', type: 'nominal', title: null, sort: null, axis: { labelLimit: 300, labelFontSize: dense ? 9 : 11 } },
          color: groupColor,
          tooltip: [
            { field: 'label', title: 'op' },
            { field: 'type' },
            { field: 'process' },
            ...(byGroup
              ? [
                  { field: 'group', title: titles.group },
                  { field: 'where', title: titles.where },
                ]
              : []),
          ],
        },
      },
    ],
  };
}

/**
 * Many seeds: one point per seed, per mode, for acknowledged writes lost and the longest outage,
 * so the spread across seeds shows (a rare failover that loses writes is one dot far above the rest).
 */
export function seedsChart(runs: RunResult[]): Spec {
  const values = runs.map((r) => ({ mode: r.mode, seed: r.seed, lost: r.lostAcked ?? 0, outage: r.outageMs, passed: r.passed ? 'pass' : 'FAIL' }));
  const panel = (field: 'lost' | 'outage', title: string) => ({
    width: 420,
    height: 220,
    title,
    mark: { type: 'point', filled: true, opacity: 0.7 },
    encoding: {
      x: { field: 'mode', type: 'nominal', title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'jitter', type: 'quantitative' },
      y: { field, type: 'quantitative', title },
      color: { field: 'passed', type: 'nominal', scale: { domain: ['pass', 'FAIL'], range: ['#2a9d8f', '#c1121f'] }, title: 'gate' },
      tooltip: [{ field: 'mode' }, { field: 'seed' }, { field }],
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values },
    // A deterministic spread within each mode's band, so equal values do not hide each other.
    transform: [{ calculate: '(datum.seed * 0.618034) % 1', as: 'jitter' }],
    hconcat: [panel('lost', 'acknowledged writes lost, per seed'), panel('outage', 'longest write outage ms, per seed')],
  };
}

/** An axis the report sets up itself: vega's own ticks on a log or symlog scale are unreadable. */
interface Axis {
  type: 'linear' | 'log' | 'symlog';
  domain: [number, number];
  ticks: number[];
  /** Data value → pixels from the axis' origin (the same maths as vega's scale). */
  px: (v: number, size: number) => number;
}

/** The smallest step of 1, 2 or 5 times a power of ten that cuts [0, top] into at most n + 1 intervals. */
function niceStep(top: number, n: number, integer: boolean): number {
  const p = 10 ** Math.floor(Math.log10(top / n));
  const step = [1, 2, 5, 10, 20].map((m) => m * p).find((x) => top / x <= n + 1) ?? 20 * p;
  return integer ? Math.max(1, Math.round(step)) : step;
}

/** Ticks at 1, 2 and 5 times powers of ten (only powers of ten across more than three decades), inside [lo, hi]. */
function decadeTicks(lo: number, hi: number): number[] {
  const from = Math.floor(Math.log10(Math.max(lo, 1e-9)));
  const to = Math.ceil(Math.log10(hi));
  const mults = to - from > 3 ? [1] : [1, 2, 5];
  const out: number[] = [];
  for (let e = from; e <= to; e++) for (const m of mults) out.push(Number((m * 10 ** e).toPrecision(6)));
  return out.filter((t) => t >= lo && t <= hi);
}

/**
 * A scale for values that may include zero: linear from zero unless the positive values span a
 * decade or more, then log (no zero among them) or symlog (zero kept at the origin).
 */
function axisFor(values: number[], integer: boolean): Axis {
  const pos = values.filter((v) => v > 0);
  const max = Math.max(0, ...values);
  const lin = (domain: [number, number]) => (v: number, size: number) => ((v - domain[0]) / (domain[1] - domain[0])) * size;
  if (pos.length >= 2 && max / Math.min(...pos) >= 10) {
    if (pos.length === values.length) {
      const domain: [number, number] = [Math.min(...pos) / 1.6, max * 1.6];
      const l = (v: number) => Math.log10(v);
      return { type: 'log', domain, ticks: decadeTicks(...domain), px: (v, size) => ((l(v) - l(domain[0])) / (l(domain[1]) - l(domain[0]))) * size };
    }
    // vega's symlog with its default constant 1: sign(v) · log(1 + |v|).
    const f = (v: number) => Math.sign(v) * Math.log1p(Math.abs(v));
    const hi = f(max) * 1.15;
    // A little room below zero, so a point at zero is drawn whole inside the plot.
    const domain: [number, number] = [-Math.expm1(hi * 0.04), Math.expm1(hi)];
    return {
      type: 'symlog',
      domain,
      ticks: [0, ...decadeTicks(1, domain[1])],
      px: (v, size) => ((f(v) - f(domain[0])) / (f(domain[1]) - f(domain[0]))) * size,
    };
  }
  const step = niceStep(Math.max(max * 1.12, integer ? 1 : 1e-9), 5, integer);
  const top = Math.max(step, Math.ceil((max * 1.12) / step) * step);
  const domain: [number, number] = [-top * 0.04, top];
  const ticks: number[] = [];
  for (let t = 0; t <= top + step / 2; t += step) ticks.push(Number(t.toPrecision(6)));
  // The axis line then starts just below zero; the ticks say where zero is.
  return { type: 'linear', domain, ticks, px: lin(domain) };
}

interface LabelBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

const overlap = (a: LabelBox, b: LabelBox) =>
  Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) * Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));

/**
 * Places each point's label beside it (right, left, above, below or a corner), in the position
 * that overlaps the other points and the labels already placed least and stays inside the plot,
 * so no label is drawn over another or cut at the plot's edge. Returns pixel positions and the
 * text alignment for each label.
 */
function placeLabels(points: Array<{ x: number; y: number; lines: string[] }>, width: number, height: number) {
  const fontPx = 11;
  const lineH = 13;
  const gap = 9;
  // Each point with a margin: a label may come close to a dot but not touch it.
  const placed: LabelBox[] = points.map((p) => ({ x: p.x - 9, y: p.y - 9, w: 18, h: 18 }));
  return points.map((p) => {
    const w = Math.max(...p.lines.map((l) => l.length)) * fontPx * 0.56;
    const h = p.lines.length * lineH;
    const candidates = [
      { align: 'left', x: p.x + gap, y: p.y - h / 2 },
      { align: 'right', x: p.x - gap - w, y: p.y - h / 2 },
      { align: 'center', x: p.x - w / 2, y: p.y - gap - h },
      { align: 'center', x: p.x - w / 2, y: p.y + gap },
      { align: 'left', x: p.x + gap - 4, y: p.y - gap - h + 4 },
      { align: 'left', x: p.x + gap - 4, y: p.y + gap - 4 },
      { align: 'right', x: p.x - gap - w + 4, y: p.y - gap - h + 4 },
      { align: 'right', x: p.x - gap - w + 4, y: p.y + gap - 4 },
    ] as const;
    // Failing those, further up or down, one label height at a time: two points close together at
    // the plot's edge (say both at zero staleness) then stack their labels instead of writing one over the other.
    const further = [1, 2, 3].flatMap((k) =>
      [-1, 1].flatMap((dir) => {
        const y = dir < 0 ? p.y - gap - h - k * h : p.y + gap + k * h;
        return [
          { align: 'left' as const, x: p.x + gap - 4, y },
          { align: 'right' as const, x: p.x - gap - w + 4, y },
        ];
      }),
    );
    let best: (typeof candidates)[number] | (typeof further)[number] = candidates[0];
    let bestScore = Number.POSITIVE_INFINITY;
    for (const [i, c] of [...candidates, ...further].entries()) {
      const box = { x: c.x, y: c.y, w, h };
      const outside = w * h - overlap(box, { x: 0, y: 0, w: width, h: height });
      // A label further away reads less clearly as its point's: it wins only by avoiding an overlap.
      const distance = i < candidates.length ? 0 : 20 * (1 + Math.floor((i - candidates.length) / 4));
      const score = outside * 100 + placed.reduce((a, b) => a + overlap(box, b), 0) + distance;
      if (score < bestScore) {
        bestScore = score;
        best = c;
      }
    }
    placed.push({ x: best.x, y: best.y, w, h });
    const anchorX = best.align === 'left' ? best.x : best.align === 'right' ? best.x + w : best.x + w / 2;
    return { align: best.align, px: anchorX, py: best.y + h / 2 };
  });
}

/** "99.8% from followers": whole percents only when exact, so 99.8% never reads as all of them. */
const pct = (share: number | null) => {
  if (share === null) return 'follower share unknown';
  const p = share * 100;
  return `${Number.isInteger(p) ? p : p.toFixed(1)}% from followers`;
};

/**
 * The read side in one picture: one point per mode, read latency (p99) against how stale its
 * reads were (p99), each labelled with the mode and the share of reads followers served. The
 * staleness axis is in ms behind the newest acknowledged write, or in versions behind when those
 * separate the modes better (more distinct values); the axis title says which.
 */
export function readChart(reads: ModeReads[]): Spec {
  const width = 460;
  const height = 300;
  const distinct = (xs: number[]) => new Set(xs.map((x) => x.toPrecision(2))).size;
  const ms = reads.map((r) => r.stale.ms.p99);
  const versions = reads.map((r) => r.stale.versions.p99);
  const useVersions = distinct(versions) > distinct(ms);
  const xAxis = axisFor(
    reads.map((r) => r.readP99Ms ?? 0),
    false,
  );
  const yAxis = axisFor(useVersions ? versions : ms, useVersions);
  const base = reads.map((r) => ({
    mode: r.mode,
    policies: r.policies.join(', '),
    readP50: r.readP50Ms ?? 0,
    readP99: r.readP99Ms ?? 0,
    stale: useVersions ? r.stale.versions.p99 : r.stale.ms.p99,
    staleMs: `${r.stale.ms.p50.toFixed(1)} / ${r.stale.ms.p99.toFixed(1)} / ${r.stale.ms.max.toFixed(1)}`,
    staleVersions: `${r.stale.versions.p50} / ${r.stale.versions.p99} / ${r.stale.versions.max}`,
    followers: pct(r.followerShare),
    violations: Object.values(r.violations).reduce((a, n) => a + n, 0),
    lines: [r.mode, pct(r.followerShare)],
  }));
  const spots = placeLabels(
    base.map((b) => ({ x: xAxis.px(b.readP99, width), y: height - yAxis.px(b.stale, height), lines: b.lines })),
    width,
    height,
  );
  const values = base.map((b, i) => ({ ...b, label: b.lines.join('\n'), ...spots[i]! }));
  // The domains are set above (the label placement computed with them); vega must not widen them.
  const scale = (a: Axis) => ({ type: a.type, domain: a.domain, nice: false, ...(a.type === 'log' ? {} : { zero: false }) });
  const axis = (a: Axis) => ({ values: a.ticks, format: '~r', grid: true });
  const labelLayer = (align: 'left' | 'right' | 'center') => ({
    transform: [{ filter: `datum.align === '${align}'` }],
    mark: { type: 'text', align, baseline: 'middle', lineBreak: '\n', fontSize: 11 },
    encoding: {
      x: { field: 'px', type: 'quantitative', scale: null },
      y: { field: 'py', type: 'quantitative', scale: null },
      text: { field: 'label' },
      // In the point's own colour (dark enough to read as text), so a label between two points is read with its own.
      color: { field: 'mode', type: 'nominal', legend: null, scale: { scheme: 'dark2' } },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Reads: latency against staleness', subtitle: 'one point per mode; label: share of reads the followers served' },
    width,
    height,
    data: { values },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 110, opacity: 0.9, clip: true },
        encoding: {
          x: { field: 'readP99', type: 'quantitative', title: 'read latency p99 (ms)', scale: scale(xAxis), axis: axis(xAxis) },
          y: {
            field: 'stale',
            type: 'quantitative',
            title: useVersions ? 'staleness p99 (versions behind)' : 'staleness p99 (ms behind the newest write)',
            scale: scale(yAxis),
            axis: axis(yAxis),
          },
          color: { field: 'mode', type: 'nominal', legend: null, scale: { scheme: 'dark2' } },
          tooltip: [
            { field: 'mode' },
            { field: 'policies', title: 'policy' },
            { field: 'readP50', title: 'read p50 ms', format: '.2f' },
            { field: 'readP99', title: 'read p99 ms', format: '.2f' },
            { field: 'staleMs', title: 'ms behind p50 / p99 / max' },
            { field: 'staleVersions', title: 'versions behind p50 / p99 / max' },
            { field: 'followers', title: 'served by followers' },
            { field: 'violations', title: 'session violations' },
          ],
        },
      },
      labelLayer('left'),
      labelLayer('right'),
      labelLayer('center'),
    ],
  };
}

/** One row of the failover-timeout sweep (bench:timeouts): what the chart below needs of it. */
export interface TimeoutSweepPoint {
  system: string;
  mode: string;
  timeoutMs: number;
  needless: number;
  outageMs: number | null;
}

/**
 * The failover-timeout trade-off in one chart: timeout on a log x axis (the sweep doubles and
 * more per step), the write outage after a real crash on the left y axis and needless failovers
 * on the right one, one colour per system and mode. Solid lines are outage, dashed are needless
 * failovers, so the crossing the reader looks for is where a short timeout stops paying.
 */
export function timeoutSweepChart(rows: TimeoutSweepPoint[]): Spec {
  const values = rows.map((r) => ({
    series: `${r.system} ${r.mode}`,
    timeoutS: r.timeoutMs / 1000,
    outageS: r.outageMs === null ? null : r.outageMs / 1000,
    needless: r.needless,
  }));
  const ticks = [...new Set(values.map((v) => v.timeoutS))].sort((a, b) => a - b);
  const x = {
    field: 'timeoutS',
    type: 'quantitative',
    title: 'failover timeout, s (log scale)',
    scale: { type: 'log', domain: [Math.min(...ticks) / 1.3, Math.max(...ticks) * 1.3], nice: false },
    axis: { values: ticks, format: '~g' },
  };
  const color = { field: 'series', type: 'nominal', title: 'system, mode' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 560,
    height: 300,
    title: 'Failover timeout: outage after a crash vs needless failovers',
    data: { values },
    layer: [
      {
        mark: { type: 'line', point: true },
        transform: [{ filter: 'datum.outageS !== null' }],
        encoding: {
          x,
          y: { field: 'outageS', type: 'quantitative', title: 'write outage after the crash, s (solid)' },
          color,
          tooltip: [{ field: 'series' }, { field: 'timeoutS' }, { field: 'outageS' }],
        },
      },
      {
        mark: { type: 'line', point: { shape: 'square' }, strokeDash: [6, 4] },
        encoding: {
          x,
          y: { field: 'needless', type: 'quantitative', title: 'needless failovers (dashed)', axis: { orient: 'right', tickMinStep: 1 } },
          color,
          tooltip: [{ field: 'series' }, { field: 'timeoutS' }, { field: 'needless' }],
        },
      },
    ],
    resolve: { scale: { y: 'independent' } },
    config: { font: 'sans-serif' },
  };
}
