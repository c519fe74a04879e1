/**
 * The failover-timeout schedule of bench/timeouts-bench.ts for a system other than replab's KV,
 * driven only through the SystemUnderTest boundary the suites use (PostgreSQL under Patroni here).
 * Such a system has no monitor event log to read, so a needless failover is seen from outside:
 * the leader the system names is polled through the pauses and spikes, and every change of it
 * while the old leader was alive counts. The outage and the lost writes are measured as for
 * replab: kill → first write acknowledged by another node; acknowledged writes missing from a
 * final scan of the new leader.
 */
import os from 'node:os';
import { parseClusterSpec } from '../src/cluster/spec.js';
import { startFault } from '../src/faults/nemesis/faults.js';
import { Rng } from '../src/lib/rng.js';
import { waitFor } from '../src/lib/wait.js';
import { startSystem } from '../src/systems/index.js';
import type { DataClient } from '../src/workloads/data-client.js';

export interface Schedule {
  pausesMs: number[];
  gapMs: number;
  spikes: number;
  spike: { latencyMs: number; jitterMs: number; forMs: number };
}

export interface SweepRow {
  system: string;
  mode: string;
  /** The day the row was measured (YYYY-MM-DD). */
  measured?: string;
  timeoutMs: number;
  /** What the system was actually set to, when it differs from timeoutMs (Patroni's ttl floor). */
  effective?: string;
  needless: number;
  /** Needless failovers where the old leader answered at its address (replab's monitor only). */
  needlessAnswered: number | null;
  outageMs: number | null;
  acked: number;
  lost: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSystemTimeout(system: 'postgres', timeoutMs: number, schedule: Schedule, concurrency: number): Promise<SweepRow> {
  const name = `bt-pg-${timeoutMs}`;
  const spec = parseClusterSpec(
    {
      name,
      system,
      nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
      replication: { mode: 'async' },
      heartbeatMs: 50,
      failover: { heartbeatMs: 1000, failoverTimeoutMs: timeoutMs, leaseMs: Math.floor(timeoutMs / 2) },
    },
    'bench',
    name,
  );
  const sys = await startSystem(spec, { stateRoot: `${os.tmpdir()}/replab-bench-timeouts`, readyTimeoutMs: 180_000 });
  const writers: DataClient[] = [];
  const acks: Array<{ key: string; value: string; node?: string; atMs: number }> = [];
  let running = true;
  const loops: Promise<void>[] = [];
  try {
    for (let i = 0; i < concurrency; i++) writers.push(await sys.dataClient({ refreshMs: 500 }));
    let seq = 0;
    for (const c of writers) {
      loops.push(
        (async () => {
          while (running) {
            const key = `t${seq++}`;
            const out = await c.write(key, `v${key}`, 2000);
            if (out.type === 'ok') acks.push({ key, value: `v${key}`, node: out.node, atMs: Date.now() });
            else await sleep(20);
          }
        })(),
      );
    }
    // Leader changes seen from outside while the old leader is alive: polled, since the system
    // keeps no event log of its own here.
    let needless = 0;
    let last = await sys.currentLeaderId();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const now = await sys.currentLeaderId().catch(() => last);
        if (now !== last) {
          needless++;
          last = now;
        }
        await sleep(250);
      }
    })();
    const rng = new Rng(26);
    for (const ms of schedule.pausesMs) {
      const leader = await sys.currentLeaderId();
      await sys.pause(leader);
      await sleep(ms);
      await sys.resume(leader);
      await sleep(schedule.gapMs);
    }
    for (let i = 0; i < schedule.spikes; i++) {
      const spike = await startFault(sys, { fault: 'latency', links: 'monitor', latencyMs: schedule.spike.latencyMs, jitterMs: schedule.spike.jitterMs }, rng);
      await sleep(schedule.spike.forMs);
      await spike.stop();
      await sleep(schedule.gapMs);
    }
    await sleep(Math.min(timeoutMs, 3000));
    watching = false;
    await watcher;

    const leader = await sys.currentLeaderId();
    const killedAt = Date.now();
    await sys.kill(leader);
    const onNew = (a: { node?: string; atMs: number }) => a.atMs >= killedAt && a.node !== undefined && a.node !== leader;
    const resumed = await waitFor(() => acks.some(onNew), timeoutMs + 60_000, 20);
    const outageMs = resumed ? Math.min(...acks.filter(onNew).map((a) => a.atMs)) - killedAt : null;
    await sys.restart(leader);
    running = false;
    await Promise.all(loops);
    await sys.waitConverged(120_000);
    const now = await sys.currentLeaderId();
    const scan = await writers[0]!.scan(now, 't', 30_000);
    const final = new Map<string, string>();
    if (scan.type === 'ok') for (const kv of scan.value as Array<{ key: string; value: string }>) final.set(kv.key, kv.value);
    const lost = scan.type === 'ok' ? acks.filter((a) => final.get(a.key) !== a.value).length : -1;
    const ttl = Math.max(10, Math.ceil(timeoutMs / 1000));
    const row: SweepRow = {
      system,
      mode: 'async',
      measured: new Date().toISOString().slice(0, 10),
      timeoutMs,
      effective: `ttl ${ttl} s`,
      needless,
      needlessAnswered: null,
      outageMs,
      acked: acks.length,
      lost,
    };
    console.error(JSON.stringify(row));
    return row;
  } finally {
    running = false;
    await Promise.all(loops);
    for (const w of writers) w.close();
    await sys.down({ clean: true });
  }
}
