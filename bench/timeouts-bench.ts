/**
 * npm run bench:timeouts [-- --system replab|postgres --timeouts 500,1000,2000,5000,10000,30000 --concurrency 8 --render]
 *
 * Rows are kept per system in docs/img/timeouts-sweep.json (a run replaces its own system's rows
 * and keeps the others'), and the table and chart are drawn from all of them; `--render` only
 * redraws them from that file. For PostgreSQL the timeouts are Patroni's ttl (whole seconds, 10 s
 * at least here), each distinct ttl run once (bench/timeouts-system.ts).
 *
 * The failover-timeout trade-off, measured: one async 3-node cluster per failoverTimeoutMs, each
 * put through the same fault schedule while writers write unique keys through the cluster client:
 *   1. stop-the-world pauses of the current leader (SIGSTOP) of 0.2, 0.5, 1, 1.5, 2 and 3 s;
 *   2. latency spikes on the monitor's links (400 ms ± 400 ms jitter, 2 s each, three of them);
 *   3. one real crash: the leader killed (-9), restarted once a successor leads.
 * Per timeout it reports needless failovers (promotions during phases 1–2, when the leader was
 * alive; the monitor's own record of whether the old leader answered at its address is counted
 * too), the write outage after the crash (the kill → the first write acknowledged by the new
 * leader), and acknowledged writes missing from the final state (async loses them on failover).
 * Everything except failoverTimeoutMs (and the lease, half of it) is the same for every run.
 * Figures go to stdout and docs/benchmarks.md (section "timeouts").
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { closeKvClients, type Outcome } from '../src/client/kv-http.js';
import { ReplabCluster } from '../src/cluster/replab-cluster.js';
import { parseClusterSpec } from '../src/cluster/spec.js';
import { startFault } from '../src/faults/nemesis/faults.js';
import { projectRoot } from '../src/lib/paths.js';
import { Rng } from '../src/lib/rng.js';
import { waitFor } from '../src/lib/wait.js';
import { MIN_TTL_S } from '../src/systems/postgres/mapping.js';
import { writeBenchSection } from './report-section.js';
import { writeSweepChart } from './timeouts-chart.js';
import { runSystemTimeout, type SweepRow } from './timeouts-system.js';

const { values } = parseArgs({
  options: {
    system: { type: 'string', default: 'replab' },
    timeouts: { type: 'string', default: '500,1000,2000,5000,10000,30000' },
    concurrency: { type: 'string', default: '8' },
    render: { type: 'boolean', default: false },
  },
});
if (values.system !== 'replab' && values.system !== 'postgres') throw new Error(`--system: replab or postgres, not ${values.system}`);
const timeouts = values.timeouts.split(',').map(Number);
const concurrency = Number(values.concurrency);
const PAUSES_MS = [200, 500, 1000, 1500, 2000, 3000];
const GAP_MS = 2500;
const SPIKES = 3;
const SPIKE = { latencyMs: 400, jitterMs: 400, forMs: 2000 };

type Row = SweepRow;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Event = Record<string, unknown> & { event: string; timeMs: number };
async function events(cluster: ReplabCluster): Promise<Event[]> {
  return (((await cluster.monitorStatus())?.events ?? []) as Event[]).filter((e) => typeof e.timeMs === 'number');
}

async function runTimeout(timeoutMs: number): Promise<Row> {
  const name = `bench-timeouts-${timeoutMs}`;
  const spec = parseClusterSpec(
    {
      name,
      nodes: [{ id: 'n1' }, { id: 'n2' }, { id: 'n3' }],
      replication: { mode: 'async' },
      heartbeatMs: 50,
      failover: { heartbeatMs: 100, failoverTimeoutMs: timeoutMs },
    },
    'bench',
    name,
  );
  const cluster = await ReplabCluster.up(spec, { stateRoot: `${os.tmpdir()}/replab-bench` });
  const acks: Array<{ key: string; value: string; epoch: number; atMs: number }> = [];
  let running = true;
  let seq = 0;
  const client = cluster.client();
  const loop = async () => {
    while (running) {
      const key = `k${seq++}`;
      const out: Outcome = await client.request('leader', { method: 'PUT', path: `/kv/${key}`, body: `v${key}`, timeoutMs: 2000 });
      if (out.type === 'ok') acks.push({ key, value: `v${key}`, epoch: out.epoch ?? 0, atMs: Date.now() });
      else await sleep(5);
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  const rng = new Rng(26);
  try {
    const started = Date.now();
    for (const ms of PAUSES_MS) {
      const leader = await cluster.currentLeaderId();
      await cluster.pause(leader);
      await sleep(ms);
      await cluster.resume(leader);
      await sleep(GAP_MS);
    }
    for (let i = 0; i < SPIKES; i++) {
      const spike = await startFault(cluster, { fault: 'latency', links: 'monitor', latencyMs: SPIKE.latencyMs, jitterMs: SPIKE.jitterMs }, rng);
      await sleep(SPIKE.forMs);
      await spike.stop();
      await sleep(GAP_MS);
    }
    // Failovers the pauses or spikes started may finish a little after them.
    await sleep(Math.min(timeoutMs, 3000));
    const before = (await events(cluster)).filter((e) => e.event === 'promoted' && e.timeMs >= started);
    const needless = before.length;
    const needlessAnswered = before.filter((e) => (e.oldLeader as { answered?: boolean } | undefined)?.answered === true).length;

    const view = (await cluster.monitorStatus())!;
    const leader = view.leader as string;
    const epoch = view.epoch as number;
    const killedAt = Date.now();
    await cluster.kill(leader);
    const resumed = await waitFor(() => acks.some((a) => a.epoch > epoch && a.atMs >= killedAt), timeoutMs + 30_000, 10);
    const outageMs = resumed ? Math.min(...acks.filter((a) => a.epoch > epoch && a.atMs >= killedAt).map((a) => a.atMs)) - killedAt : null;
    await cluster.restart(leader);
    running = false;
    await Promise.all(loops);
    await cluster.waitConverged(60_000);
    const final = await dump(cluster.endpoint(await cluster.currentLeaderId()).http);
    const lost = acks.filter((a) => final.get(a.key) !== a.value).length;
    const row: Row = {
      system: 'replab',
      mode: 'async',
      measured: new Date().toISOString().slice(0, 10),
      timeoutMs,
      needless,
      needlessAnswered,
      outageMs,
      acked: acks.length,
      lost,
    };
    console.error(JSON.stringify(row));
    return row;
  } finally {
    running = false;
    await Promise.all(loops);
    await cluster.down({ clean: true });
    closeKvClients();
  }
}

async function dump(address: string): Promise<Map<string, string>> {
  const res = await fetch(`http://${address}/kv?prefix=`);
  const body = (await res.json()) as { items: Array<{ key: string; value: string }> };
  return new Map(body.items.map((i) => [i.key, i.value]));
}

const SWEEP_FILE = path.join(projectRoot(), 'docs', 'img', 'timeouts-sweep.json');
const known: Row[] = JSON.parse(await fsp.readFile(SWEEP_FILE, 'utf8').catch(() => '[]')) as Row[];
const fresh: Row[] = [];
if (values.render) {
  // Nothing measured: the table and chart are redrawn from the rows kept.
} else if (values.system === 'replab') {
  for (const t of timeouts) fresh.push(await runTimeout(t));
} else {
  // Patroni's ttl is whole seconds with replab's floor (src/systems/postgres/mapping.ts): timeouts
  // that land on the same ttl would repeat one run, so each ttl runs once, named by its seconds.
  const ttls = [...new Set(timeouts.map((t) => Math.max(MIN_TTL_S, Math.ceil(t / 1000))))];
  for (const ttl of ttls)
    fresh.push(await runSystemTimeout('postgres', ttl * 1000, { pausesMs: PAUSES_MS, gapMs: GAP_MS, spikes: SPIKES, spike: SPIKE }, concurrency));
}
const rows = [...(values.render ? known : known.filter((r) => r.system !== values.system)), ...fresh].sort(
  (a, b) => a.system.localeCompare(b.system) || a.timeoutMs - b.timeoutMs,
);
await fsp.writeFile(SWEEP_FILE, `${JSON.stringify(rows, null, 2)}\n`);
const chart = await writeSweepChart(rows);

/** "replab 2026-12-04, postgres 2026-12-04": when each system's rows were measured. */
function measuredOn(rs: Row[]): string {
  const by = new Map<string, string>();
  for (const r of rs) by.set(r.system, r.measured ?? 'date not recorded');
  return [...by].map(([s, d]) => `${s} ${d}`).join(', ');
}

