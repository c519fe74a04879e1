/**
 * Issue 26: the failover-timeout sweep's one chart: timeout on a log x axis, the outage after a
 * crash and the needless failovers on two y scales, one colour per system and mode.
 */
import { describe, expect, it } from 'vitest';
import { timeoutSweepChart } from '../../src/report/charts.js';
import { renderSvg } from '../../src/report/render.js';

type Layer = { transform?: Array<{ filter: string }>; encoding: Record<string, { field?: string; scale?: { type?: string }; axis?: { orient?: string } }> };

describe('timeoutSweepChart', () => {
  const rows = [
    { system: 'replab', mode: 'async', timeoutMs: 500, needless: 6, outageMs: 575 },
    { system: 'replab', mode: 'async', timeoutMs: 5000, needless: 0, outageMs: 5258 },
    { system: 'postgres', mode: 'async', timeoutMs: 10_000, needless: 0, outageMs: null },
  ];
  const spec = timeoutSweepChart(rows) as { layer: Layer[]; resolve: unknown; data: { values: Array<Record<string, unknown>> } };

  it('puts the timeout on a log x axis and outage and needless failovers on independent y scales, left and right', () => {
    const [outage, needless] = spec.layer;
    for (const l of spec.layer) expect(l.encoding.x!.scale!.type).toBe('log');
    expect(outage!.encoding.y!.field).toBe('outageS');
    expect(needless!.encoding.y!.field).toBe('needless');
    expect(needless!.encoding.y!.axis!.orient).toBe('right');
    expect(spec.resolve).toEqual({ scale: { y: 'independent' } });
  });

  it('draws one series per system and mode, and leaves out an outage that was not measured rather than drawing it as 0', () => {
    expect(new Set(spec.data.values.map((v) => v.series))).toEqual(new Set(['replab async', 'postgres async']));
    expect(spec.layer[0]!.transform).toEqual([{ filter: 'datum.outageS !== null' }]);
  });

  it('renders to SVG with both axis titles', async () => {
    const svg = await renderSvg(timeoutSweepChart(rows));
    expect(svg).toContain('failover timeout, s (log scale)');
    expect(svg).toContain('needless failovers (dashed)');
    expect(svg).toContain('write outage after the crash, s (solid)');
  });
});
