import { describe, expect, it } from 'vitest';
import { checkLoss } from '../../src/checker/loss.js';
import { PairedHistory } from '../../src/history/op.js';
import { h, type Step } from '../helpers/history.js';

const finalRead = (process: string, node: string, value: unknown, key = 'x'): Step[] => [
  ['invoke', process, 'final-read', null, { key, node }],
  ['ok', process, 'final-read', value, { key, node }],
];

describe('loss: set', () => {
  it('acknowledged but absent is lost; unacknowledged but present is recovered; never written is unexpected', () => {
    const ops = h(
      ['invoke', 0, 'add', 1],
      ['ok', 0, 'add', 1],
      ['invoke', 0, 'add', 2],
      ['ok', 0, 'add', 2],
      ['invoke', 1, 'add', 3],
      ['info', 1, 'add', 3],
      ['invoke', 2, 'add', 4],
      ['fail', 2, 'add', 4],
      ...finalRead('final-n1', 'n1', [1, 3, 99]),
      ...finalRead('final-n2', 'n2', [1, 2, 3]),
    );
    const r = checkLoss(PairedHistory.of(ops));
    expect(r.valid).toBe(false);
    expect(r).toMatchObject({ acked: 2, attempted: 4, lostAcked: 1, recovered: 1, unexpected: 1, lostSamples: [2] });
    expect(r.perNode).toEqual([
      { node: 'n1', lost: 1, recovered: 1, unexpected: 1, failedButPresent: 0 },
      { node: 'n2', lost: 0, recovered: 1, unexpected: 0, failedButPresent: 0 },
    ]);
  });

  it('everything acknowledged present is valid; a fail that is present is not', () => {
    const ok = h(['invoke', 0, 'add', 1], ['ok', 0, 'add', 1], ...finalRead('f', 'n1', [1]));
    expect(checkLoss(PairedHistory.of(ok)).valid).toBe(true);
    const failedPresent = h(['invoke', 0, 'add', 1], ['fail', 0, 'add', 1], ...finalRead('f', 'n1', [1]));
    expect(checkLoss(PairedHistory.of(failedPresent))).toMatchObject({ valid: false, lostAcked: 0, recovered: 1 });
  });

  it('without a final read loss is unknown', () => {
    expect(checkLoss(PairedHistory.of(h(['invoke', 0, 'add', 1], ['ok', 0, 'add', 1]))).valid).toBe('unknown');
  });
});

describe('loss: register via the final state', () => {
  it('a final value older than an acknowledged write means that write was lost', () => {
    const ops = h(['invoke', 0, 'write', 'a'], ['ok', 0, 'write', 'a'], ['invoke', 0, 'write', 'b'], ['ok', 0, 'write', 'b'], ...finalRead('f', 'n1', 'a'));
    expect(checkLoss(PairedHistory.of(ops))).toMatchObject({ valid: false, acked: 2, lostAcked: 1, lostSamples: [{ key: 'x', value: 'b' }] });
  });

  it('a concurrent write may win either way', () => {
    const ops = h(['invoke', 0, 'write', 'a'], ['invoke', 1, 'write', 'b'], ['ok', 0, 'write', 'a'], ['ok', 1, 'write', 'b'], ...finalRead('f', 'n1', 'a'));
    expect(checkLoss(PairedHistory.of(ops))).toMatchObject({ valid: true, lostAcked: 0 });
  });

  it('an absent key after an acknowledged write is a loss; an info write present is recovered', () => {
    expect(checkLoss(PairedHistory.of(h(['invoke', 0, 'write', 'a'], ['ok', 0, 'write', 'a'], ...finalRead('f', 'n1', null)))).lostAcked).toBe(1);
    expect(checkLoss(PairedHistory.of(h(['invoke', 0, 'write', 'a'], ['info', 0, 'write', 'a'], ...finalRead('f', 'n1', 'a'))))).toMatchObject({
      valid: true,
      recovered: 1,
    });
  });
});
