import { describe, expect, it } from 'vitest';
import { divergencePoint, endOfEpoch, epochOf } from '../../src/kv/state/epochs.js';

const history = [
  { epoch: 1, startLsn: 1 },
  { epoch: 2, startLsn: 21 },
  { epoch: 4, startLsn: 40 },
];

describe('epoch history', () => {
  it('epochOf names the epoch that wrote an lsn', () => {
    expect(epochOf(history, 0)).toBe(0);
    expect(epochOf(history, 1)).toBe(1);
    expect(epochOf(history, 20)).toBe(1);
    expect(epochOf(history, 21)).toBe(2);
    expect(epochOf(history, 500)).toBe(4);
    expect(epochOf([], 5)).toBe(0);
  });

  it('endOfEpoch is the last lsn written in that epoch or earlier', () => {
    expect(endOfEpoch(history, 1, 50)).toBe(20);
    expect(endOfEpoch(history, 3, 50)).toBe(39); // epoch 3 never wrote: epoch 2 ends it
    expect(endOfEpoch(history, 4, 50)).toBe(50);
    expect(endOfEpoch(history, 0, 50)).toBe(0);
  });

  it('divergencePoint: an old leader ahead in epoch 1 cuts back to where epoch 1 ended here', () => {
    expect(divergencePoint(history, 50, 35, 1)).toBe(20);
    // A follower merely behind in the same history keeps its log.
    expect(divergencePoint(history, 50, 30, 2)).toBe(30);
    // A new leader that wrote nothing yet in its epoch still ends epoch 1 at its last lsn.
    expect(
      divergencePoint(
        [
          { epoch: 1, startLsn: 1 },
          { epoch: 2, startLsn: 21 },
        ],
        20,
        50,
        1,
      ),
    ).toBe(20);
    // Nothing in common.
    expect(divergencePoint([{ epoch: 2, startLsn: 1 }], 10, 15, 1)).toBe(0);
  });
});
