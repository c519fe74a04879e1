/**
 * Failover, fencing and the returning old leader, on real processes: three nodes plus the monitor,
 * with short timings (monitor heartbeat 50 ms, failoverTimeoutMs 600, lease 300).
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { call, closeKvClients } from '../../src/client/kv-http.js';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { startFault } from '../../src/faults/nemesis/faults.js';
import type { AdminAction, AdminBody } from '../../src/kv/api/bodies.js';
import { readRewound } from '../../src/kv/state/rewound.js';
import { silentLogger } from '../../src/lib/log.js';
import { Rng } from '../../src/lib/rng.js';
import { waitFor } from '../../src/lib/wait.js';
import { loadMonitorConfig } from '../../src/monitor/config.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { NodeApi } from '../../src/monitor/node-api.js';
import { Router } from '../../src/router/router.js';
import { dump, OutcomeWriter, put, startCluster, status } from '../helpers/cluster.js';

const FAST_FAILOVER = { heartbeatMs: 50, failoverTimeoutMs: 600, leaseMs: 300 };
const threeNodes = (name: string, replication: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name,
  nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
  replication,
  heartbeatMs: 50,
  failover: FAST_FAILOVER,
  ...extra,
});

let cluster: ReplabCluster | undefined;
let router: Router | undefined;
afterEach(async () => {
  await router?.close();
  router = undefined;
  await cluster?.down();
  cluster = undefined;
  closeKvClients();
});

async function waitForLeader(c: ReplabCluster, not: string, timeoutMs = 15_000): Promise<string> {
  let leader = not;
  const ok = await waitFor(
    async () => {
      const st = await c.monitorStatus();
      leader = (st?.leader as string | undefined) ?? not;
      return leader !== not;
    },
    timeoutMs,
    20,
  );
  if (!ok) throw new Error(`no node replaced ${not} as leader within ${timeoutMs} ms; monitor: ${JSON.stringify((await c.monitorStatus())?.failover)}`);
  return leader;
}

const putVia = (address: string) => (key: string, value: string) => call({ address, method: 'PUT', path: `/kv/${key}`, body: value, timeoutMs: 3000 });

describe('failover', () => {
  it('leader killed (-9) under writes, semi-sync k=1 block: a follower is promoted, writes resume through the client and the router, no acknowledged write is lost', async () => {
    cluster = await startCluster(threeNodes('fo-semi', { mode: 'semi-sync', k: 1, onSyncTimeout: 'block' }));
    const c = cluster;
    router = new Router({ monitor: c.monitorHttp, reads: 'leader', refreshMs: 50 }, silentLogger());
    const routerAddress = await router.listen('127.0.0.1', 0);
    const client = c.client();
    const viaClient = new OutcomeWriter((key, value) => client.request('leader', { method: 'PUT', path: `/kv/${key}`, body: value, timeoutMs: 3000 }), {
      prefix: 'c',
      concurrency: 3,
    });
    const viaRouter = new OutcomeWriter(putVia(routerAddress), { prefix: 'r', concurrency: 3 });
    await viaClient.waitForAcks(50);
    await viaRouter.waitForAcks(50);

    await c.kill('n1');
    const leader = await waitForLeader(c, 'n1');
    // Writes resume on the new leader, at the new epoch, through both paths.
    await viaClient.waitForAcks(30, 20_000, (w) => w.node === leader && w.epoch === 2);
    await viaRouter.waitForAcks(30, 20_000, (w) => w.node === leader && w.epoch === 2);
    await viaClient.stop();
    await viaRouter.stop();

    const data = await dump(c.endpoint(leader).http);
    const lost = [...viaClient.acked, ...viaRouter.acked].filter((w) => data[w.key] !== w.value);
    expect(lost).toEqual([]);
    const st = await status(c.endpoint(leader).http);
    expect(st.role).toBe('leader');
    expect(st.epoch).toBe(2);
    const events = ((await c.monitorStatus())!.events as Array<{ event: string; detectionMs?: number }>).map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['leader-unreachable', 'leader-declared-dead', 'promoted', 'repointed']));
  });

  it("async with the followers behind: acknowledged writes the new leader lacks end up in the old leader's rewound.jsonl, and the cluster converges", async () => {
    cluster = await startCluster(threeNodes('fo-async', { mode: 'async' }));
    const c = cluster;
    for (let i = 0; i < 20; i++) expect((await put(c.endpoint('n1').http, `base${i}`, `b${i}`)).status).toBe(200);
    await c.waitConverged();
    // The followers stop receiving: killed, not paused (a paused process's kernel keeps
    // accepting the stream into its socket buffer, so it would not fall behind at all).
    await c.kill('n2');
    await c.kill('n3');
    const ahead: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await put(c.endpoint('n1').http, `ahead${i}`, `a${i}`);
      expect(r.status).toBe(200); // async: acknowledged on the leader's own fsync
      ahead.push(`ahead${i}`);
    }
    await c.kill('n1');
    await c.restart('n2');
    await c.restart('n3');
    const leader = await waitForLeader(c, 'n1');
    expect((await put(c.endpoint(leader).http, 'after', 'x')).status).toBe(200);

    await c.restart('n1');
    await waitFor(async () => (await c.status('n1'))?.role === 'follower' && (await c.status('n1'))?.epoch === 2, 15_000);
    await c.waitConverged();

    const rewound = await readRewound(c.endpoint('n1').dataDir);
    expect(rewound.map((r) => r.key).sort()).toEqual([...ahead].sort());
    expect(rewound.every((r) => r.epoch === 1 && r.op === 'put')).toBe(true);
    // Every node holds the same data and the same epoch history.
    const dumps = await Promise.all(['n1', 'n2', 'n3'].map((id) => dump(c.endpoint(id).http)));
    expect(dumps[0]).toEqual(dumps[1]);
    expect(dumps[1]).toEqual(dumps[2]);
    expect(dumps[0]!.after).toBe('x');
    expect(Object.keys(dumps[0]!).some((k) => k.startsWith('ahead'))).toBe(false);
    const histories = await Promise.all(['n1', 'n2', 'n3'].map(async (id) => (await c.status(id))!.epochHistory));
    expect(histories[0]).toEqual([
      { epoch: 1, startLsn: 1 },
      { epoch: 2, startLsn: 21 },
    ]);
    expect(histories[1]).toEqual(histories[0]);
    expect(histories[2]).toEqual(histories[0]);
  });

  /** Pauses the leader with writes queued at it, fails over, resumes it; returns what it acknowledged. */
  async function pausedLeaderScenario(c: ReplabCluster): Promise<{ oldLeaderAcks: Array<{ epoch: number; value: string }>; newLeaderAckedFirst: boolean }> {
    const n1 = c.endpoint('n1').http;
    await c.pause('n1');
    // Requests sent to the frozen leader wait in its socket buffers until it wakes up.
    const queued = Array.from({ length: 8 }, (_, i) => call({ address: n1, method: 'PUT', path: `/kv/queued${i}`, body: `q${i}`, timeoutMs: 15_000 }));
    const leader = await waitForLeader(c, 'n1');
    const onNew = await put(c.endpoint(leader).http, 'new-leader-write', 'n');
    expect(onNew.status).toBe(200);
    await c.resume('n1');
    // And a client that still believes n1 leads keeps writing to it until it has stepped down.
    const late: Array<ReturnType<typeof call>> = [];
    await waitFor(
      async () => {
        late.push(call({ address: n1, method: 'PUT', path: `/kv/late${late.length}`, body: `l${late.length}`, timeoutMs: 3000 }));
        const st = await c.status('n1', 500);
        return st?.role === 'follower' && st.epoch === 2;
      },
      15_000,
      5,
    );
    const outcomes = [...(await Promise.all(queued)), ...(await Promise.all(late))];
    const oldLeaderAcks = outcomes
      .filter((o) => o.type === 'ok' && o.node === 'n1')
      .map((o) => ({ epoch: (o as { epoch: number }).epoch, value: String((o as { value: unknown }).value) }));
    return { oldLeaderAcks, newLeaderAckedFirst: onNew.body.epoch === 2 };
  }

  it('a leader paused past failoverTimeoutMs acknowledges nothing after it resumes, and becomes a follower', async () => {
    cluster = await startCluster(threeNodes('fo-pause', { mode: 'async' }));
    const c = cluster;
    const { oldLeaderAcks, newLeaderAckedFirst } = await pausedLeaderScenario(c);
    expect(newLeaderAckedFirst).toBe(true);
    expect(oldLeaderAcks).toEqual([]);
    await c.waitConverged();
  });

  it('with fencing: none the same pause yields acknowledged writes from two leaders (split brain)', async () => {
    cluster = await startCluster(threeNodes('fo-nofence', { mode: 'async' }, { fencing: 'none' }));
    const c = cluster;
    const { oldLeaderAcks, newLeaderAckedFirst } = await pausedLeaderScenario(c);
    expect(newLeaderAckedFirst).toBe(true);
    // n1 acknowledged writes at epoch 1 after n2 had acknowledged at epoch 2.
    expect(oldLeaderAcks.length).toBeGreaterThan(0);
    expect(oldLeaderAcks.every((a) => a.epoch === 1)).toBe(true);
    // Those acknowledged writes are then discarded when n1 rejoins: lost, and listed as rewound.
    await c.waitConverged();
    const rewound = await readRewound(c.endpoint('n1').dataDir);
    expect(rewound.length).toBeGreaterThanOrEqual(oldLeaderAcks.length);
  });

  it('a restarted monitor keeps epochs growing', async () => {
    cluster = await startCluster(threeNodes('fo-mon', { mode: 'semi-sync' }));
    const c = cluster;
    expect((await c.switchover('n2')).epoch).toBe(2);
    await c.restartMonitor();
    await c.waitReady();
    const st = await c.monitorStatus();
    expect(st?.epoch).toBe(2);
    expect(st?.leader).toBe('n2');
    expect((await c.switchover('n3')).epoch).toBe(3);
    await c.killMonitor();
    await c.restartMonitor();
    await c.kill('n3');
    const leader = await waitForLeader(c, 'n3');
    expect((await c.status(leader))?.epoch).toBe(4);
    const readEvents = async () =>
      (await fsp.readFile(path.join(c.stateDir, 'monitor', 'events.jsonl'), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event: string; epoch?: number });
    // The monitor reports the new leader a moment before it appends the 'promoted' event.
    await waitFor(async () => (await readEvents()).some((e) => e.event === 'promoted'), 5000, 20);
    const events = await readEvents();
    expect(events.filter((e) => e.event === 'monitor-restarted').length).toBe(2);
    const promotedEpochs = events.filter((e) => e.event === 'switchover' || e.event === 'promoted').map((e) => e.epoch);
    expect(promotedEpochs).toEqual([2, 3, 4]);
  });

  it('planned switchover under writes loses nothing', async () => {
    cluster = await startCluster(threeNodes('fo-switch', { mode: 'semi-sync' }));
    const c = cluster;
    const client = c.client();
    const writer = new OutcomeWriter((key, value) => client.request('leader', { method: 'PUT', path: `/kv/${key}`, body: value, timeoutMs: 3000 }), {
      concurrency: 4,
    });
    await writer.waitForAcks(100);
    const result = await c.switchover('n2');
    expect(result).toMatchObject({ from: 'n1', to: 'n2', epoch: 2 });
    await writer.waitForAcks(100, 20_000, (w) => w.node === 'n2');
    await writer.stop();
    await c.waitConverged();
    for (const id of ['n1', 'n2', 'n3']) {
      const data = await dump(c.endpoint(id).http);
      expect(writer.acked.filter((w) => data[w.key] !== w.value)).toEqual([]);
    }
    expect(writer.indeterminate).toEqual([]);
    expect(await readRewound(c.endpoint('n1').dataDir)).toEqual([]);
    // Measured: how long the hand-over took and the longest pause between acknowledgements.
    console.log(`switchover: ${result.durationMs} ms, longest gap between acks ${writer.longestGapMs()} ms, ${writer.acked.length} acked, 0 lost`);
  });

  it('when no candidate qualifies, the monitor does not promote and says why', async () => {
    cluster = await startCluster(threeNodes('fo-none', { mode: 'semi-sync', k: 1 }));
    const c = cluster;
    for (let i = 0; i < 10; i++) expect((await put(c.endpoint('n1').http, `k${i}`, 'v')).status).toBe(200);
    await c.pause('n3');
    await c.kill('n1');
    // Only n2 answers; with k=1 of 2 direct followers an acknowledged write may be on n3 alone.
    let failover: { state?: string; why?: string } = {};
    await waitFor(
      async () => {
        failover = ((await c.monitorStatus())?.failover ?? {}) as typeof failover;
        return failover.state === 'blocked';
      },
      15_000,
      20,
    );
    expect(failover.why).toMatch(/semi-sync k=1: only 1 of 2 direct followers answer/);
    expect((await c.monitorStatus())?.leader).toBe('n1');
    expect((await c.status('n2'))?.role).toBe('follower');
    const log = await fsp.readFile(path.join(c.stateDir, 'logs', 'monitor.log'), 'utf8');
    expect(log).toContain('no candidate qualifies');
    // Once n3 answers again, the failover goes ahead.
    await c.resume('n3');
    expect(['n2', 'n3']).toContain(await waitForLeader(c, 'n1'));
  });

  it('semi-sync: an old leader restarted in its old epoch while the new leader is cut off does not block the next failover', async () => {
    // What CI once hit: n1 killed, n2 promoted; n2 partitioned, and n1 back (still believing it
    // leads epoch 1) before the monitor could repoint it. n1's log is known and holds nothing
    // of epoch 2, so n3 has every write acknowledged in epoch 2 and must be promoted.
    cluster = await startCluster(threeNodes('fo-stale', { mode: 'semi-sync', k: 1, onSyncTimeout: 'block' }));
    const c = cluster;
    const client = c.client();
    const writer = new OutcomeWriter((key, value) => client.request('leader', { method: 'PUT', path: `/kv/${key}`, body: value, timeoutMs: 2000 }), {
      concurrency: 3,
    });
    await writer.waitForAcks(30);
    await c.kill('n1');
    expect(await waitForLeader(c, 'n1')).toBe('n2');
    await writer.waitForAcks(30, 15_000, (w) => w.epoch === 2);
    const cut = await startFault(c, { fault: 'partition', shape: 'isolate', target: 'n2', mode: 'blackhole', cut: ['repl', 'monitor'] }, new Rng(1));
    await c.restart('n1');
    expect(await waitForLeader(c, 'n2')).toBe('n3');
    const st = await c.monitorStatus();
    expect(st?.epoch).toBe(3);
    await writer.waitForAcks(20, 15_000, (w) => w.epoch === 3);
    await cut.stop();
    await writer.stop();
    await c.waitConverged(30_000);
    const dumps = await Promise.all(['n1', 'n2', 'n3'].map((id) => dump(c.endpoint(id).http)));
    expect(dumps[0]).toEqual(dumps[2]);
    expect(dumps[1]).toEqual(dumps[2]);
    expect(writer.acked.filter((w) => dumps[2]![w.key] !== w.value)).toEqual([]);
  });

  it('a promote whose answer is lost but which took effect is recorded, not followed by a second promotion', async () => {
    cluster = await startCluster(threeNodes('fo-lost', { mode: 'async' }));
    const c = cluster;
    // This test runs the monitor in-process, on the cluster's config and state, with a NodeApi
    // that performs the first promote for real but loses its answer.
    await c.killMonitor();
    class LosingApi extends NodeApi {
      lost = 0;
      override async admin<A extends AdminAction>(address: string, action: A, body: AdminBody<A>, timeoutMs: number) {
        const r = await super.admin(address, action, body, timeoutMs);
        if (action === 'promote' && this.lost++ === 0) return { ok: false as const, status: 0, error: 'answer lost (test)' };
        return r;
      }
    }
    const stateDir = path.join(c.stateDir, 'monitor');
    const token = c.token;
    const monitor = new Monitor(await loadMonitorConfig(path.join(stateDir, 'config.json')), stateDir, token, silentLogger(), new LosingApi(token));
    await monitor.start();
    try {
      expect(await waitFor(async () => (await c.status('n1'))?.leaseValid === true, 5000, 20)).toBe(true);
      await c.kill('n1');
      expect(await waitFor(async () => monitor.events.some((e) => e.event === 'promoted'), 15_000, 20)).toBe(true);
      const names = monitor.events.map((e) => e.event);
      expect(names).toContain('promote-failed');
      const promoted = monitor.events.find((e) => e.event === 'promoted')!;
      // The node promoted by the unanswered call keeps epoch 2; nobody else is promoted over it.
      expect(promoted).toMatchObject({ epoch: 2, why: 'an earlier promote went unanswered but took effect' });
      expect(monitor.state).toMatchObject({ epoch: 2, leader: promoted.node });
      const leader = promoted.node as string;
      expect(await waitFor(async () => (await put(c.endpoint(leader).http, 'after', 'x')).status === 200, 5000, 50)).toBe(true);
      const other = leader === 'n2' ? 'n3' : 'n2';
      expect(await waitFor(async () => (await c.status(other))?.role === 'follower' && (await c.status(other))?.epoch === 2, 5000, 20)).toBe(true);
    } finally {
      await monitor.stop();
    }
  });

  it('a leader that answers again while the failover is blocked keeps leading: its lease is renewed and writes resume', async () => {
    cluster = await startCluster(threeNodes('fo-back', { mode: 'semi-sync', k: 1 }));
    const c = cluster;
    expect((await put(c.endpoint('n1').http, 'before', 'v')).status).toBe(200);
    await c.pause('n3');
    await c.pause('n1');
    await waitFor(async () => ((await c.monitorStatus())?.failover as { state?: string } | undefined)?.state === 'blocked', 15_000, 20);
    await c.resume('n1');
    // Nobody was promoted, so the monitor must take the old leader back rather than wait forever.
    const back = await waitFor(
      async () => {
        const st = await c.monitorStatus();
        return (st?.failover as { state?: string } | undefined)?.state === 'healthy' && st?.leader === 'n1' && st?.epoch === 1;
      },
      10_000,
      20,
    );
    expect(back).toBe(true);
    const events = ((await c.monitorStatus())?.events ?? []) as Array<{ event: string }>;
    expect(events.map((e) => e.event)).toContain('leader-back');
    // With n2 streaming again, k=1 is met: n1 acknowledges writes under a renewed lease.
    expect(await waitFor(async () => (await put(c.endpoint('n1').http, 'after', 'v')).status === 200, 10_000, 50)).toBe(true);
    await c.resume('n3');
    await c.waitConverged();
  });
});
