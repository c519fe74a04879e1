import { describe, expect, it } from 'vitest';
import { checkReadPlacement } from '../../src/checker/read-placement.js';
import { type Op, PairedHistory } from '../../src/history/op.js';

let index = 0;
const op = (process: number, type: Op['type'], f: string, extra: Partial<Op> = {}): Op => ({
  index: index++,
  time: index,
  process,
  type,
  f,
  value: null,
  ...extra,
});

describe('checkReadPlacement', () => {
  it('counts reads served by a node other than the one acknowledging writes then', () => {
    index = 0;
    const h = [
      op(0, 'invoke', 'write', { key: 'k', value: 'a' }),
      op(0, 'ok', 'write', { key: 'k', value: 'a', node: 'n1' }),
      op(1, 'invoke', 'read', { key: 'k' }),
      op(1, 'ok', 'read', { key: 'k', value: 'a', node: 'n2' }),
      op(1, 'invoke', 'read', { key: 'k' }),
      op(1, 'ok', 'read', { key: 'k', value: 'a', node: 'n1' }),
      op(1, 'invoke', 'read', { key: 'k' }),
      op(1, 'fail', 'read', { key: 'k', node: 'n3', error: 'too_stale' }),
    ];
    expect(checkReadPlacement(PairedHistory.of(h))).toEqual({ okReads: 2, followerReads: 1, followerShare: 0.5 });
  });

  it("a read on the new leader before its first acknowledgement is the leader's, not a follower read", () => {
    index = 0;
    const h = [
      op(0, 'invoke', 'write', { key: 'k', value: 'a' }),
      op(0, 'ok', 'write', { key: 'k', value: 'a', node: 'n1' }),
      // failover: n2 leads from here
      op(1, 'invoke', 'read', { key: 'k' }),
      op(1, 'ok', 'read', { key: 'k', value: 'a', node: 'n2' }),
      op(0, 'invoke', 'write', { key: 'k', value: 'b' }),
      op(0, 'ok', 'write', { key: 'k', value: 'b', node: 'n2' }),
    ];
    expect(checkReadPlacement(PairedHistory.of(h))).toEqual({ okReads: 1, followerReads: 0, followerShare: 0 });
  });

  it('has no share without ok reads', () => {
    expect(checkReadPlacement(PairedHistory.of([])).followerShare).toBeNull();
  });
});
