/**
 * Followers recover by themselves: one killed with SIGKILL under continuous writes and restarted
 * on its data dir catches up; a brand-new one bootstraps from a checkpoint while writes go on; a
 * relay chain converges. Every check compares whole node states, not counts.
 */
import { promises as fsp } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { BackgroundWriter, dump, startCluster, status } from '../helpers/cluster.js';

let cluster: ReplabCluster | undefined;
let writer: BackgroundWriter | undefined;
afterEach(async () => {
  await writer?.stop();
  await cluster?.down();
  cluster = undefined;
  writer = undefined;
});

async function expectSameState(c: ReplabCluster, ids: string[]): Promise<Record<string, string>> {
  const lsn = await c.waitConverged();
  const leaderData = await dump(c.endpoint(c.leaderId()).http);
  for (const id of ids) {
    expect(await dump(c.endpoint(id).http), `state of ${id}`).toEqual(leaderData);
    expect((await status(c.endpoint(id).http)).appliedLsn, `appliedLsn of ${id}`).toBe(lsn);
  }
  return leaderData;
}

describe('cluster: catch-up', () => {
  it('follower killed (-9) under continuous writes catches up after restart (semi-sync, n=3)', async () => {
    cluster = await startCluster({ name: 'catchup', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'semi-sync' }, heartbeatMs: 50 });
    const c = cluster;
    writer = new BackgroundWriter(() => c.endpoint('n1').http, { concurrency: 8 });
    await writer.waitForAcks(300);
    await c.kill('n3');
    await writer.waitForAcks(500); // n2 alone keeps semi-sync committing
    await c.restart('n3');
    await writer.waitForAcks(300);
    await writer.stop();
    const data = await expectSameState(c, ['n2', 'n3']);
    for (const [k, v] of writer.acked) expect(data[k]).toBe(v);
  });

  it('new follower added under continuous writes bootstraps from a snapshot and ends equal to the leader', async () => {
    cluster = await startCluster({
      name: 'addf',
      nodes: [{ id: 'n1' }, { id: 'n2' }],
      replication: { mode: 'async' },
      // Small checkpoints, so the WAL the new node would need is gone and a snapshot is required.
      storage: { checkpointBytes: 32 * 1024, segmentBytes: 8 * 1024 },
      heartbeatMs: 50,
    });
    const c = cluster;
    writer = new BackgroundWriter(() => c.endpoint('n1').http, { concurrency: 8 });
    await writer.waitForAcks(2000);
    const leaderBefore = await status(c.endpoint('n1').http);
    expect(leaderBefore.checkpointLsn as number).toBeGreaterThan(0);
    const id = await c.addFollower();
    expect(id).toBe('n3');
    await writer.waitForAcks(500);
    await writer.stop();
    await expectSameState(c, ['n2', 'n3']);
    // It started from a snapshot taken while writes went on, not by replaying from lsn 1.
    const log = await fsp.readFile(c.logFile('n3'), 'utf8');
    const installed = log
      .split('\n')
      .filter((l) => l.includes('installed snapshot from upstream'))
      .map((l) => JSON.parse(l) as { lsn: number });
    expect(installed.length).toBe(1);
    expect(installed[0]!.lsn).toBeGreaterThan(0);
  });

  it('a chain of 3 relays converges (n1 -> n2 -> n3 -> n4, sync)', async () => {
    cluster = await startCluster({
      name: 'chain',
      topology: 'chain',
      nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }, { id: 'n4' }],
      replication: { mode: 'sync' },
      heartbeatMs: 50,
    });
    const c = cluster;
    const leader = await status(c.endpoint('n1').http);
    expect((leader.followers as unknown[]).length).toBe(1); // only n2 streams from n1
    expect(((await status(c.endpoint('n4').http)).upstream as { id: string }).id).toBe('n3');
    writer = new BackgroundWriter(() => c.endpoint('n1').http, { concurrency: 8 });
    await writer.waitForAcks(500);
    await writer.stop();
    const data = await expectSameState(c, ['n2', 'n3', 'n4']);
    expect(Object.keys(data).length).toBeGreaterThanOrEqual(500);
  });
});
