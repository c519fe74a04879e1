/**
 * PostgreSQL under Patroni and etcd as a system under test, for real (Debian's postgresql,
 * patroni, etcd-server): three nodes come up behind the fault proxy, the register workload runs
 * over SQL while the primary is killed, Patroni promotes a standby, the old primary comes back and
 * follows, and every node's final read agrees. Synchronous mode: nothing acknowledged is lost and
 * the history is linearizable.
 *
 * Outside CI, missing packages skip this file with one warning line; in CI (.ci/run installs
 * them) a missing package fails it.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/checker/checker.js';
import { parseClusterSpec } from '../../src/cluster/spec.js';
import { loadHistory } from '../../src/history/reader.js';
import { HistoryRecorder } from '../../src/history/recorder.js';
import { waitFor } from '../../src/lib/wait.js';
import { startSystem } from '../../src/systems/index.js';
import { INSTALL_HINT, postgresAvailable } from '../../src/systems/postgres/packages.js';
import type { SystemUnderTest } from '../../src/systems/system.js';
import type { DataClient } from '../../src/workloads/data-client.js';
import { createWorkload, drive, recordFinalReads } from '../../src/workloads/driver.js';
import { parseWorkloadSpec } from '../../src/workloads/spec.js';
import { stateRoot } from '../helpers/cluster.js';

const available = await postgresAvailable();
if (!available && !process.env.CI) console.warn(`postgres tests skipped: install Debian's postgresql, patroni and etcd-server (${INSTALL_HINT})`);

let sys: SystemUnderTest | undefined;
const clients: DataClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  await sys?.down({ clean: true });
}, 60_000);

describe('postgres: packages', () => {
  it.runIf(!!process.env.CI)('are installed in CI', () => {
    expect(available, INSTALL_HINT).toBe(true);
  });
});

describe.skipIf(!available)('postgres: Patroni failover under a register workload', () => {
  it('kills the primary: a standby is promoted, the old primary follows, final reads agree, nothing acknowledged is lost', async () => {
    const spec = parseClusterSpec(
      { name: `pgt${process.pid % 10000}`, system: 'postgres', nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }], replication: { mode: 'semi-sync', k: 1 } },
      'test',
      'pgt',
    );
    sys = await startSystem(spec, { stateRoot: stateRoot(), readyTimeoutMs: 120_000 });
    const s = sys;
    expect(Object.keys(s.links()).sort()).toEqual([
      'client:n1',
      'client:n2',
      'client:n3',
      'monitor:n1',
      'monitor:n2',
      'monitor:n3',
      'repl:*->n1',
      'repl:*->n1.api',
      'repl:*->n2',
      'repl:*->n2.api',
      'repl:*->n3',
      'repl:*->n3.api',
    ]);
    const oldLeader = await s.currentLeaderId();
    const workloadSpec = parseWorkloadSpec({ workload: 'register', keys: 4, concurrency: 4, rateOpsPerSec: 100, durationSec: 22, timeoutMs: 3000 }, 'test');
    const workload = createWorkload(workloadSpec);
    const client = await s.dataClient();
    clients.push(client);
    const slots = await Promise.all(Array.from({ length: 4 }, () => s.dataClient({ refreshMs: 1000 })));
    clients.push(...slots);
    const file = path.join(stateRoot(), `pg-history-${process.pid}.jsonl`);
    const recorder = new HistoryRecorder(file);
    const faults = (async () => {
      await new Promise((r) => setTimeout(r, 3000));
      await s.kill(oldLeader);
      const promoted = await waitFor(async () => (await s.currentLeaderId().catch(() => oldLeader)) !== oldLeader, 40_000, 250);
      expect(promoted, 'Patroni promotes a standby').toBe(true);
      await s.restart(oldLeader);
    })();
    const stats = await drive({ spec: workloadSpec, workload, client, clientFor: (slot) => slots[slot]!, recorder });
    await faults;
    await s.waitConverged(90_000);
    expect(await s.currentLeaderId()).not.toBe(oldLeader);
    await recordFinalReads(workload, client, recorder);
    await recorder.close();
    expect(stats.ok).toBeGreaterThan(200);
    const history = await loadHistory(file);
    // Every node's final read holds the same value for every key.
    const finals = history.filter((o) => o.f === 'final-read' && o.type === 'ok');
    const byKey = new Map<string, Set<string>>();
    for (const o of finals) byKey.set(o.key!, (byKey.get(o.key!) ?? new Set()).add(JSON.stringify(o.value)));
    expect(finals.length).toBe(12);
    for (const [key, values] of byKey) expect(values.size, `key ${key}: ${[...values].join(' vs ')}`).toBe(1);
    const check = checkHistory(history, { model: 'register' });
    expect(check.loss).toMatchObject({ valid: true, lostAcked: 0 });
    expect(check.linearizable).toMatchObject({ valid: true });
  }, 240_000);
});
