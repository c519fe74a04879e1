import { describe, expect, it } from 'vitest';
import { checkAvailability } from '../../src/checker/availability.js';
import { checkHistory, mergeValidity, safe } from '../../src/checker/checker.js';
import { checkLatency } from '../../src/checker/latency.js';
import { checkStaleReads } from '../../src/checker/stale.js';
import { PairedHistory } from '../../src/history/op.js';
import { h } from '../helpers/history.js';

describe('stale reads', () => {
  it('measures how far behind a follower read was, in LSNs and ms', () => {
    const ops = h(
      ['invoke', 0, 'write', 1],
      ['ok', 0, 'write', 1, { lsn: 1, node: 'n1' }], // acked at 1 ms
      ['invoke', 0, 'write', 2],
      ['ok', 0, 'write', 2, { lsn: 2, node: 'n1' }], // acked at 3 ms
      ['invoke', 1, 'read', null], // 4 ms
      ['ok', 1, 'read', 1, { lsn: 1, node: 'n2' }],
      ['invoke', 1, 'read', null],
      ['ok', 1, 'read', 2, { lsn: 2, node: 'n2' }],
    );
    const r = checkStaleReads(PairedHistory.of(ops));
    expect(r).toMatchObject({ reads: 2, judged: 2, stale: 1, maxStaleLsn: 1, maxStaleMs: 1 });
    expect(r.worst[0]).toMatchObject({ node: 'n2', lagLsn: 1, lagMs: 1 });
    expect(r.perNode.n2).toEqual({ reads: 2, stale: 1, maxStaleMs: 1 });
  });

  it('no reads, nothing judged', () => {
    expect(checkStaleReads(PairedHistory.of([]))).toMatchObject({ reads: 0, judged: 0, stale: 0, maxStaleMs: 0 });
  });
});

describe('availability', () => {
  it('counts ok/fail/info and finds the longest window without a successful write', () => {
    const ops = h(
      ['invoke', 0, 'write', 1],
      ['ok', 0, 'write', 1], // ok at 1 ms
      ['invoke', 0, 'write', 2],
      ['fail', 0, 'write', 2],
      ['invoke', 1, 'write', 3],
      ['info', 1, 'write', 3],
      ['invoke', 2, 'read', null],
      ['ok', 2, 'read', 1],
      ['invoke', 0, 'write', 4],
      ['ok', 0, 'write', 4], // ok at 9 ms
    );
    const r = checkAvailability(PairedHistory.of(ops));
    expect(r).toMatchObject({ ops: 5, ok: 3, fail: 1, info: 1, outageMs: 8 });
    expect(r.okShare).toBeCloseTo(0.6);
  });

  it('the empty history has no outage', () => {
    expect(checkAvailability(PairedHistory.of([]))).toMatchObject({ ops: 0, outageMs: 0 });
  });
});

describe('latency', () => {
  it('HdrHistogram quantiles per f and per node', () => {
    const r = checkLatency(PairedHistory.of(h(['invoke', 0, 'write', 1], ['ok', 0, 'write', 1, { node: 'n1' }], ['invoke', 0, 'read', null])));
    expect(r.byF.write).toMatchObject({ count: 1 });
    expect(r.byF.write!.p50Ms).toBeCloseTo(1, 2);
    expect(r.byNode.n1!.count).toBe(1);
  });
});

describe('check: compose', () => {
  it('the verdict is the worst of its parts and a crash is unknown', () => {
    const ok = h(['invoke', 0, 'write', 1], ['ok', 0, 'write', 1], ['invoke', 0, 'read', null], ['ok', 0, 'read', 1]);
    expect(checkHistory(ok, { model: 'register' }).valid).toBe(true);
    const lost = [
      ...ok,
      ...h(['invoke', 'f', 'final-read', null, { node: 'n1' }], ['ok', 'f', 'final-read', null, { node: 'n1' }]).map((o, i) => ({
        ...o,
        index: 10 + i,
        time: (10 + i) * 1e6,
      })),
    ];
    const r = checkHistory(lost, { model: 'register' });
    expect(r.linearizable?.valid).toBe(true);
    expect(r.loss?.valid).toBe(false);
    expect(r.valid).toBe(false);
    expect(
      safe(() => {
        throw new Error('boom');
      }),
    ).toEqual({ crashed: true, valid: 'unknown', error: 'boom' });
    expect(mergeValidity([true, 'unknown', true])).toBe('unknown');
    expect(mergeValidity(['unknown', false])).toBe(false);
  });
});
