/**
 * npm run bench:systems [-- --duration 10 --clients 16 --kills 1]
 *
 * replab's KV, PostgreSQL under Patroni and MariaDB under replab's monitor, side by side in one run,
 * each in async, semi-sync and sync (MariaDB: async and AFTER_SYNC semi-sync; it has no sync), with
 * the same load shape: a closed loop of `clients` writers, each writing a 100-byte value to one of
 * 1,000 keys through the system's own client (HTTP for replab, SQL with `pg` for PostgreSQL and
 * with `mariadb` for MariaDB), every write's latency in an HdrHistogram. The systems take turns within each mode,
 * so drift of the machine hits both alike. Then, under the same load, the leader is killed
 * `kills` times: the time until the cluster names a new leader, and the write outage (last
 * acknowledged write before the kill → first after), measured the same way for both.
 *
 * A system whose Debian packages are missing (postgresql, patroni, etcd-server; mariadb-server) is
 * left out, and the run says so.
 * Figures go to stdout and docs/benchmarks.md (section "systems").
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { closeKvClients } from '../src/client/kv-http.js';
import { type ClusterSpec, parseClusterSpec } from '../src/cluster/spec.js';
import { waitFor } from '../src/lib/wait.js';
import { startSystem } from '../src/systems/index.js';
import { mariadbAvailable } from '../src/systems/mariadb/packages.js';
import { postgresAvailable } from '../src/systems/postgres/packages.js';
import type { SystemUnderTest } from '../src/systems/system.js';
import type { DataClient } from '../src/workloads/data-client.js';
import { median, writeBenchSection } from './report-section.js';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, clients: { type: 'string', default: '16' }, kills: { type: 'string', default: '1' } },
});
const durationSec = Number(values.duration);
const clients = Number(values.clients);
const kills = Number(values.kills);
const MODES = ['async', 'semi-sync', 'sync'] as const;
const VALUE = 'x'.repeat(100);

interface Load {
  writesPerSec: number;
  p50: number;
  p99: number;
  p999: number;
  errors: number;
}

interface Failover {
  newLeaderMs: number;
  outageMs: number;
}

type SystemKind = 'replab' | 'postgres' | 'mariadb';

const FAILOVER: Record<SystemKind, { heartbeatMs: number; failoverTimeoutMs: number; leaseMs: number }> = {
  replab: { heartbeatMs: 100, failoverTimeoutMs: 1000, leaseMs: 500 },
  postgres: { heartbeatMs: 1000, failoverTimeoutMs: 10_000, leaseMs: 5000 },
  mariadb: { heartbeatMs: 200, failoverTimeoutMs: 1500, leaseMs: 700 },
};

function spec(system: SystemKind, mode: (typeof MODES)[number]): ClusterSpec {
  const semi = mode === 'semi-sync' ? { k: 1, ...(system === 'mariadb' ? { waitPoint: 'after-sync', onSyncTimeout: 'block' } : {}) } : {};
  const doc = {
    name: `bs-${system.slice(0, 2)}-${mode}`,
    system,
    nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
    replication: { mode, ...semi },
    heartbeatMs: 50,
    failover: FAILOVER[system],
  };
  return parseClusterSpec(doc, 'bench:systems', doc.name);
}

/** `clients` writers in a closed loop until `stop()`; every ok write's latency and time recorded. */
function startLoad(writers: DataClient[]): {
  stop: () => Promise<void>;
  hist: hdr.Histogram;
  okTimes: number[];
  okNodes: Array<string | undefined>;
  errors: () => number;
} {
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const okTimes: number[] = [];
  const okNodes: Array<string | undefined> = [];
  let running = true;
  let errors = 0;
  const loops = writers.map(async (c, i) => {
    let n = 0;
    while (running) {
      const t0 = performance.now();
      const out = await c.write(`k${(i * 7919 + n++) % 1000}`, VALUE, 3000);
      const t1 = performance.now();
      if (out.type === 'ok') {
        hist.recordValue(Math.max(1, Math.round((t1 - t0) * 1000)));
        okTimes.push(t1);
        okNodes.push(out.node);
      } else {
        errors++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
    hist,
    okTimes,
    okNodes,
    errors: () => errors,
  };
}

async function measure(sys: SystemUnderTest): Promise<{ load: Load; failovers: Failover[] }> {
  const writers = await Promise.all(Array.from({ length: clients }, () => sys.dataClient({ refreshMs: 500 })));
  try {
    // Warm up (connections, caches), then measure.
    const warm = startLoad(writers);
    await new Promise((r) => setTimeout(r, 1500));
    await warm.stop();
    const run = startLoad(writers);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, durationSec * 1000));
    await run.stop();
    const secs = (performance.now() - t0) / 1000;
    const ms = (q: number) => run.hist.getValueAtPercentile(q) / 1000;
    const load: Load = { writesPerSec: run.okTimes.length / secs, p50: ms(50), p99: ms(99), p999: ms(99.9), errors: run.errors() };
    const failovers: Failover[] = [];
    for (let k = 0; k < kills; k++) {
      const old = await sys.currentLeaderId();
      const f = startLoad(writers);
      await new Promise((r) => setTimeout(r, 1000));
      const killedAt = performance.now();
      await sys.kill(old);
      let seenAt = 0;
      await waitFor(
        async () => {
          const l = await sys.currentLeaderId().catch(() => old);
          if (l !== old) seenAt = performance.now();
          return l !== old;
        },
        60_000,
        50,
      );
      // Keep writing until a write is acknowledged by another node than the killed one.
      const onNew = (i: number) => f.okNodes[i] !== undefined && f.okNodes[i] !== old;
      const resumed = await waitFor(() => f.okTimes.some((t, i) => t > killedAt && onNew(i)), 60_000, 50);
      await f.stop();
      const firstNew = f.okTimes.findIndex((t, i) => t > killedAt && onNew(i));
      const lastOld = f.okTimes.filter((t, i) => !onNew(i) && (firstNew < 0 || t < f.okTimes[firstNew]!)).pop() ?? killedAt;
      failovers.push({ newLeaderMs: seenAt ? seenAt - killedAt : NaN, outageMs: resumed && firstNew >= 0 ? f.okTimes[firstNew]! - lastOld : NaN });
      await sys.restart(old);
      await sys.waitConverged(120_000);
    }
    return { load, failovers };
  } finally {
    for (const w of writers) w.close();
  }
}

async function main(): Promise<void> {
  const withPg = await postgresAvailable();
  const withMdb = mariadbAvailable();
  const systems: SystemKind[] = ['replab', ...(withPg ? (['postgres'] as const) : []), ...(withMdb ? (['mariadb'] as const) : [])];
  if (!withPg) console.log('bench:systems: PostgreSQL, Patroni or etcd missing; measuring without it (apt-get install -y postgresql patroni etcd-server)');
  if (!withMdb) console.log('bench:systems: MariaDB missing; measuring without it (apt-get install -y mariadb-server)');
  const rows: string[] = [];
  const fo: string[] = [];
  const results: Record<string, Load> = {};
  for (const mode of MODES) {
    // Take turns: the first system of a mode alternates, so neither always runs on a fresher machine.
    // MariaDB semi-sync waits for one replica; it has no sync mode.
    const here = systems.filter((s) => !(s === 'mariadb' && mode === 'sync'));
    const order = MODES.indexOf(mode) % 2 === 0 ? here : [...here].reverse();
    for (const system of order) {
      process.stdout.write(`${system} ${mode}: starting… `);
      const sys = await startSystem(spec(system, mode), { stateRoot: `${os.tmpdir()}/replab-bench-systems`, readyTimeoutMs: 120_000 });
      try {
        const r = await measure(sys);
        results[`${system}/${mode}`] = r.load;
        console.log(
          `${r.load.writesPerSec.toFixed(0)} writes/s, p50 ${r.load.p50.toFixed(2)} ms, p99 ${r.load.p99.toFixed(2)} ms, p99.9 ${r.load.p999.toFixed(2)} ms; failover: ${r.failovers.map((f) => `new leader after ${f.newLeaderMs.toFixed(0)} ms, outage ${f.outageMs.toFixed(0)} ms`).join('; ')}`,
        );
        rows.push(
          `| ${system} | ${mode} | ${r.load.writesPerSec.toFixed(0)} | ${r.load.p50.toFixed(2)} | ${r.load.p99.toFixed(2)} | ${r.load.p999.toFixed(2)} | ${r.load.errors} |`,
        );
        const nl = r.failovers.map((f) => f.newLeaderMs).filter(Number.isFinite);
        const out = r.failovers.map((f) => f.outageMs).filter(Number.isFinite);
        fo.push(`| ${system} | ${mode} | ${r.failovers.length} | ${nl.length ? median(nl).toFixed(0) : '–'} | ${out.length ? median(out).toFixed(0) : '–'} |`);
      } finally {
        await sys.down({ clean: true });
        closeKvClients();
      }
    }
  }
  const ratio = (m: string, other = 'postgres') =>
    results[`replab/${m}`] && results[`${other}/${m}`] ? (results[`replab/${m}`]!.writesPerSec / results[`${other}/${m}`]!.writesPerSec).toFixed(2) : '–';
  const md = [
    `### Systems: replab KV, PostgreSQL + Patroni and MariaDB (\`npm run bench:systems -- --duration ${durationSec} --clients ${clients} --kills ${kills}\`)`,
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}): 3 nodes on one disk, ${clients} closed-loop writers, 100-byte values over 1,000 keys, ${durationSec} s per system and mode after a 1.5 s warm-up; the systems take turns within each mode. replab: HTTP PUT, fdatasync group commit, flush-level acks. PostgreSQL 15: single-row upsert in autocommit, \`synchronous_commit: on\`, Patroni synchronous mode for semi-sync (one standby) and strict mode for sync (both standbys). MariaDB 10.11: the same upsert in autocommit, \`sync_binlog = 1\`, GTID replication, semi-sync AFTER_SYNC with one replica's acknowledgement (it has no sync mode), failed over by replab's monitor.`,
    '',
    '| system | mode | writes/s | p50 ms | p99 ms | p99.9 ms | errors |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `replab / PostgreSQL writes/s: async ${ratio('async')}, semi-sync ${ratio('semi-sync')}, sync ${ratio('sync')}. replab / MariaDB writes/s: async ${ratio('async', 'mariadb')}, semi-sync ${ratio('semi-sync', 'mariadb')}.`,
    '',
    `Failover under the same load (leader killed with SIGKILL; replab: monitor failoverTimeoutMs 1 s; PostgreSQL: Patroni ttl 10 s, loop_wait 1 s; MariaDB: replab's monitor, failoverTimeoutMs 1.5 s). "New leader" is kill → the cluster names another leader; "outage" is the last write acknowledged by the old leader → the first acknowledged by another node (client view), medians. Patroni does not report detection and promotion apart, so neither column splits them:`,
    '',
    '| system | mode | kills | new leader ms | write outage ms |',
    '|---|---|---:|---:|---:|',
    ...fo,
  ].join('\n');
  console.log(`\n${md}\n\nwritten to ${await writeBenchSection('systems', md)}`);
}

await main();
