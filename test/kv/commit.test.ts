import { describe, expect, it } from 'vitest';
import { type CommitSettings, DEFAULT_COMMIT } from '../../src/kv/config.js';
import { commitLsn } from '../../src/kv/node/commit.js';

const f = (id: string, flushedLsn: number, appliedLsn = flushedLsn, writtenLsn = flushedLsn) => ({ id, writtenLsn, flushedLsn, appliedLsn });
const at = (settings: Partial<CommitSettings>, local: number, followers: ReturnType<typeof f>[], degraded = false) =>
  commitLsn({ settings: { ...DEFAULT_COMMIT, ...settings }, localFlushedLsn: local, followers, degraded });

describe('commit rule', () => {
  it('async commits on the local flush alone', () => {
    expect(at({ mode: 'async' }, 10, [])).toBe(10);
  });
  it('semi-sync k=1 waits for the best follower, k=2 for the second best', () => {
    expect(at({ mode: 'semi-sync' }, 10, [])).toBe(0);
    expect(at({ mode: 'semi-sync' }, 10, [f('n2', 7), f('n3', 4)])).toBe(7);
    expect(at({ mode: 'semi-sync', k: 2 }, 10, [f('n2', 7), f('n3', 4)])).toBe(4);
    expect(at({ mode: 'semi-sync' }, 5, [f('n2', 7)])).toBe(5);
  });
  it('sync waits for every configured standby, counting a never-seen one as 0', () => {
    expect(at({ mode: 'sync', syncStandbys: ['n2', 'n3'] }, 10, [f('n2', 9), f('n3', 8)])).toBe(8);
    expect(at({ mode: 'sync', syncStandbys: ['n2', 'n3'] }, 10, [f('n2', 9)])).toBe(0);
  });
  it("ack levels: write counts what followers wrote, flush what they fdatasync'd, apply what they applied", () => {
    const n2 = f('n2', 6, 3, 9);
    expect(at({ mode: 'semi-sync', ackLevel: 'write' }, 10, [n2])).toBe(9);
    expect(at({ mode: 'semi-sync', ackLevel: 'flush' }, 10, [n2])).toBe(6);
    expect(at({ mode: 'semi-sync', ackLevel: 'apply' }, 10, [n2])).toBe(3);
    // The leader's own flush still bounds every level (PostgreSQL flushes locally first too).
    expect(at({ mode: 'sync', ackLevel: 'write', syncStandbys: ['n2'] }, 7, [n2])).toBe(7);
  });
  it('degraded commits on the local flush', () => {
    expect(at({ mode: 'sync', syncStandbys: ['n2'] }, 10, [], true)).toBe(10);
  });
});
