/**
 * Issue 23, the report page: what a reader sees first (a "what happened" sentence per mode, the
 * gate's rules), charts that can be read (a log latency axis with ticks where p50 and p99 are, one
 * time axis per run, throughput without partial buckets, points inside their plots, failovers where
 * they happened), and anomalies worst first with timelines whose marks are all visible and named.
 * On the made-up run folder of run-folder.ts.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build.js';
import { anomalyChart, headlineChart, latencyAxis, readChart, runChart } from '../../src/report/charts.js';
import { loadReportData } from '../../src/report/data.js';
import { settingsText } from '../../src/report/html.js';
import type { ModeReads, ReportData } from '../../src/report/model.js';
import { fakeResults, fakeRun } from '../helpers/results.js';
import { LOAD, PARTITION, runFolder } from './run-folder.js';

let dir: string;
let data: ReportData;
let html: string;

beforeAll(async () => {
  ({ dir } = await runFolder());
  data = await loadReportData(dir);
  html = await fsp.readFile(await buildReport(dir), 'utf8');
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

type Spec = Record<string, unknown> & { vconcat?: Spec[]; hconcat?: Spec[]; layer?: Spec[] };
/** Every x encoding of a chart spec, however deep its layers and concatenations. */
function xEncodings(spec: Spec): Array<Record<string, unknown>> {
  const own = (spec.encoding as { x?: Record<string, unknown> } | undefined)?.x;
  return [...(own ? [own] : []), ...[...(spec.vconcat ?? []), ...(spec.hconcat ?? []), ...(spec.layer ?? [])].flatMap(xEncodings)];
}

describe('what happened, at the top', () => {
  it('says per mode how many acknowledged writes were lost, who acknowledged them, during which fault, and where they went', () => {
    const async = data.story.find((s) => s.mode === 'async')!;
    expect(async.text).toMatch(
      /^async lost 2 acknowledged writes \([\d.]+% of [\d,]+\): all acknowledged by n1 at epoch 1 during the partition of n1 at 3 s, all rewound by n1; not linearizable; longest write outage 1\.3 s; 1 failover needed, the leader unreachable 0\.2 s before it began\.$/,
    );
    expect(data.story.find((s) => s.mode === 'sync')!.text).toBe(
      'sync lost no acknowledged write; linearizable; longest write outage 1.0 s; 1 failover not known whether needed, and how long the leader was unreachable is not known.',
    );
    const summary = html.indexOf('<section id="summary"');
    expect(summary).toBeGreaterThan(0);
    expect(summary).toBeLessThan(html.indexOf('data-chart="headline"'));
    expect(html).toContain('<b>async</b> lost 2 acknowledged writes');
  });

  it('the mode table, the summary and each run card say what the gate checked and what it did not', () => {
    const table = html.slice(html.indexOf('<table id="modes">'), html.indexOf('</table>', html.indexOf('<table id="modes">')));
    const row = (mode: string) => table.slice(table.indexOf(`data-mode="${mode}"`), table.indexOf('</tr>', table.indexOf(`data-mode="${mode}"`)));
    expect(row('async')).toContain('gate: split-brain writes == 0 ✓ — not gated: lost writes 2, linearizable false');
    expect(row('async')).toContain('async acknowledges a write before any follower has it, so a failover is expected to lose some');
    expect(row('sync')).toContain('gate: split-brain writes == 0 ✓ · lost acknowledged writes == 0 ✓ · linearizable ✓');
    const summary = html.slice(html.indexOf('<section id="summary"'), html.indexOf('</section>', html.indexOf('<section id="summary"')));
    expect(summary).toContain('gate: split-brain writes == 0 ✓ — not gated: lost writes 2');
    const card = html.slice(html.indexOf('<section id="run-async-1">'));
    expect(card.slice(0, card.indexOf('<figure'))).toContain('<p class="gate">gate: split-brain writes == 0 ✓ — not gated: lost writes 2');
  });

  it('a negative control says what it had to find and what it found', async () => {
    const control = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-report-control-'));
    try {
      const run = fakeRun('async-control', 1, { control: true, lostAcked: 106, gate: ['lostAcked > 0'] });
      const results = fakeResults([run]);
      results.modes = results.modes.map((m) => ({ ...m, control: true, gate: run.gate }));
      await fsp.writeFile(path.join(control, 'results.json'), JSON.stringify(results));
      await fsp.mkdir(path.join(control, run.dir));
      await fsp.writeFile(path.join(control, run.dir, 'history.jsonl'), '');
      const page = await fsp.readFile(await buildReport(control), 'utf8');
      expect(page).toContain('control: must find lost writes (lost acknowledged writes &gt; 0) ✓ found 106');
    } finally {
      await fsp.rm(control, { recursive: true, force: true });
    }
  });

  it('timestamps are readable, with their zone; the load and the wall time of a run are both said', () => {
    expect(html).toContain('Started 29 Nov 2026, 10:00:00 UTC, finished 10:01:02 UTC');
    expect(html).toContain('10 s of load per run, each about 31 s on the clock');
    expect(html).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:/);
  });

  it('replication settings are said in words, with PostgreSQL’s name beside ours', () => {
    const semi = settingsText({ replication: { mode: 'semi-sync', k: 1, ackLevel: 'flush', onSyncTimeout: 'block' }, fencing: 'lease' });
    expect(semi).toContain("acknowledged after the follower's fsync (PostgreSQL: on)");
    expect(semi).toContain('waits for 1 follower');
    expect(settingsText({ replication: { mode: 'sync', ackLevel: 'write' }, fencing: 'lease' })).toContain('before its fsync (PostgreSQL: remote_write)');
  });

  it("a user's module is not described in replab's words (no ack flush, blocking or fencing it may not have)", () => {
    const mine = settingsText({
      system: '/home/u/redis-system.mjs',
      replication: { mode: 'semi-sync', k: 1, ackLevel: 'flush', onSyncTimeout: 'block' },
      fencing: 'lease',
    });
    expect(mine).toBe("semi-sync, 1 follower asked for (as the spec asks; how redis-system.mjs does it is the module's own)");
    expect(mine).not.toMatch(/fsync|block|fencing/);
  });
});

