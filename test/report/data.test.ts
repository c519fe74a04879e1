import { describe, expect, it } from 'vitest';
import { lagPoints } from '../../src/report/data.js';

describe('lagPoints', () => {
  it('numbers leader periods, so a failover (or a leader coming back later) starts a new line', () => {
    const line = (s: number, leader: string, follower: string, lagRecords: number) => ({
      time: s * 1e9,
      leader,
      follower,
      lagRecords,
      lagMs: 0,
      connected: true,
    });
    const points = lagPoints([line(1, 'n1', 'n2', 3), line(1, 'n1', 'n3', 4), line(2, 'n2', 'n3', 400), line(3, 'n2', 'n1', 9), line(4, 'n1', 'n2', 0)]);
    expect(points.map((p) => [p.t, p.follower, p.leader, p.period, p.records])).toEqual([
      [1, 'n2', 'n1', 0, 3],
      [1, 'n3', 'n1', 0, 4],
      [2, 'n3', 'n2', 1, 400],
      [3, 'n1', 'n2', 1, 9],
      [4, 'n2', 'n1', 2, 0],
    ]);
  });
});
