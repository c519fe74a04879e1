/**
 * What the monitor records about each failover for a report to judge it needed or needless: how
 * long the old leader was unreachable from the monitor before its failover began, and what the old
 * leader answered at its own address then. A leader cut off from the monitor alone was alive (a
 * needless failover, as a GC pause or a latency spike makes); a killed one was not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { startFault } from '../../src/faults/nemesis/faults.js';
import { Rng } from '../../src/lib/rng.js';
import { waitFor } from '../../src/lib/wait.js';
import { startCluster } from '../helpers/cluster.js';

let cluster: ReplabCluster | undefined;
afterEach(async () => {
  await cluster?.down();
  cluster = undefined;
});

interface Promoted {
  event: string;
  from?: string;
  unreachableMs?: number;
  oldLeader?: { answered: boolean; role?: string; error?: string };
}

async function promotedFrom(c: ReplabCluster, from: string): Promise<Promoted> {
  let found: Promoted | undefined;
  const ok = await waitFor(
    async () => {
      const events = ((await c.monitorStatus())?.events ?? []) as Promoted[];
      found = events.find((e) => e.event === 'promoted' && e.from === from);
      return found !== undefined;
    },
    20_000,
    50,
  );
  expect(ok, `no promotion away from ${from}`).toBe(true);
  return found!;
}

describe('failover facts in the monitor events', () => {
  it('a leader cut off from the monitor only is recorded as answering (alive); a killed one as not answering', async () => {
    cluster = await startCluster({
      name: 'facts',
      nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
      replication: { mode: 'async' },
      heartbeatMs: 50,
      failover: { heartbeatMs: 100, failoverTimeoutMs: 1000, leaseMs: 500 },
    });
    const c = cluster;
    const cut = await startFault(c, { fault: 'partition', shape: 'isolate', target: 'n1', mode: 'blackhole', cut: ['monitor'] }, new Rng(1));
    const first = await promotedFrom(c, 'n1');
    await cut.stop();
    expect(first.unreachableMs).toBeGreaterThanOrEqual(1000);
    expect(first.oldLeader).toMatchObject({ answered: true, role: 'leader' });

    const second = (await c.monitorStatus())!.leader as string;
    await c.kill(second);
    const next = await promotedFrom(c, second);
    expect(next.unreachableMs).toBeGreaterThanOrEqual(1000);
    expect(next.oldLeader).toMatchObject({ answered: false });
  });
});
