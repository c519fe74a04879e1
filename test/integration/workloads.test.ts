/**
 * Workloads against a real 3-node process cluster: the end-to-end check (no faults, sync →
 * linearizable, nothing lost), and the outcome rules (refused → fail, timeout → info with the
 * process retired, 421 → fail) produced by real failures, not mocks.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/checker/checker.js';
import { call } from '../../src/client/kv-http.js';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { loadHistory } from '../../src/history/reader.js';
import { HistoryRecorder } from '../../src/history/recorder.js';
import { KvDataClient } from '../../src/systems/replab/kv-data-client.js';
import { createWorkload, drive, recordFinalReads } from '../../src/workloads/driver.js';
import { parseWorkloadSpec } from '../../src/workloads/spec.js';
import { startCluster } from '../helpers/cluster.js';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-wl-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

let cluster: ReplabCluster | undefined;
afterEach(async () => {
  await cluster?.down();
  cluster = undefined;
});

async function runWorkload(c: ReplabCluster, doc: Record<string, unknown>, file: string) {
  const spec = parseWorkloadSpec(doc, 'test workload');
  const client = new KvDataClient(c.client());
  const workload = createWorkload(spec);
  const recorder = new HistoryRecorder(path.join(dir, file));
  const stats = await drive({ spec, workload, client, recorder });
  await c.waitConverged();
  await recordFinalReads(workload, client, recorder);
  await recorder.close();
  return { stats, history: await loadHistory(path.join(dir, file)), model: workload.model };
}

describe('workloads: end to end', () => {
  it('register on 3 nodes, sync, no faults → linearizable, 0 lost', async () => {
    cluster = await startCluster({ name: 'wl-reg', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'sync' }, heartbeatMs: 50 });
    const { stats, history, model } = await runWorkload(
      cluster,
      { workload: 'register', keys: 5, concurrency: 8, durationSec: 4, rateOpsPerSec: 400, seed: 7 },
      'register.jsonl',
    );
    expect(stats.ok).toBeGreaterThan(500);
    const r = checkHistory(history, { model });
    expect(r.linearizable).toMatchObject({ valid: true, keys: 5 });
    expect(r.loss).toMatchObject({ valid: true, lostAcked: 0 });
    expect(r.valid).toBe(true);
    // Every completion carries what the server said: node, lsn and epoch on writes.
    const okWrites = history.filter((o) => o.type === 'ok' && o.f === 'write');
    expect(okWrites.length).toBeGreaterThan(0);
    for (const w of okWrites) expect(w).toMatchObject({ node: 'n1', epoch: 1, lsn: expect.any(Number) });
  });

  it('set on 3 nodes, semi-sync → every acknowledged add on every node', async () => {
    cluster = await startCluster({ name: 'wl-set', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'semi-sync' }, heartbeatMs: 50 });
    const { stats, history, model } = await runWorkload(cluster, { workload: 'set', concurrency: 8, durationSec: 3, seed: 3 }, 'set.jsonl');
    const r = checkHistory(history, { model });
    expect(r.loss).toMatchObject({ valid: true, lostAcked: 0, acked: stats.ok });
    expect(r.loss && !r.loss.crashed && r.loss.perNode.map((n) => n.node)).toEqual(['n1', 'n2', 'n3']);
  });

  it('register with follower reads: reads carry node and applied lsn, staleness is measured', async () => {
    cluster = await startCluster({ name: 'wl-fr', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'async' }, heartbeatMs: 50 });
    const { history } = await runWorkload(cluster, { workload: 'register', keys: 3, concurrency: 6, durationSec: 3, reads: 'followers', seed: 5 }, 'fr.jsonl');
    const reads = history.filter((o) => o.type === 'ok' && o.f === 'read');
    expect(reads.length).toBeGreaterThan(50);
    expect(new Set(reads.map((r) => r.node))).toEqual(new Set(['n2', 'n3']));
    const r = checkHistory(history, { model: 'register' });
    expect(r.staleReads).toMatchObject({ judged: reads.length });
  });
});

describe('workloads: outcome rules against real failures', () => {
  it('connection refused → fail; 421 from a follower → fail with the leader hint', async () => {
    cluster = await startCluster({ name: 'wl-out', nodes: [{ id: 'n1' }, { id: 'n2' }], replication: { mode: 'async' }, heartbeatMs: 50 });
    const n1 = cluster.endpoint('n1').http;
    const toFollower = await call({ address: cluster.endpoint('n2').http, method: 'PUT', path: '/kv/a', body: 'x', timeoutMs: 2000 });
    expect(toFollower).toMatchObject({ type: 'fail', error: 'not_leader', leader: n1, node: 'n2' });
    await cluster.kill('n1');
    const refused = await call({ address: n1, method: 'PUT', path: '/kv/a', body: 'x', timeoutMs: 2000 });
    expect(refused, JSON.stringify(refused)).toEqual({ type: 'fail', error: 'connection refused' });
  });

  it('a paused leader → timeouts are info, and the process is retired and replaced', async () => {
    cluster = await startCluster({ name: 'wl-pause', nodes: [{ id: 'n1' }, { id: 'n2' }], replication: { mode: 'async' }, heartbeatMs: 50 });
    await cluster.pause('n1');
    const c = cluster;
    const spec = parseWorkloadSpec({ workload: 'register', keys: 1, mix: { write: 1 }, concurrency: 2, durationSec: 1, timeoutMs: 200 }, 'test');
    const recorder = new HistoryRecorder(path.join(dir, 'pause.jsonl'));
    const stats = await drive({ spec, workload: createWorkload(spec), client: new KvDataClient(c.client()), recorder });
    await recorder.close();
    await c.resume('n1');
    expect(stats.info).toBeGreaterThanOrEqual(2);
    expect(stats.ok).toBe(0);
    const history = await loadHistory(path.join(dir, 'pause.jsonl'));
    const infos = history.filter((o) => o.type === 'info');
    expect(infos.every((o) => o.error === 'timeout')).toBe(true);
    // After an info, slot 0 continues as process 2, 4, ...: a process id never invokes after its info.
    const processes = [...new Set(history.map((o) => o.process))];
    expect(processes.length).toBeGreaterThan(2);
    for (const p of processes) {
      const ops = history.filter((o) => o.process === p);
      const infoAt = ops.findIndex((o) => o.type === 'info');
      if (infoAt >= 0) expect(infoAt).toBe(ops.length - 1);
    }
  });
});