describe('anomalies, worst first', () => {
  it('the lost writes come before the non-linearizable read', () => {
    const run = data.runs.find((r) => r.result.mode === 'async')!;
    expect(run.anomalies.map((a) => a.kind)).toEqual(['lost', 'non-linearizable']);
    expect(html.indexOf('data-kind="lost"')).toBeGreaterThan(0);
    expect(html.indexOf('data-kind="lost"')).toBeLessThan(html.indexOf('data-kind="non-linearizable"'));
  });

  it('a read with no overlapping op is said so, not "its 0 concurrent op(s)"', () => {
    expect(html).not.toContain('0 concurrent op(s)');
    expect(html).toContain('no other operation overlaps it in time');
  });

  it('every op of a timeline is at least a few pixels wide, the offending one and the lost writes are in the legend, and the marks are captioned', () => {
    const run = data.runs.find((r) => r.result.mode === 'async')!;
    const nonLin = run.anomalies.find((a) => a.kind === 'non-linearizable')!;
    const spec = anomalyChart(nonLin, run) as {
      width: number;
      layer: Array<{
        mark: { type: string };
        data: { values: Array<{ from: number; to: number }> };
        encoding: Record<string, { scale?: { domain: unknown[] } }>;
      }>;
    };
    const bars = spec.layer.find((l) => l.mark.type === 'bar')!;
    const [lo, hi] = (bars.encoding.x as { scale: { domain: [number, number] } }).scale.domain;
    for (const v of bars.data.values) expect(((v.to - v.from) / (hi - lo)) * spec.width).toBeGreaterThanOrEqual(3.9);
    expect(bars.encoding.color!.scale!.domain).toEqual(expect.arrayContaining(['the op that cannot be placed', 'acknowledged, later lost']));
    expect(html).toMatch(/<figcaption>[^<]*Red: the operation no order of the others explains/);
    expect(html).toMatch(/<figcaption>[^<]*Dashed lines: the monitor declaring the leader dead/);
  });
});

