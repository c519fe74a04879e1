/**
 * Faults against a real cluster: every link goes through the cluster's proxy, so a nemesis cuts
 * exactly the links it names. Replication through a partition stops and resumes on heal; a
 * schedule records its events in the history and heals what it broke; regions add latency.
 */

import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { call, closeKvClients } from '../../src/client/kv-http.js';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { ReplabCluster as Cluster } from '../../src/cluster/replab-cluster.js';
import { loadClusterSpec } from '../../src/cluster/spec.js';
import { healAll, startFault } from '../../src/faults/nemesis/faults.js';
import { parseNemesisSchedule, runNemesis } from '../../src/faults/nemesis/schedule.js';
import { loadHistory } from '../../src/history/reader.js';
import { HistoryRecorder } from '../../src/history/recorder.js';
import { cliEntry, projectRoot } from '../../src/lib/paths.js';
import { Rng } from '../../src/lib/rng.js';
import { waitFor } from '../../src/lib/wait.js';
import { put, startCluster, stateRoot } from '../helpers/cluster.js';

let cluster: ReplabCluster | undefined;
afterEach(async () => {
  await cluster?.down();
  cluster = undefined;
});

const applied = async (c: ReplabCluster, id: string) => (await c.status(id))!.appliedLsn as number;

describe('faults on a real cluster', () => {
  it.each(['blackhole', 'reset'] as const)("a %s partition of the leader's replication links stops replication; healing resumes it", async (mode) => {
    cluster = await startCluster({ name: `part-${mode}`, nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'async' }, heartbeatMs: 50 });
    const c = cluster;
    for (let i = 0; i < 10; i++) expect((await put(c.endpoint('n1').http, `before${i}`, 'v')).status).toBe(200);
    const before = await c.waitConverged();
    const fault = await startFault(c, { fault: 'partition', shape: 'isolate', target: 'leader', mode, cut: ['repl'] }, new Rng(1));
    expect(fault.value.links).toEqual(expect.arrayContaining(['repl:n1->n2', 'repl:n2->n1', 'repl:n1->n3', 'repl:n3->n1']));
    expect(fault.value.links).not.toContain('repl:n2->n3');
    for (let i = 0; i < 20; i++) expect((await put(c.endpoint('n1').http, `during${i}`, 'v')).status).toBe(200); // async: the leader acks alone
    await new Promise((r) => setTimeout(r, 500)); // nothing to await: the point is that nothing arrives
    expect(await applied(c, 'n2')).toBe(before);
    expect(await applied(c, 'n3')).toBe(before);
    await fault.stop();
    const after = await c.waitConverged();
    expect(after).toBe(before + 20);
  });

  it('replab router --cluster goes through the client links: cutting clients from the leader cuts the router too', async () => {
    cluster = await startCluster({ name: 'router-links', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'async' }, heartbeatMs: 50 });
    const c = cluster;
    const child = spawn(process.execPath, [cliEntry(), 'router', '--cluster', c.name, '--state-dir', stateRoot(), '--timeout-ms', '800'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const listening = await waitFor(() => /router listening on \S+/.test(out), 15_000, 20);
      expect(listening, err).toBe(true);
      const address = /router listening on (\S+)/.exec(out)![1]!;
      const write = (key: string) => call({ address, method: 'PUT', path: `/kv/${key}`, body: 'v', timeoutMs: 3000 });
      expect(await write('before')).toMatchObject({ type: 'ok' });
      const fault = await startFault(c, { fault: 'partition', shape: 'isolate', target: 'leader', mode: 'blackhole', cut: ['client'] }, new Rng(1));
      expect(fault.value.links).toEqual(['client:n1']);
      // The router reaches n1 only through client:n1, which now holds everything: no answer.
      const during = await write('during');
      expect(during.type).not.toBe('ok');
      await fault.stop();
      expect(await write('after')).toMatchObject({ type: 'ok' });
    } finally {
      child.kill('SIGTERM');
      closeKvClients();
    }
  });

  it('a schedule records start/stop events in the history and leaves nothing broken', async () => {
    cluster = await startCluster({ name: 'sched', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'semi-sync' }, heartbeatMs: 50 });
    const c = cluster;
    const file = path.join(os.tmpdir(), `replab-nemesis-${process.pid}.jsonl`);
    const recorder = new HistoryRecorder(file);
    const steps = parseNemesisSchedule(
      [
        { fault: 'latency', links: 'repl', latencyMs: 20, at: '100ms', for: '400ms' },
        { fault: 'partition', target: 'random-follower', at: '200ms', for: '300ms' },
        { fault: 'pause', target: 'random-follower', at: '800ms', for: '300ms' },
        { fault: 'partition', shape: 'halves', mode: 'reset', at: '1200ms' },
      ],
      'test schedule',
    );
    const events = await runNemesis({ cluster: c, steps, durationMs: 1600, seed: 42, recorder });
    await recorder.close();
    expect(events.map((e) => e.f)).toEqual([
      'start-latency',
      'start-partition',
      'stop-latency',
      'stop-partition',
      'start-pause',
      'stop-pause',
      'start-partition',
      'stop-partition',
    ]);
    expect(events.every((e) => !('error' in e.value))).toBe(true);
    const history = await loadHistory(file);
    expect(history.filter((o) => o.process === 'nemesis').map((o) => `${o.type} ${o.f}`)).toEqual(events.map((e) => `info ${e.f}`));
    // Healed: no nemesis toxic is left, nothing is paused, and replication works.
    expect(await healAll(c)).toBe(0);
    expect((await put(c.endpoint(await c.currentLeaderId()).http, 'after', 'x')).status).toBe(200);
    await c.waitConverged();
    await fsp.rm(file, { force: true });
  });

  it('multi-region: links between regions carry their latency, so a semi-sync write waits for the nearest follower', async () => {
    const spec = await loadClusterSpec(path.join(projectRoot(), 'clusters', 'multi-region.yaml'));
    cluster = await Cluster.up(
      {
        ...spec,
        name: `mr-${process.pid}`,
        nodes: [
          { id: 'n1', region: 'us-east' },
          { id: 'n3', region: 'eu-west' },
        ],
        replication: { ...spec.replication, k: 1 },
      },
      { stateRoot: stateRoot() },
    );
    const c = cluster;
    const toxiproxy = c.toxiproxy();
    const cross = await toxiproxy.get('repl:n3->n1');
    expect((await cross.getToxic('region-latency-downstream')).attributes).toEqual({ latency: 80, jitter: 0 });
    expect((await cross.getToxic('region-latency-upstream')).attributes).toEqual({ latency: 80, jitter: 0 });
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) expect((await put(c.endpoint('n1').http, `k${i}`, 'v')).status).toBe(200);
    const perWrite = (performance.now() - t0) / 5;
    expect(perWrite).toBeGreaterThan(160); // one round trip to eu-west and back: 2 × 80 ms
    // A partition heal must not take the region latency away.
    const f = await startFault(c, { fault: 'partition', shape: 'isolate', target: 'n3', mode: 'blackhole', cut: ['repl'] }, new Rng(1));
    await f.stop();
    expect(((await cross.getToxic('region-latency-downstream')).attributes as { latency: number }).latency).toBe(80);
  });
});
