/**
 * Each commit mode acknowledges a write only when its rule holds, proven by pausing followers
 * (SIGSTOP) on a real 3-node process cluster and watching when the leader answers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { waitFor } from '../../src/lib/wait.js';
import { get, put, startCluster, status } from '../helpers/cluster.js';

const threeNodes = (replication: Record<string, unknown>) => ({
  name: 'modes',
  nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
  replication,
  heartbeatMs: 50,
});

let cluster: ReplabCluster | undefined;
afterEach(async () => {
  await cluster?.down();
  cluster = undefined;
});

/** Starts a PUT and reports whether it settled; the caller decides how long "still pending" must last. */
function track<T>(p: Promise<T>) {
  const t = { settled: false, value: undefined as T | undefined, promise: p };
  p.then(
    (v) => {
      t.settled = true;
      t.value = v;
    },
    () => (t.settled = true),
  );
  return t;
}

/** Waits until the leader has the write durable locally, then gives followers' acks time to matter. */
async function leaderFlushed(leader: string, lsn: number): Promise<void> {
  expect(await waitFor(async () => ((await status(leader)).flushedLsn as number) >= lsn, 5000)).toBe(true);
  await new Promise((r) => setTimeout(r, 400));
}

describe('cluster: commit modes', () => {
  it('async: acknowledged with both followers paused', async () => {
    cluster = await startCluster(threeNodes({ mode: 'async' }));
    const leader = cluster.endpoint('n1').http;
    await cluster.pause('n2');
    await cluster.pause('n3');
    const r = await put(leader, 'a', '1', 2000);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ key: 'a', value: '1', lsn: 1, epoch: 1 });
  });

  it('semi-sync k=1: blocks while both followers are paused, completes when one resumes', async () => {
    cluster = await startCluster(threeNodes({ mode: 'semi-sync', k: 1 }));
    const leader = cluster.endpoint('n1').http;
    expect((await put(leader, 'warm', 'x')).status).toBe(200);
    await cluster.pause('n2');
    await cluster.pause('n3');
    const w = track(put(leader, 'a', '1', 30_000));
    await leaderFlushed(leader, 2);
    expect(w.settled).toBe(false);
    // After-commit visibility: the leader does not show a write it has not acknowledged.
    expect((await get(leader, 'a')).status).toBe(404);
    await cluster.resume('n3');
    const r = await w.promise;
    expect(r.status).toBe(200);
    expect(r.body.lsn).toBe(2);
    expect((await get(leader, 'a')).body.value).toBe('1');
  });

  it('sync: blocks while one follower is paused, completes when it resumes', async () => {
    cluster = await startCluster(threeNodes({ mode: 'sync' }));
    const leader = cluster.endpoint('n1').http;
    await cluster.pause('n3');
    const w = track(put(leader, 'a', '1', 30_000));
    await leaderFlushed(leader, 1);
    expect(w.settled).toBe(false);
    const st = await status(leader);
    const n2 = (st.followers as Array<{ id: string; flushedLsn: number }>).find((f) => f.id === 'n2');
    expect(n2?.flushedLsn).toBe(1); // n2 has it; sync still waits for n3
    await cluster.resume('n3');
    expect((await w.promise).status).toBe(200);
  });

  it('semi-sync degrade: completes after syncTimeoutMs, marks degraded, and recovers when followers return', async () => {
    cluster = await startCluster(threeNodes({ mode: 'semi-sync', onSyncTimeout: 'degrade', syncTimeoutMs: 500 }));
    const leader = cluster.endpoint('n1').http;
    await cluster.pause('n2');
    await cluster.pause('n3');
    const started = Date.now();
    const r = await put(leader, 'a', '1', 10_000);
    const waited = Date.now() - started;
    expect(r.status).toBe(200);
    expect(waited).toBeGreaterThanOrEqual(450);
    expect((await status(leader)).degraded).toBe(true);
    // While degraded, writes commit on the local flush.
    expect((await put(leader, 'b', '2', 2000)).status).toBe(200);
    await cluster.resume('n2');
    await cluster.resume('n3');
    expect(
      await waitFor(
        async () => {
          await put(leader, `tick${Date.now()}`, 'x', 2000);
          return (await status(leader)).degraded === false;
        },
        10_000,
        50,
      ),
    ).toBe(true);
  });

  it('visibility early: the leader shows a write before followers confirm it (a phantom read)', async () => {
    cluster = await startCluster(threeNodes({ mode: 'semi-sync', visibility: 'early' }));
    const leader = cluster.endpoint('n1').http;
    await cluster.pause('n2');
    await cluster.pause('n3');
    const w = track(put(leader, 'a', '1', 30_000));
    await leaderFlushed(leader, 1);
    expect(w.settled).toBe(false);
    expect((await get(leader, 'a')).body.value).toBe('1');
    await cluster.resume('n2');
    expect((await w.promise).status).toBe(200);
  });

  /** Sync writes, each read back on a follower right after its acknowledgement: how many were not visible yet. */
  async function staleAfterAck(ackLevel: 'flush' | 'apply', writes: number): Promise<{ stale: number; minLatencyMs: number }> {
    cluster = await startCluster(threeNodes({ mode: 'sync', ackLevel, applyDelayMs: 200 }));
    const leader = cluster.endpoint('n1').http;
    let stale = 0;
    let minLatencyMs = Infinity;
    for (let i = 0; i < writes; i++) {
      const t0 = performance.now();
      expect((await put(leader, `k${i}`, `v${i}`)).status).toBe(200);
      minLatencyMs = Math.min(minLatencyMs, performance.now() - t0);
      const r = await get(cluster.endpoint(i % 2 ? 'n2' : 'n3').http, `k${i}`);
      if (r.body.value !== `v${i}`) stale++;
    }
    return { stale, minLatencyMs };
  }

  it('ack level flush with a 200 ms apply delay: follower reads right after sync writes are stale', async () => {
    const r = await staleAfterAck('flush', 10);
    // The follower confirmed once the record was on its disk, well before it applied it.
    expect(r.stale).toBeGreaterThanOrEqual(8);
    expect(r.minLatencyMs).toBeLessThan(200);
  });

  it('ack level apply with a 200 ms apply delay: never stale, and each write waits for the apply', async () => {
    const r = await staleAfterAck('apply', 10);
    expect(r.stale).toBe(0);
    expect(r.minLatencyMs).toBeGreaterThanOrEqual(150);
  });

  /** With a slow disk (300 ms per fdatasync), where each follower stood when a sync write was acknowledged. */
  async function followersAtAck(ackLevel: 'write' | 'flush'): Promise<{ unsyncedAtAck: number; writes: number }> {
    cluster = await startCluster({ ...threeNodes({ mode: 'sync', ackLevel }), storage: { syncDelayMs: 300 } });
    const leader = cluster.endpoint('n1').http;
    let unsyncedAtAck = 0;
    const writes = 4;
    for (let i = 0; i < writes; i++) {
      const w = await put(leader, `k${i}`, `v${i}`);
      expect(w.status).toBe(200);
      const lsn = w.body.lsn as number;
      for (const id of ['n2', 'n3']) {
        const st = await status(cluster.endpoint(id).http);
        expect(st.writtenLsn as number).toBeGreaterThanOrEqual(lsn);
        if ((st.flushedLsn as number) < lsn) unsyncedAtAck++;
      }
    }
    return { unsyncedAtAck, writes };
  }

  it('ack level write: acknowledged once followers wrote the record, before their fdatasync', async () => {
    const r = await followersAtAck('write');
    expect(r.unsyncedAtAck).toBeGreaterThanOrEqual(r.writes);
  });

  it("ack level flush: acknowledged only once every sync follower fdatasync'd the record", async () => {
    const r = await followersAtAck('flush');
    expect(r.unsyncedAtAck).toBe(0);
  });
});
