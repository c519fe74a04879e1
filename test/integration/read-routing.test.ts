/**
 * Routing policies through the workload's KV client on a real cluster whose replication is slowed
 * 200 ms: a session that carries its token reads its own writes every time, across the
 * followers, while round-robin reads right after a write miss it; least-lag keeps away from the
 * follower that reports itself far behind.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { addToxic } from '../../src/faults/toxiproxy.js';
import type { ReadPolicy } from '../../src/lib/read-consistency.js';
import { Rng } from '../../src/lib/rng.js';
import { waitFor } from '../../src/lib/wait.js';
import { ReplabSystem } from '../../src/systems/replab/index.js';
import type { KvDataClient } from '../../src/systems/replab/kv-data-client.js';
import { startCluster, status } from '../helpers/cluster.js';

let cluster: ReplabCluster;
let client: KvDataClient;
const heals: Array<() => Promise<void>> = [];

beforeAll(async () => {
  cluster = await startCluster({ name: 'routing', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'async' }, heartbeatMs: 50 });
  client = await new ReplabSystem(cluster).dataClient();
});
afterEach(async () => {
  for (const heal of heals.splice(0)) await heal();
});
afterAll(async () => {
  client?.close();
  await cluster?.down({ clean: true });
});

/** Delays what n1 sends to `follower` over their replication link by `ms`. */
async function slowReplication(follower: string, ms: number): Promise<void> {
  const proxy = await cluster.toxiproxy().get(`repl:${follower}->n1`);
  await addToxic(proxy, { name: 'slow', type: 'latency', stream: 'downstream', attributes: { latency: ms, jitter: 0 } });
  heals.push(async () => (await proxy.getToxic('slow')).remove());
}

/** Write-then-read pairs under `policy`, carrying the session token; counts reads that missed the write just made. */
async function writeThenRead(policy: ReadPolicy, pairs: number): Promise<{ violations: number; servedBy: Record<string, number> }> {
  const rng = new Rng(7);
  let token: number | null = null;
  let violations = 0;
  const servedBy: Record<string, number> = {};
  for (let i = 0; i < pairs; i++) {
    const key = `${policy.kind}/k${i % 4}`;
    const value = `${policy.kind}-${i}`;
    const w = await client.write(key, value, 3000);
    expect(w, `write ${i}`).toMatchObject({ type: 'ok' });
    token = Math.max(token ?? 0, (w as { lsn: number }).lsn);
    const r = await client.read({ key, policy, token, rng, timeoutMs: 3000 });
    expect(r, `read ${i}`).toMatchObject({ type: 'ok' });
    if (r.type !== 'ok') continue;
    if (r.value !== value) violations++;
    token = Math.max(token, r.lsn ?? 0);
    servedBy[r.node ?? '?'] = (servedBy[r.node ?? '?'] ?? 0) + 1;
  }
  return { violations, servedBy };
}

describe('read routing on a cluster with slowed replication', () => {
  it('session reads its own writes every time, mostly on followers; round-robin misses them', async () => {
    await slowReplication('n2', 200);
    await slowReplication('n3', 200);
    const session = await writeThenRead({ kind: 'session' }, 30);
    expect(session.violations, JSON.stringify(session.servedBy)).toBe(0);
    // Served where the policy sends it (the followers, waiting for the token), not by falling back to the leader.
    expect((session.servedBy.n2 ?? 0) + (session.servedBy.n3 ?? 0), JSON.stringify(session.servedBy)).toBeGreaterThanOrEqual(20);
    expect(session.servedBy.n2 ?? 0).toBeGreaterThan(0);
    expect(session.servedBy.n3 ?? 0).toBeGreaterThan(0);

    const rr = await writeThenRead({ kind: 'round-robin' }, 30);
    expect(rr.violations, JSON.stringify(rr.servedBy)).toBeGreaterThanOrEqual(1);
    expect(rr.servedBy.n1 ?? 0).toBe(0);
  });

  it('least-lag reads on the follower that reports the least lag', async () => {
    await slowReplication('n2', 400);
    expect(await waitFor(async () => (((await status(cluster.endpoint('n2').http)).staleMs as number | null) ?? 0) > 300, 10_000)).toBe(true);
    const rng = new Rng(3);
    const served: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await client.read({ key: 'll', policy: { kind: 'least-lag' }, token: null, rng, timeoutMs: 3000 });
      expect(r).toMatchObject({ type: 'ok' });
      served.push(r.node ?? '?');
    }
    expect(served).toEqual(Array(12).fill('n3'));
    expect(client.cluster.lagMs(cluster.clientAddress('n2'))).toBeGreaterThan(300);
  });
});