describe('run charts', () => {
  it('throughput is not drawn falling at the load’s partial first and last buckets', () => {
    const run = data.runs[0]!;
    const total = new Map<number, number>();
    for (const p of run.throughput) total.set(p.t, (total.get(p.t) ?? 0) + (p.opsPerSec as number));
    expect(total.size).toBeGreaterThan(15);
    const rates = [...total].map(([t, rate]) => `${t.toFixed(2)} s: ${Math.round(rate)}`);
    const low = [...total].filter(([, rate]) => rate < LOAD.opsPerSec * 0.8 || rate > LOAD.opsPerSec * 1.2);
    expect(
      low.map(([t, rate]) => `${t.toFixed(2)} s: ${Math.round(rate)} ops/s`),
      rates.join(', '),
    ).toEqual([]);
    // Each point in the part of its bucket the load covered.
    for (const t of total.keys()) {
      expect(t).toBeGreaterThanOrEqual(LOAD.from);
      expect(t).toBeLessThanOrEqual(LOAD.to);
    }
  });

  it('the latency axis is a log scale with at least three ticks between the run’s p50 and p99', () => {
    const run = data.runs[0]!;
    const spec = runChart(run) as { vconcat: Array<{ layer: Array<{ encoding?: { y?: { scale?: { type: string }; axis?: { values: number[] } } } }> }> };
    const y = spec.vconcat[0]!.layer.at(-1)!.encoding!.y!;
    expect(y.scale!.type).toBe('log');
    const ticks = y.axis!.values;
    expect(ticks.filter((t) => t >= run.result.p50WriteMs! && t <= run.result.p99WriteMs!).length).toBeGreaterThanOrEqual(3);
    // The plain 1-2-5 ticks stay; the denser ones come only between p50 and p99.
    expect(ticks).toEqual(expect.arrayContaining([20, 50]));
    const mantissa = (t: number) => Number((t / 10 ** Math.floor(Math.log10(t))).toPrecision(3));
    expect(ticks.filter((t) => ![1, 2, 5].includes(mantissa(t)) && (t < run.result.p50WriteMs! || t > run.result.p99WriteMs!))).toEqual([]);
  });

  it('between a p50 and p99 that 1-2-5 ticks leave bare, denser ticks, and a chart tall enough to keep their labels apart', () => {
    // The quick suite's async run on a loaded machine: buckets from 2 to 500 ms, p50 34, p99 169.
    const { domain, ticks, height } = latencyAxis([2.3, 12, 34, 90, 169, 480], [34, 169]);
    expect(domain).toEqual([2, 500]);
    expect(ticks.filter((t) => t >= 34 && t <= 169)).toEqual([50, 70, 100, 150]);
    const px = (t: number) => (Math.log10(t / domain[0]) / Math.log10(domain[1] / domain[0])) * height;
    for (let i = 1; i < ticks.length; i++) expect(px(ticks[i]!) - px(ticks[i - 1]!)).toBeGreaterThanOrEqual(12.9);
    expect(height).toBeLessThanOrEqual(400);
  });

  it('latency, throughput and lag share one time axis, up to the last lag sample past the load', () => {
    const run = data.runs[0]!;
    const lastLag = Math.max(...run.lag.map((l) => l.t));
    expect(lastLag).toBeGreaterThan(LOAD.to);
    const domains = xEncodings(runChart(run) as Spec).map((x) => JSON.stringify((x.scale as { domain?: unknown } | undefined)?.domain));
    expect(domains.length).toBeGreaterThanOrEqual(6);
    expect(new Set(domains)).toEqual(new Set([JSON.stringify([0, lastLag])]));
  });

  it('failovers are drawn where they happened on the history’s clock, not seconds later', () => {
    const run = data.runs[0]!;
    // run.json's clock starts 5 s before the history's zero; the promotion is 3.3 s into the history.
    expect(run.events.find((e) => e.event === 'promoted')!.t).toBeCloseTo(PARTITION.from + 0.3, 3);
  });
});

