/**
 * The report's vega-lite specs. Pure data → spec functions; render.ts turns them into SVG.
 */

import type { RunResult } from '../suite/run-one.js';
import type { Anomaly, RunData } from './data.js';

type Spec = Record<string, unknown>;

const FAULT_COLOR = '#f4a261';

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
    control: r.control ? 'negative control' : 'mode',
  }));
  // Round to sensible digits and keep the axis from collapsing to [0, 0] when nothing was lost
  // (vega would then print ticks like 0.000000).
  const top = Math.max(1, ...values.map((v) => v.lostPer1000));
  const panel = (q: 'p50' | 'p99') => ({
    width: 300,
    height: 240,
    mark: { type: 'point', filled: true, opacity: 0.85 },
    encoding: {
      x: {
        field: q,
        type: 'quantitative',
        title: `${q} acknowledged-write latency (ms)`,
        scale: { zero: true, nice: true },
        axis: { format: '~r', tickCount: 6 },
      },
      y: {
        field: 'lostPer1000',
        type: 'quantitative',
        title: 'acknowledged writes lost per 1,000',
        scale: { domain: [0, top * 1.1], nice: true },
        axis: { format: '~r', tickCount: 6 },
      },
      color: { field: 'mode', type: 'nominal', title: 'mode' },
      size: { field: 'unavailable', type: 'quantitative', title: 'failed + indeterminate (%)', scale: { range: [60, 600] } },
      shape: { field: 'control', type: 'nominal', title: '' },
      tooltip: [
        { field: 'mode' },
        { field: 'seed' },
        { field: 'p50', format: '.2f' },
        { field: 'p99', format: '.2f' },
        { field: 'lost', title: 'lost' },
        { field: 'acked', title: 'acknowledged' },
        { field: 'lostPer1000', title: 'lost per 1,000' },
        { field: 'unavailable', title: 'failed + info (%)' },
      ],
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Latency against durability (one point per run; size = unavailability)',
    data: { values },
    hconcat: [panel('p50'), panel('p99')],
  };
}

function faultLayer(run: RunData): Spec[] {
  const layers: Spec[] = [];
  if (run.faults.length) {
    layers.push({
      data: { values: run.faults.map((f) => ({ ...f, label: `${f.fault} ${f.detail}` })) },
      mark: { type: 'rect', color: FAULT_COLOR, opacity: 0.25 },
      encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' }, tooltip: [{ field: 'label', title: 'fault' }] },
    });
  }
  const outages = [...(run.outage ? [{ ...run.outage, node: 'longest outage' }] : []), ...run.outages.map((o) => ({ ...o, node: `failover to ${o.node}` }))];
  if (outages.length) {
    layers.push({
      data: { values: outages },
      mark: { type: 'rect', color: '#e63946', opacity: 0.15 },
      encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' }, tooltip: [{ field: 'node', title: 'write outage' }] },
    });
  }
  if (run.events.length) {
    layers.push({
      data: { values: run.events.filter((e) => e.event !== 'repointed') },
      mark: { type: 'rule', color: '#6a040f', strokeDash: [4, 3] },
      encoding: { x: { field: 't', type: 'quantitative' }, tooltip: [{ field: 'event' }, { field: 'detail' }] },
    });
  }
  return layers;
}

/** Per run: write latency quantiles, throughput and replication lag over time, faults shaded. */
export function runChart(run: RunData): Spec {
  const x = { field: 't', type: 'quantitative', title: 'seconds since start' };
  const width = 640;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${run.result.mode}, seed ${run.result.seed}: ${run.result.nemesis}`,
    vconcat: [
      {
        width,
        height: 160,
        layer: [
          ...faultLayer(run),
          {
            data: { values: run.latency },
            mark: { type: 'line', point: false },
            encoding: {
              x,
              y: { field: 'ms', type: 'quantitative', title: 'write latency (ms)', scale: { type: 'symlog' } },
              color: { field: 'quantile', type: 'nominal', title: 'quantile' },
            },
          },
        ],
      },
      {
        width,
        height: 110,
        layer: [
          ...faultLayer(run),
          {
            data: { values: run.throughput },
            mark: { type: 'area', opacity: 0.8 },
            encoding: {
              x,
              y: { field: 'opsPerSec', type: 'quantitative', title: 'ops/s', stack: true },
              color: { field: 'type', type: 'nominal', title: 'outcome', scale: { domain: ['ok', 'fail', 'info'], range: ['#2a9d8f', '#e9c46a', '#e76f51'] } },
            },
          },
        ],
      },
      {
        width,
        height: 110,
        layer: [
          ...faultLayer(run),
          {
            data: { values: run.lag.length ? run.lag : [{ t: 0, follower: 'none', leader: '', period: 0, records: 0 }] },
            mark: { type: 'line' },
            encoding: {
              x,
              y: { field: 'records', type: 'quantitative', title: 'replication lag (records)' },
              color: { field: 'follower', type: 'nominal', title: 'follower' },
              // One line per follower per leader period: a failover breaks the line.
              detail: { field: 'period', type: 'nominal' },
              tooltip: [{ field: 'follower' }, { field: 'leader', title: 'as seen by leader' }, { field: 'records', title: 'lag (records)' }],
            },
          },
        ],
      },
    ],
    resolve: { scale: { color: 'independent' } },
  };
}

/**
 * The ops of an anomaly on a timeline, one row per op (Jepsen's timeline.html, but a row each):
 * labels sit on the y axis, so they never overlap however close the ops are in time; long labels
 * are cut with an ellipsis and given whole in the tooltip and the table beside the chart. Faults
 * are shaded and failovers drawn as dashed lines when the run is given.
 */
export function anomalyChart(a: Anomaly, run?: Pick<RunData, 'faults' | 'events'>): Spec {
  const values = a.ops.map((o) => ({
    ...o,
    from: o.from * 1000,
    to: Math.max(o.to * 1000, o.from * 1000 + 0.5),
    group: o.group ?? o.type,
    where: o.where ?? '',
  }));
  const lo = Math.min(...values.map((v) => v.from));
  const hi = Math.max(...values.map((v) => v.to));
  const pad = Math.max(5, (hi - lo) * 0.05);
  const domain = [lo - pad, hi + pad];
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
  const byGroup = a.kind !== 'non-linearizable';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: a.title,
    width: 620,
    height: { step: values.length > 40 ? 12 : 20 },
    layer: [
      ...background,
      {
        data: { values },
        mark: { type: 'bar', cornerRadius: 2, clip: true },
        encoding: {
          x,
          x2: { field: 'to' },
          y: { field: 'row', type: 'nominal', title: null, sort: null, axis: { labelLimit: 260, labelFontSize: values.length > 40 ? 9 : 11 } },
          color: byGroup
            ? { field: 'group', type: 'nominal', title: null, legend: { orient: 'top', labelLimit: 300 } }
            : { field: 'type', type: 'nominal', title: 'outcome', scale: { domain: ['ok', 'fail', 'info'], range: ['#2a9d8f', '#e9c46a', '#e76f51'] } },
          stroke: { condition: { test: 'datum.focus', value: '#000' }, value: null },
          strokeWidth: { value: byGroup ? 0 : 2 },
          tooltip: [
            { field: 'label', title: 'op' },
            { field: 'type' },
            { field: 'process' },
            ...(byGroup
              ? [
                  { field: 'group', title: 'acknowledged' },
                  { field: 'where', title: 'where it went' },
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
