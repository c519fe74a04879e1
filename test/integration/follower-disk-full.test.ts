/**
 * A follower's disk fills up under semi-sync writes, is freed, fills again, and then the follower
 * is made leader. It must never say it holds what it does not: after each stall it catches up (or
 * installs a checkpoint) and, once promoted, serves every write the cluster acknowledged.
 *
 * Each node's data dir is on a volume of its own (storage.volumeMiB, src/cluster/volumes.ts); the
 * fault fills n2's alone. Small segments and checkpoints, 2 KiB values each to a new key: the
 * shape in which a follower used to report an applied LSN thousands of records past the keys it
 * held (its snapshot install wiped its log before the new checkpoint was on disk), and lost them
 * on promotion. Mounting needs root: the test skips with a warning otherwise.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { FILLER_FILE } from '../../src/cluster/volumes.js';
import { waitFor } from '../../src/lib/wait.js';
import { BackgroundWriter, dump, startCluster, status } from '../helpers/cluster.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('follower disk-full test skipped: a data volume per node needs root');

let cluster: ReplabCluster | undefined;
afterEach(async () => {
  await cluster?.down({ clean: true });
  cluster = undefined;
});

const spec = {
  name: 'fdf',
  nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
  replication: { mode: 'semi-sync', k: 1 },
  storage: { segmentBytes: 256 * 1024, checkpointBytes: 1024 * 1024, volumeMiB: 128 },
  failover: { heartbeatMs: 200, failoverTimeoutMs: 3000, leaseMs: 1500 },
};

async function missingOn(c: ReplabCluster, id: string, acked: Map<string, string>): Promise<string[]> {
  const held = await dump(c.endpoint(id).http);
  return [...acked].filter(([k, v]) => held[k] !== v).map(([k]) => k);
}

/** How many times n2 refused a checkpoint from upstream for want of space (its log says so). */
async function refusedInstalls(c: ReplabCluster): Promise<number> {
  const lines = (await fsp.readFile(c.logFile('n2'), 'utf8')).split('\n');
  return lines.filter((l) => l.includes('cannot write the checkpoint from upstream') && /ENOSPC|no space/i.test(l)).length;
}

async function caughtUp(c: ReplabCluster, leader: string, id: string): Promise<boolean> {
  const [l, f] = await Promise.all([status(c.endpoint(leader).http), status(c.endpoint(id).http)]);
  return f.diskStalled === null && typeof l.lastLsn === 'number' && f.appliedLsn === l.lastLsn;
}

describe.skipIf(!isRoot)('a follower whose disk fills up', () => {
  it('stalls, catches up once freed, holds every acknowledged write, and loses none when promoted', async () => {
    cluster = await startCluster(spec);
    const c = cluster;
    const writer = new BackgroundWriter(() => c.endpoint('n1').http, { concurrency: 8, valueBytes: 2048, timeoutMs: 10_000 });
    const stalls: number[] = [];
    try {
      await writer.waitForAcks(300);
      // Three rounds: fill n2's disk until its WAL stalls; write on (n3 confirms) until the leader
      // has checkpointed past what n2 holds, so n2 needs a checkpoint to catch up; give back room
      // for its log but not for that checkpoint, then give back everything.
      for (let round = 0; round < 3; round++) {
        await c.fillDisk('n2');
        const stalled = await waitFor(async () => (await status(c.endpoint('n2').http)).diskStalled !== null, 20_000, 50);
        if (stalled) stalls.push(round);
        // Writes go on (n3 confirms) until the state is larger than the room n2 will get back
        // (2,000 values of 2 KiB), and the leader's log starts past n2's: n2 can only come back
        // through a checkpoint, and that checkpoint cannot fit.
        await writer.waitForAcks(2000, 120_000);
        const passed = await waitFor(
          async () => ((await status(c.endpoint('n1').http)).checkpointLsn as number) > ((await status(c.endpoint('n2').http)).lastLsn as number),
          90_000,
          200,
        );
        expect(passed, `round ${round}: the leader checkpointed past n2`).toBe(true);
        // Room for n2's log (a segment and a record: 1.25 MiB), not for that checkpoint (over
        // 4 MiB): its install must fail without harm.
        const filler = path.join(c.endpoint('n2').dataDir, FILLER_FILE);
        const before = await refusedInstalls(c);
        await fsp.truncate(filler, Math.max(0, (await fsp.stat(filler)).size - 1536 * 1024));
        const refused = await waitFor(async () => (await refusedInstalls(c)) > before, 60_000, 100);
        expect(refused, `round ${round}: n2 tried to install a checkpoint that did not fit`).toBe(true);
        await c.freeDisk('n2');
        await writer.waitForAcks(300, 60_000);
      }
    } finally {
      await writer.stop();
    }
    expect(stalls.length, 'n2 stalled in every round (the fault happened)').toBe(3);
    // Caught up: it applied everything the leader has, and holds every acknowledged write.
    expect(await waitFor(() => caughtUp(c, 'n1', 'n2'), 60_000, 200)).toBe(true);
    expect(await missingOn(c, 'n2', writer.acked), `${writer.acked.size} acknowledged writes on n2 before the switchover`).toEqual([]);
    // Every record is a put of a new key: the keys n2 holds must be exactly the LSNs it says it applied.
    const st = await status(c.endpoint('n2').http);
    expect(Object.keys(await dump(c.endpoint('n2').http)).length, `n2 says applied lsn ${String(st.appliedLsn)}`).toBe(st.appliedLsn);

    await c.switchover('n2');
    expect(await missingOn(c, 'n2', writer.acked), `${writer.acked.size} acknowledged writes on n2 as leader`).toEqual([]);
  }, 240_000);
});
