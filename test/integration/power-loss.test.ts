/**
 * Ack levels against a power cut (PostgreSQL's remote_write vs on): nodes run with
 * --simulate-power-loss and a slow disk, a background writer runs, then both followers lose power
 * (the power-loss nemesis) and the leader is killed. The monitor promotes a follower once it is
 * back. With `ackLevel: write` a follower had only written (not synced) the newest acknowledged
 * writes, so they are gone; with `flush` every acknowledged write was on both followers' disks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { startFault } from '../../src/faults/nemesis/faults.js';
import { Rng } from '../../src/lib/rng.js';
import { waitFor } from '../../src/lib/wait.js';
import { BackgroundWriter, dump, startCluster } from '../helpers/cluster.js';

let cluster: ReplabCluster | undefined;
afterEach(async () => {
  await cluster?.down();
  cluster = undefined;
});

async function powerCutThenFailover(ackLevel: 'write' | 'flush'): Promise<{ acked: number; lost: string[]; leader: string }> {
  cluster = await startCluster({
    name: 'power',
    nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
    replication: { mode: 'sync', ackLevel },
    storage: { syncDelayMs: 150, simulatePowerLoss: true },
    heartbeatMs: 50,
    failover: { heartbeatMs: 100, failoverTimeoutMs: 800, leaseMs: 400 },
  });
  const c = cluster;
  const leader = c.endpoint('n1').http;
  const writer = new BackgroundWriter(() => leader, { concurrency: 8, timeoutMs: 2000 });
  await writer.waitForAcks(40);
  const cut = await startFault(c, { fault: 'power-loss', target: ['n2', 'n3'] }, new Rng(1));
  await c.kill('n1');
  await writer.stop();
  await cut.stop(); // n2 and n3 come back with what they had synced
  const promoted = await waitFor(async () => ['n2', 'n3'].includes(await c.currentLeaderId().catch(() => '')), 20_000, 100);
  expect(promoted, 'a follower is promoted after the power cut').toBe(true);
  const newLeader = await c.currentLeaderId();
  const data = await dump(c.endpoint(newLeader).http);
  const lost = [...writer.acked].filter(([k, v]) => data[k] !== v).map(([k]) => k);
  return { acked: writer.acked.size, lost, leader: newLeader };
}

describe('power loss: ack levels', () => {
  it('ackLevel write: a follower power cut plus a leader kill loses acknowledged writes', async () => {
    const r = await powerCutThenFailover('write');
    expect(r.acked).toBeGreaterThanOrEqual(40);
    expect(r.lost.length, `acknowledged ${r.acked}, lost on ${r.leader}: ${r.lost.slice(0, 5).join(', ')}`).toBeGreaterThan(0);
  }, 90_000);

  it('ackLevel flush: the same faults lose nothing acknowledged', async () => {
    const r = await powerCutThenFailover('flush');
    expect(r.acked).toBeGreaterThanOrEqual(40);
    expect(r.lost, `lost on ${r.leader}`).toEqual([]);
  }, 90_000);

  it('refuses a power-loss fault on nodes not started with the simulation', async () => {
    cluster = await startCluster({ name: 'nopower', nodes: [{ id: 'n1' }, { id: 'n2' }], heartbeatMs: 50 });
    await expect(startFault(cluster, { fault: 'power-loss', target: ['n2'] }, new Rng(1))).rejects.toThrow(/--simulate-power-loss/);
  }, 60_000);
});