describe('headline chart', () => {
  it('every point is drawn whole inside its plot: at zero clear of the axis labels, at the largest value clear of the right edge', () => {
    const runs = data.results.runs.map((r, i) => ({ ...r, p99WriteMs: i ? 109 : 40, lostAcked: i ? 0 : 30 }));
    const spec = headlineChart(runs) as {
      data: { values: Array<Record<string, number>> };
      hconcat: Array<{ width: number; height: number; encoding: Record<string, { field: string; scale: { domain?: [number, number]; range?: number[] } }> }>;
    };
    for (const panel of spec.hconcat) {
      const radius = Math.sqrt(Math.max(...panel.encoding.size!.scale.range!) / Math.PI);
      for (const [axis, size] of [
        ['x', panel.width],
        ['y', panel.height],
      ] as const) {
        const enc = panel.encoding[axis]!;
        const [lo, hi] = enc.scale.domain!;
        for (const v of spec.data.values) {
          const px = ((v[enc.field]! - lo) / (hi - lo)) * size;
          expect(px, `${axis} ${enc.field}=${v[enc.field]}`).toBeGreaterThanOrEqual(radius);
          expect(px, `${axis} ${enc.field}=${v[enc.field]}`).toBeLessThanOrEqual(size - radius);
        }
      }
    }
  });

  it('names its size encoding the same way in its title and its legend, with a % unit, and has no stray legend', () => {
    const spec = headlineChart(data.results.runs) as {
      title: { subtitle: string };
      hconcat: Array<{ encoding: Record<string, { title?: string; legend?: unknown }> }>;
    };
    const enc = spec.hconcat[0]!.encoding;
    expect(enc.size!.title).toBe('ops failed or indeterminate');
    expect(spec.title.subtitle).toContain('ops that failed or ended indeterminate');
    expect(JSON.stringify(enc.size!.legend)).toContain("'%'");
    expect(enc.shape!.legend).toBeNull();
  });
});

describe('read chart', () => {
  it('labels of two modes side by side at zero staleness are stacked, not written over each other', () => {
    // The quick suite's reads: sync and semi-sync at 0 ms behind, 22 ms apart in p99; async far off.
    const mode = (name: string, p99: number, ms: number): ModeReads => ({
      mode: name,
      runs: 1,
      seeds: 1,
      policies: ['leader-only'],
      okReads: 1000,
      followerShare: 0,
      readP50Ms: 1,
      readP99Ms: p99,
      violations: { 'read-your-writes': 0, 'monotonic-reads': 0, 'monotonic-writes': 0, 'writes-follow-reads': 0 },
      stale: { judged: 1000, versions: { p50: 0, p99: 0, max: 0 }, ms: { p50: 0, p99: ms, max: ms } },
      nodes: [],
    });
    const spec = readChart([mode('async', 223.4, 1148.6), mode('semi-sync', 53, 0), mode('sync', 30.8, 0)]) as {
      data: { values: Array<{ align: string; px: number; py: number; lines: string[] }> };
    };
    // The label boxes as the chart places them (11 px text, 13 px lines).
    const boxes = spec.data.values.map((v) => {
      const w = Math.max(...v.lines.map((l) => l.length)) * 11 * 0.56;
      const h = v.lines.length * 13;
      const x = v.align === 'left' ? v.px : v.align === 'right' ? v.px - w : v.px - w / 2;
      return { x, y: v.py - h / 2, w, h };
    });
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const overlap = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) * Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
        expect(overlap, `${spec.data.values[i]!.lines[0]} and ${spec.data.values[j]!.lines[0]}`).toBe(0);
      }
  });
});
