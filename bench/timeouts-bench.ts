/**
 * npm run bench:timeouts [-- --timeouts 500,1000,2000,5000,10000,30000 --concurrency 8]
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
import os from 'node:os';
import { parseArgs } from 'node:util';
import { closeKvClients, type Outcome } from '../src/client/kv-http.js';
import { ReplabCluster } from '../src/cluster/replab-cluster.js';
import { parseClusterSpec } from '../src/cluster/spec.js';
import { startFault } from '../src/faults/nemesis/faults.js';
import { Rng } from '../src/lib/rng.js';
import { waitFor } from '../src/lib/wait.js';
import { writeBenchSection } from './report-section.js';

const { values } = parseArgs({
  options: { timeouts: { type: 'string', default: '500,1000,2000,5000,10000,30000' }, concurrency: { type: 'string', default: '8' } },
});
const timeouts = values.timeouts.split(',').map(Number);
const concurrency = Number(values.concurrency);
const PAUSES_MS = [200, 500, 1000, 1500, 2000, 3000];
const GAP_MS = 2500;
const SPIKES = 3;
const SPIKE = { latencyMs: 400, jitterMs: 400, forMs: 2000 };

interface Row {
  timeoutMs: number;
  needless: number;
  needlessAnswered: number;
  outageMs: number | null;
  acked: number;
  lost: number;
}

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
    const row = { timeoutMs, needless, needlessAnswered, outageMs, acked: acks.length, lost };
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

const rows: Row[] = [];
for (const t of timeouts) rows.push(await runTimeout(t));

const table = `| failoverTimeoutMs | needless failovers (old leader answered) | write outage after the crash, ms | acknowledged writes | acknowledged writes lost |
| ---: | ---: | ---: | ---: | ---: |
${rows.map((r) => `| ${r.timeoutMs} | ${r.needless} (${r.needlessAnswered}) | ${r.outageMs ?? 'no write resumed'} | ${r.acked} | ${r.lost} |`).join('\n')}`;
console.log(table);

const md = `### Failover timeouts: needless failovers against outage (\`npm run bench:timeouts\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}.
One async 3-node cluster per timeout (monitor heartbeat 100 ms, lease half the timeout), ${concurrency} writers through the
cluster client, the same schedule each time: leader pauses (SIGSTOP) of ${PAUSES_MS.map((m) => m / 1000).join(', ')} s, ${GAP_MS / 1000} s apart;
${SPIKES} latency spikes of ${SPIKE.latencyMs} ± ${SPIKE.jitterMs} ms on the monitor's links for ${SPIKE.forMs / 1000} s; then the leader killed (-9).
Needless: promotions during the pauses and spikes (the leader was alive; in brackets, those where the old leader
also answered at its own address when the failover began). Outage: kill → first write acknowledged by the new
leader. Lost: acknowledged writes missing from the final state once the cluster converged.

${table}
`;
console.error(`wrote ${await writeBenchSection('timeouts', md)}`);
