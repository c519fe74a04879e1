import { describe, expect, it } from 'vitest';
import { type CandidateInput, chooseCandidate } from '../../src/monitor/candidate.js';
import { repointedUpstreams } from '../../src/monitor/monitor.js';

const base = (over: Partial<CandidateInput> = {}): CandidateInput => ({
  mode: 'async',
  k: 1,
  oldLeader: 'n1',
  directFollowers: ['n2', 'n3'],
  syncStandbys: ['n2', 'n3'],
  leaderLastLsn: 100,
  leaderDegraded: false,
  maxLagOnFailover: null,
  views: [
    { id: 'n2', reachable: true, role: 'follower', lastEpoch: 1, flushedLsn: 90 },
    { id: 'n3', reachable: true, role: 'follower', lastEpoch: 1, flushedLsn: 95 },
  ],
  ...over,
});

describe('chooseCandidate', () => {
  it('picks the follower with the highest flushed lsn', () => {
    expect(chooseCandidate(base())).toMatchObject({ ok: true, id: 'n3' });
  });

  it('ranks the epoch of the last record before the lsn', () => {
    const views = [
      { id: 'n2', reachable: true, role: 'follower', lastEpoch: 2, flushedLsn: 50 },
      { id: 'n3', reachable: true, role: 'follower', lastEpoch: 1, flushedLsn: 95 },
    ];
    expect(chooseCandidate(base({ views }))).toMatchObject({ ok: true, id: 'n2' });
  });

  it('ignores unreachable nodes and the old leader', () => {
    const views = [
      { id: 'n1', reachable: true, role: 'leader', lastEpoch: 1, flushedLsn: 100 },
      { id: 'n2', reachable: true, role: 'follower', lastEpoch: 1, flushedLsn: 90 },
      { id: 'n3', reachable: false },
    ];
    expect(chooseCandidate(base({ views }))).toMatchObject({ ok: true, id: 'n2' });
  });

  it('refuses when no follower answers', () => {
    expect(chooseCandidate(base({ views: [{ id: 'n2', reachable: false }] }))).toEqual({ ok: false, why: 'no follower is reachable' });
  });

  it('semi-sync k=1 of 2 needs both direct followers; k=2 of 2 needs one', () => {
    const views = [
      { id: 'n2', reachable: true, role: 'follower', lastEpoch: 1, flushedLsn: 90 },
      { id: 'n3', reachable: false },
    ];
    const one = chooseCandidate(base({ mode: 'semi-sync', k: 1, views }));
    expect(one.ok).toBe(false);
    expect(one.why).toContain('only 1 of 2 direct followers answer, 2 are needed');
    expect(chooseCandidate(base({ mode: 'semi-sync', k: 2, views }))).toMatchObject({ ok: true, id: 'n2' });
    // A leader that had degraded to async promised nothing more than async does.
    expect(chooseCandidate(base({ mode: 'semi-sync', k: 1, views, leaderDegraded: true }))).toMatchObject({ ok: true, id: 'n2' });
  });

  it('semi-sync: a direct follower answering in another role counts, as its log is known', () => {
    // The old leader of epoch 1 came back (restarted, not yet repointed) while the leader of epoch
    // 2 went silent: it holds nothing of epoch 2, so n3 must hold every acknowledged write.
    const views = [
      { id: 'n1', reachable: true, role: 'leader', lastEpoch: 1, flushedLsn: 409 },
      { id: 'n3', reachable: true, role: 'follower', lastEpoch: 2, flushedLsn: 1000 },
    ];
    const input = { mode: 'semi-sync' as const, k: 1, oldLeader: 'n2', directFollowers: ['n1', 'n3'], views };
    expect(chooseCandidate(base(input))).toMatchObject({ ok: true, id: 'n3' });
    // But if that node's log is longer than every follower's, promoting one could lose writes.
    const aheadViews = [
      { id: 'n1', reachable: true, role: 'leader', lastEpoch: 2, flushedLsn: 1200 },
      { id: 'n3', reachable: true, role: 'follower', lastEpoch: 2, flushedLsn: 1000 },
    ];
    const r = chooseCandidate(base({ ...input, views: aheadViews }));
    expect(r).toEqual({ ok: false, why: expect.stringContaining('n1 answers as leader with a longer log (epoch 2, lsn 1200) than the best follower n3') });
  });

  it('sync needs at least one standby to answer', () => {
    const views = [
      { id: 'n2', reachable: false },
      { id: 'n3', reachable: true, role: 'follower', lastEpoch: 1, flushedLsn: 95 },
    ];
    expect(chooseCandidate(base({ mode: 'sync', syncStandbys: ['n2'], views })).ok).toBe(false);
    expect(chooseCandidate(base({ mode: 'sync', syncStandbys: ['n2', 'n3'], views }))).toMatchObject({ ok: true, id: 'n3' });
  });

  it('maxLagOnFailover refuses a candidate too far behind, naming the lag', () => {
    const r = chooseCandidate(base({ maxLagOnFailover: 3 }));
    expect(r).toEqual({ ok: false, why: expect.stringContaining('n3 is 5 records behind') });
    expect(chooseCandidate(base({ maxLagOnFailover: 5 }))).toMatchObject({ ok: true, id: 'n3' });
  });
});

describe('repointedUpstreams', () => {
  it('direct: everyone, the old leader included, follows the new leader', () => {
    expect(repointedUpstreams({ n2: 'n1', n3: 'n1' }, 'n1', 'n2')).toEqual({ n3: 'n2', n1: 'n2' });
  });
  it('chain: followers of the promoted relay stay with it', () => {
    expect(repointedUpstreams({ n2: 'n1', n3: 'n2', n4: 'n3' }, 'n1', 'n2')).toEqual({ n3: 'n2', n4: 'n3', n1: 'n2' });
  });
});
