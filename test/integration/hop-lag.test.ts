/**
 * Lag adds up along a relay chain: n1 → n2 → n3 with 150 ms one way on each hop. Each follower
 * measures itself against the leader's heartbeats (a relay forwards them as it heard them), so n3,
 * two hops away, must report about one hop more staleness than n2, and the system's lag samples
 * must list n3 (behind relay n2), which the leader alone does not see.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { ReplabSystem } from '../../src/systems/replab/index.js';
import { BackgroundWriter, startCluster, status } from '../helpers/cluster.js';

let cluster: ReplabCluster | undefined;
afterEach(async () => {
  await cluster?.down({ clean: true });
  cluster = undefined;
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('lag on every hop of a relay chain', () => {
  it('grows by about one hop from n2 to n3, and the lag samples show n3 behind relay n2', async () => {
    cluster = await startCluster({
      name: 'hops',
      topology: 'chain',
      nodes: [
        { id: 'n1', region: 'a' },
        { id: 'n2', region: 'b' },
        { id: 'n3', region: 'c' },
      ],
      regions: { a: { b: 150, c: 150 }, b: { c: 150 } },
      replication: { mode: 'async' },
      heartbeatMs: 50,
    });
    const c = cluster;
    const sys = new ReplabSystem(c);
    const writer = new BackgroundWriter(() => c.endpoint('n1').http, { concurrency: 2 });
    const n2: number[] = [];
    const n3: number[] = [];
    let samples: Awaited<ReturnType<ReplabSystem['lag']>>;
    try {
      await writer.waitForAcks(50);
      for (let i = 0; i < 30; i++) {
        const [s2, s3] = await Promise.all([status(c.endpoint('n2').http), status(c.endpoint('n3').http)]);
        if (typeof s2.staleMs === 'number') n2.push(s2.staleMs);
        if (typeof s3.staleMs === 'number') n3.push(s3.staleMs);
        await writer.waitForAcks(5);
      }
      samples = await sys.lag();
    } finally {
      await writer.stop();
    }
    expect(n2.length).toBeGreaterThan(20);
    expect(n3.length).toBeGreaterThan(20);
    // One hop is at least 150 ms of delay; two hops at least 300 ms.
    expect(median(n2), `n2 ${n2.join(',')}`).toBeGreaterThanOrEqual(150);
    expect(median(n3), `n3 ${n3.join(',')}`).toBeGreaterThanOrEqual(300);
    expect(median(n3) - median(n2), `n2 ${median(n2)} ms, n3 ${median(n3)} ms`).toBeGreaterThanOrEqual(100);
    const s3 = samples?.find((s) => s.follower === 'n3');
    expect(s3, JSON.stringify(samples)).toMatchObject({ leader: 'n1', upstream: 'n2' });
    expect(s3!.lagMs).toBeGreaterThanOrEqual(150);
  });
});
