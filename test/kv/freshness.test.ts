/** A follower's staleness from the leader's heartbeats (src/kv/freshness.ts), on made-up clocks. */
import { describe, expect, it } from 'vitest';
import { Freshness } from '../../src/kv/node/freshness.js';

describe('Freshness', () => {
  it('is unknown until the node has applied what a heartbeat said was committed', () => {
    const f = new Freshness();
    expect(f.stalenessMs(1000)).toBeUndefined();
    f.noteLeader(1000, 50, 40); // the leader had committed 50 at t=1000; applied 40
    expect(f.stalenessMs(1100)).toBeUndefined();
    f.noteApplied(50);
    expect(f.stalenessMs(1100)).toBe(100);
  });

  it('grows with the clock between heartbeats and drops when a newer one is applied', () => {
    const f = new Freshness();
    f.noteLeader(1000, 10, 10);
    expect(f.stalenessMs(1000)).toBe(0);
    expect(f.stalenessMs(1250)).toBe(250);
    f.noteLeader(1100, 20, 10); // heard, but 11..20 not applied yet: still fresh as of 1000
    expect(f.stalenessMs(1300)).toBe(300);
    f.noteApplied(20);
    expect(f.stalenessMs(1300)).toBe(200);
  });

  it('counts only heartbeats whose commit it holds: a follower far behind stays stale', () => {
    const f = new Freshness();
    f.noteLeader(1000, 100, 100);
    for (let t = 1100; t <= 2000; t += 100) f.noteLeader(t, t, 150); // the leader races ahead
    expect(f.stalenessMs(2000)).toBe(1000);
    f.noteApplied(1500);
    expect(f.stalenessMs(2000)).toBe(500);
    expect(f.leaderCommitLsn()).toBe(2000);
  });

  it('ignores a pair older than the last one heard, and forgets everything on reset', () => {
    const f = new Freshness();
    f.noteLeader(2000, 30, 30);
    f.noteLeader(1500, 40, 40);
    expect(f.stalenessMs(2000)).toBe(0);
    expect(f.leaderCommitLsn()).toBe(30);
    f.reset();
    expect(f.stalenessMs(2000)).toBeUndefined();
    expect(f.leaderCommitLsn()).toBeUndefined();
  });
});