const table = `| system | failover timeout | needless failovers (old leader answered) | write outage after the crash, ms | acknowledged writes | acknowledged writes lost |
| --- | ---: | ---: | ---: | ---: | ---: |
${rows
  .map(
    (r) =>
      `| ${r.system} ${r.mode} | ${r.effective ?? `${r.timeoutMs} ms`} | ${r.needless} (${r.needlessAnswered ?? 'not known'}) | ${r.outageMs ?? 'no write resumed'} | ${r.acked} | ${r.lost < 0 ? 'not measured' : r.lost} |`,
  )
  .join('\n')}`;
console.log(table);

const md = `### Failover timeouts: needless failovers against outage (\`npm run bench:timeouts\`)

Measured on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}: ${measuredOn(rows)}.
Each system's rows come from its own last run, kept in docs/img/timeouts-sweep.json.
One async 3-node cluster per timeout, ${concurrency} writers through the system's own client, the same schedule each
time: leader pauses (SIGSTOP) of ${PAUSES_MS.map((m) => m / 1000).join(', ')} s, ${GAP_MS / 1000} s apart; ${SPIKES} latency spikes of
${SPIKE.latencyMs} ± ${SPIKE.jitterMs} ms on the monitor's links for ${SPIKE.forMs / 1000} s; then the leader killed (-9).
replab: monitor heartbeat 100 ms, lease half the timeout. PostgreSQL: Patroni's \`ttl\` (loop_wait 1 s,
retry_timeout half of the rest), paused through Patroni and the postmaster as src/systems/postgres documents.
Needless: failovers during the pauses and spikes, when the leader was alive (replab: the monitor's promotions, in
brackets those where the old leader also answered at its own address when the failover began; PostgreSQL: changes
of the leader Patroni names, polled every 250 ms, so "not known" in brackets). Outage: kill → first write
acknowledged by another node. Lost: acknowledged writes missing from the final state once the cluster converged.

${table}

![Failover timeout against write outage and needless failovers](${chart})
`;
console.error(`wrote ${await writeBenchSection('timeouts', md)}`);
