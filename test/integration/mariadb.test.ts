/**
 * MariaDB as a system under test, for real (Debian's mariadb-server): three nodes with GTID
 * replication come up behind the fault proxy; inserts run over SQL while the primary is cut from
 * its replicas (async replication: what it acknowledges now exists on it alone) and then killed.
 * replab's monitor promotes the most advanced replica and repoints the other; the old primary
 * comes back, its errant transactions (the inserts only it has) are reported record by record, and
 * it is re-cloned from the new primary, after which every node's final read agrees.
 *
 * Outside CI, a missing package skips this file with one warning line; in CI (.ci/run installs
 * it) a missing package fails it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseClusterSpec } from '../../src/cluster/spec.js';
import { startFault } from '../../src/faults/nemesis/faults.js';
import { Rng } from '../../src/lib/rng.js';
import { waitFor } from '../../src/lib/wait.js';
import { RunEvents } from '../../src/systems/events.js';
import { startSystem } from '../../src/systems/index.js';
import { INSTALL_HINT, mariadbAvailable } from '../../src/systems/mariadb/packages.js';
import type { SystemUnderTest } from '../../src/systems/system.js';
import type { DataClient } from '../../src/workloads/data-client.js';
import { stateRoot } from '../helpers/cluster.js';

const available = mariadbAvailable();
if (!available && !process.env.CI) console.warn(`mariadb tests skipped: install Debian's mariadb-server (${INSTALL_HINT})`);

let sys: SystemUnderTest | undefined;
const clients: DataClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  await sys?.down({ clean: true });
}, 60_000);

interface Event {
  event: string;
  node?: string;
  from?: string;
  leader?: string;
  count?: number;
}

describe('mariadb: packages', () => {
  it.runIf(!!process.env.CI)('are installed in CI', () => {
    expect(available, INSTALL_HINT).toBe(true);
  });
});

describe.skipIf(!available)('mariadb: replab monitor failover under inserts', () => {
  it('kills a primary cut from its replicas: the most advanced replica is promoted, the other repointed, the old primary’s errant inserts reported and it is re-cloned', async () => {
    const spec = parseClusterSpec(
      {
        name: `mdbt${process.pid % 10000}`,
        system: 'mariadb',
        nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
        replication: { mode: 'async' },
        failover: { heartbeatMs: 200, failoverTimeoutMs: 1500, leaseMs: 700 },
      },
      'test',
      'mdbt',
    );
    // The monitor's events reach the sink handed to up(), as a run's do (events.jsonl in its folder).
    const eventsFile = path.join(stateRoot(), `mariadb-events-${process.pid}.jsonl`);
    await fsp.rm(eventsFile, { force: true });
    sys = await startSystem(spec, { stateRoot: stateRoot(), readyTimeoutMs: 120_000, events: new RunEvents(eventsFile, 'system mariadb') });
    const s = sys;
    expect(Object.keys(s.links()).sort()).toEqual([
      'client:n1',
      'client:n2',
      'client:n3',
      'monitor:n1',
      'monitor:n2',
      'monitor:n3',
      'repl:n1->n2',
      'repl:n1->n3',
      'repl:n2->n1',
      'repl:n2->n3',
      'repl:n3->n1',
      'repl:n3->n2',
    ]);
    const old = await s.currentLeaderId();
    expect(old).toBe('n1');
    const writers = await Promise.all(Array.from({ length: 4 }, () => s.dataClient()));
    clients.push(...writers);
    const acked = new Set<string>();
    const ackedWhileCut = new Set<string>();
    let phase: 'before' | 'cut' | 'after' = 'before';
    let stop = false;
    let n = 0;
    const load = Promise.all(
      writers.map(async (c, slot) => {
        while (!stop) {
          const key = `s/${++n * 10 + slot}`;
          const during = phase;
          const out = await c.add(key, 2000);
          if (out.type === 'ok') {
            acked.add(key);
            if (during === 'cut' && out.node === old) ackedWhileCut.add(key);
          } else await new Promise((r) => setTimeout(r, 20));
        }
      }),
    );
    await waitFor(() => acked.size >= 50, 20_000, 50);
    // Async: what n1 acknowledges while its replicas cannot fetch exists on n1 alone.
    const cut = await startFault(s, { fault: 'partition', shape: 'isolate', target: old, mode: 'blackhole', cut: ['repl'] }, new Rng(1));
    phase = 'cut';
    await waitFor(() => ackedWhileCut.size >= 20, 20_000, 50);
    await s.kill(old);
    phase = 'after';
    const promoted = await waitFor(async () => (await s.currentLeaderId()) !== old, 30_000, 100);
    expect(promoted, 'the monitor promotes a replica').toBe(true);
    const leader = await s.currentLeaderId();
    await cut.stop();
    await s.restart(old);
    const events = async (): Promise<Event[]> =>
      (await fsp.readFile(eventsFile, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Event);
    const recloned = await waitFor(async () => (await events()).some((e) => e.event === 'recloned' && e.node === old), 60_000, 250);
    expect(recloned, `the old primary is re-cloned (events: ${JSON.stringify(await events())})`).toBe(true);
    stop = true;
    await load;
    await s.waitConverged(60_000);

    const ev = await events();
    const other = ['n2', 'n3'].find((id) => id !== leader)!;
    expect(ev.find((e) => e.event === 'promoted')).toMatchObject({ node: leader, from: old });
    expect(ev.some((e) => e.event === 'repointed' && e.node === other && e.leader === leader)).toBe(true);
    const errantEvent = ev.find((e) => e.event === 'errant-transactions');
    expect(errantEvent).toMatchObject({ node: old, primary: leader });

    const finals = await Promise.all(s.nodeIds().map(async (id) => writers[0]!.scan(id, 's/', 5000)));
    const sets = finals.map((f) => {
      expect(f.type).toBe('ok');
      return new Set((f.type === 'ok' ? (f.value as Array<{ key: string }>) : []).map((i) => i.key));
    });
    expect(sets[1]!.size).toBe(sets[0]!.size);
    expect(sets[2]!.size).toBe(sets[0]!.size);

    await s.down();
    const art = path.join(s.stateDir, 'artefacts');
    await s.keepArtefacts(art);
    const errant = (await fsp.readFile(path.join(art, `rewound-${old}.jsonl`), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { key: string; gtid: string; op: string; primary: string });
    // Every insert n1 acknowledged while cut off is reported as errant, and none survived.
    expect(errant.length).toBeGreaterThanOrEqual(ackedWhileCut.size);
    const errantKeys = new Set(errant.map((r) => r.key));
    for (const k of ackedWhileCut) expect(errantKeys.has(k), `${k} acknowledged by ${old} while cut off`).toBe(true);
    for (const r of errant) {
      expect(r).toMatchObject({ op: 'insert', primary: leader });
      expect(sets[0]!.has(r.key), `errant ${r.key} (${r.gtid}) is not merged into the final state`).toBe(false);
    }
    const evidence = JSON.parse(await fsp.readFile(path.join(art, 'binlog-evidence.json'), 'utf8')) as {
      writes: Record<string, Record<string, Array<{ node: string }>>>;
    };
    const someErrant = [...ackedWhileCut][0]!;
    expect(evidence.writes[someErrant]?.['1']?.map((h) => h.node)).toEqual([old]);
  }, 300_000);
});
