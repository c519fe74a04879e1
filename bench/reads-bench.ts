/**
 * npm run bench:reads [-- --duration 5 --rounds 3 --clients 64 --writers 8 --no-write]
 *
 * Read capacity of replab's KV on a 3-node cluster (clusters/three-node.yaml, semi-sync), 10,000
 * keys of 100 bytes preloaded so every read finds its key:
 *   1. where reads go: all on the leader, all on one follower, spread over two followers
 *      (the same closed-loop readers, `consistency=any`, straight to the nodes);
 *   2. each of those with and without closed-loop writers on the leader at the same time;
 *   3. each routing policy through the workload's routing client (KvDataClient), every client
 *      writing one operation in ten and keeping its session token: reads/s, latency and the share
 *      of reads the followers served.
 * Reads/s, read p50/p99/p99.9 (HdrHistogram, bench/peers/closed-loop.ts) and CPU per read by
 * process, medians over rounds; a fresh cluster per round, the runs in reverse order every other
 * round. Tables and ratios to stdout and to docs/benchmarks.md (section "reads") unless --no-write.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { closeKvClients } from '../src/client/kv-http.js';
import { ReplabCluster } from '../src/cluster/replab-cluster.js';
import { loadClusterSpec } from '../src/cluster/spec.js';
import { onInterrupt } from '../src/lib/cleanup.js';
import { projectRoot } from '../src/lib/paths.js';
import { formatReadPolicy, parseReadPolicy, type ReadPolicy } from '../src/lib/read-consistency.js';
import { KEY_SPACE, measurePlacement, measurePolicy, preload, type RunResult, VALUE_BYTES, WRITE_EVERY } from './reads/runs.js';
import { median, writeBenchSection } from './report-section.js';

function usage(message: string): never {
  console.error(`bench:reads: ${message}`);
  process.exit(2);
}

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '64' },
    writers: { type: 'string', default: '8' },
    'no-write': { type: 'boolean', default: false },
  },
});
const positive = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) usage(`--${name} must be a positive integer, got "${v}"`);
  return n;
};
const durationSec = positive('duration', args.duration);
const rounds = positive('rounds', args.rounds);
const clients = positive('clients', args.clients);
const writers = positive('writers', args.writers);
const POLICIES: ReadPolicy[] = ['leader-only', 'round-robin', 'least-lag', 'bounded-staleness:100', 'session'].map((p) => {
  const r = parseReadPolicy(p);
  if (!r.ok) throw new Error(r.error);
  return r.value;
});

const spec = await loadClusterSpec(path.join(projectRoot(), 'clusters', 'three-node.yaml'));
const leaderId = spec.leader;
const followerIds = spec.nodes.map((n) => n.id).filter((id) => id !== leaderId);
if (followerIds.length < 2) throw new Error(`clusters/three-node.yaml should have two followers, has ${followerIds.length}`);
const [f1, f2] = followerIds as [string, string];

type Section = 'placement' | 'policy';
interface Plan {
  key: string;
  section: Section;
  label: string;
  writers: number;
  run: (c: ReplabCluster) => Promise<RunResult>;
}
const PLACEMENTS = [
  { id: 'leader', label: `all on the leader (${leaderId})`, targets: [leaderId] },
  { id: 'one-follower', label: `all on one follower (${f1})`, targets: [f1] },
  { id: 'two-followers', label: `spread over two followers (${f1}, ${f2})`, targets: [f1, f2] },
];
const plans: Plan[] = [
  // Each placement with and without writers back to back, so the pair being compared ran close in time.
  ...PLACEMENTS.flatMap((p) =>
    [0, writers].map((w) => ({
      key: `${p.id}/${w}`,
      section: 'placement' as const,
      label: p.label,
      writers: w,
      run: (c: ReplabCluster) => measurePlacement(c, { targets: p.targets, clients, writers: w, durationSec }),
    })),
  ),
  ...POLICIES.map((policy) => ({
    key: `policy/${formatReadPolicy(policy)}`,
    section: 'policy' as const,
    label: formatReadPolicy(policy),
    writers: 0,
    run: (c: ReplabCluster) => measurePolicy(c, { policy, clients, durationSec }),
  })),
];

interface Measured {
  plan: Plan;
  result: RunResult;
}
const measured: Measured[] = [];
let current: { cluster: ReplabCluster | undefined; stateRoot: string } | undefined;
const stop = async () => {
  const c = current;
  current = undefined;
  if (!c) return;
  if (c.cluster) await c.cluster.down({ clean: true });
  await fsp.rm(c.stateRoot, { recursive: true, force: true });
};
const unregister = onInterrupt(stop);

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const sumTags = (tags: Record<string, number>, keep: (node: string) => boolean) => Object.entries(tags).reduce((a, [node, n]) => a + (keep(node) ? n : 0), 0);

try {
  for (let r = 0; r < rounds; r++) {
    const stateRoot = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-reads-'));
    current = { cluster: undefined, stateRoot };
    try {
      const cluster = await ReplabCluster.up({ ...spec, name: 'reads-bench' }, { stateRoot });
      current.cluster = cluster;
      if (cluster.leaderId() !== leaderId) throw new Error(`expected ${leaderId} to lead, ${cluster.leaderId()} does`);
      await preload(cluster);
      console.error(`round ${r + 1}/${rounds}: ${KEY_SPACE} keys preloaded on ${cluster.nodeIds().join(', ')}`);
      // Reversed every other round, so a machine that slows down during a round hits each run alike.
      const order = r % 2 === 0 ? plans : [...plans].reverse();
      for (const plan of order) {
        // Each run starts with every follower holding the previous run's writes, not still applying them.
        await cluster.waitConverged(30_000);
        const result = await plan.run(cluster);
        measured.push({ plan, result });
        const rd = result.reads.byKind.read;
        const w = result.writers?.byKind.write ?? result.reads.byKind.write;
        const followers = rd ? sumTags(rd.tags, (n) => n !== leaderId) / Math.max(1, rd.total) : 0;
        const errors = result.reads.errors + (result.writers?.errors ?? 0);
        console.error(
          `  ${plan.section === 'policy' ? `policy ${plan.label}` : `${plan.label}, ${plan.writers} writers`}: ${fmt(rd?.perSec ?? 0)} reads/s, p50 ${fmt(rd?.latencyMs.p50 ?? 0, 2)} p99 ${fmt(rd?.latencyMs.p99 ?? 0, 2)} ms, followers served ${fmt(followers * 100)}%${w ? `, ${fmt(w.perSec)} writes/s` : ''}, cores busy ${fmt((result.cpu?.machineShare ?? 0) * os.cpus().length, 2)} (other work ${fmt((result.cpu?.othersShare ?? 0) * os.cpus().length, 2)})${errors ? `, ${errors} errors (${result.reads.firstError ?? result.writers?.firstError})` : ''}`,
        );
      }
    } finally {
      await stop();
    }
  }
} finally {
  await stop();
  unregister();
  closeKvClients();
}

// Medians per run across rounds.
const processes = [leaderId, f1, f2, 'proxy + monitor', 'load generator'];
interface Summary {
  plan: Plan;
  readsPerSec: number;
  p50: number;
  p99: number;
  p999: number;
  writesPerSec: number | undefined;
  writeP99: number | undefined;
  followerShare: number;
  errors: number;
  firstError: string | undefined;
  /** Reads/s of the slowest and fastest round. */
  readsPerSecRange: [number, number];
  /** Policy runs: read requests sent per read served (1: never refused first), and the refusals seen. */
  requestsPerRead: number | undefined;
  refusals: string;
  /** Reads per CPU-second spent by all these processes together: what sharing the machine does not change. */
  readsPerCpuSec: number;
  /** CPU µs per read by process. */
  cpu: Record<string, number>;
  coresBusy: number;
  /** Cores kept busy meanwhile by other work on the machine. */
  othersBusy: number;
}
const summaries: Summary[] = plans.map((plan) => {
  const rs = measured.filter((m) => m.plan.key === plan.key).map((m) => m.result);
  const med = (f: (x: RunResult) => number) => median(rs.map(f));
  const read = (x: RunResult) => x.reads.byKind.read;
  const write = (x: RunResult) => x.writers?.byKind.write ?? x.reads.byKind.write;
  const hasWrites = rs.some((x) => write(x) !== undefined);
  return {
    plan,
    readsPerSec: med((x) => read(x)?.perSec ?? 0),
    p50: med((x) => read(x)?.latencyMs.p50 ?? 0),
    p99: med((x) => read(x)?.latencyMs.p99 ?? 0),
    p999: med((x) => read(x)?.latencyMs.p999 ?? 0),
    writesPerSec: hasWrites ? med((x) => write(x)?.perSec ?? 0) : undefined,
    writeP99: hasWrites ? med((x) => write(x)?.latencyMs.p99 ?? 0) : undefined,
    followerShare: med((x) => {
      const rd = read(x);
      return rd ? sumTags(rd.tags, (n) => n !== leaderId) / Math.max(1, rd.total) : 0;
    }),
    errors: rs.reduce((a, x) => a + x.reads.errors + (x.writers?.errors ?? 0), 0),
    firstError: rs.map((x) => x.reads.firstError ?? x.writers?.firstError).find((e) => e !== undefined),
    readsPerSecRange: [Math.min(...rs.map((x) => read(x)?.perSec ?? 0)), Math.max(...rs.map((x) => read(x)?.perSec ?? 0))],
    requestsPerRead: rs.some((x) => x.tries) ? med((x) => (x.tries?.requests ?? 0) / Math.max(1, read(x)?.total ?? 0)) : undefined,
    refusals: [...new Set(rs.flatMap((x) => Object.keys(x.tries?.refused ?? {})))]
      .map((e) => `${e} ${rs.reduce((a, x) => a + (x.tries?.refused[e] ?? 0), 0)}`)
      .join(', '),
    readsPerCpuSec: med((x) => {
      const spent = Object.values(x.cpu?.seconds ?? {}).reduce((a, b) => a + b, 0);
      return spent > 0 ? (read(x)?.total ?? 0) / spent : 0;
    }),
    cpu: Object.fromEntries(processes.map((p) => [p, med((x) => ((x.cpu?.seconds[p] ?? 0) * 1e6) / Math.max(1, read(x)?.total ?? 0))])),
    coresBusy: med((x) => (x.cpu?.machineShare ?? 0) * os.cpus().length),
    othersBusy: med((x) => (x.cpu?.othersShare ?? 0) * os.cpus().length),
  };
});

const get = (key: string) => summaries.find((s) => s.plan.key === key)!;
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const cores = os.cpus().length;
const range = (s: Summary) => `${fmt(s.readsPerSecRange[0])} – ${fmt(s.readsPerSecRange[1])}`;
const writeCell = (s: Summary) => (s.writesPerSec === undefined ? '—' : fmt(s.writesPerSec));
const writeP99Cell = (s: Summary) => (s.writeP99 === undefined ? '—' : fmt(s.writeP99, 2));

const placementRows = summaries.filter((s) => s.plan.section === 'placement');
const policyRows = summaries.filter((s) => s.plan.section === 'policy');

const placementTable = [
  '| reads go to | concurrent writers | reads/s | slowest – fastest round | reads per CPU-second | read p50 ms | read p99 ms | read p99.9 ms | writes/s | write p99 ms | errors |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...placementRows.map(
    (s) =>
      `| ${s.plan.label} | ${s.plan.writers || 'none'} | ${fmt(s.readsPerSec)} | ${range(s)} | ${fmt(s.readsPerCpuSec)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.p999, 2)} | ${writeCell(s)} | ${writeP99Cell(s)} | ${s.errors} |`,
  ),
].join('\n');

const cpuHeader = `| ${processes.map((p) => (p === leaderId ? `${p} (leader) µs` : `${p} µs`)).join(' | ')} | total µs/read | cores busy: these · other work |`;
const cpuTotal = (s: Summary) => processes.reduce((a, p) => a + (s.cpu[p] ?? 0), 0);
const cpuCells = (s: Summary) =>
  `${processes.map((p) => fmt(s.cpu[p] ?? 0, 1)).join(' | ')} | ${fmt(cpuTotal(s), 1)} | ${fmt(s.coresBusy, 2)} · ${fmt(s.othersBusy, 2)} of ${cores} |`;
const placementCpuTable = [
  `| reads go to | concurrent writers ${cpuHeader}`,
  `| --- | ---: | ${processes.map(() => '---:').join(' | ')} | ---: | ---: |`,
  ...placementRows.map((s) => `| ${s.plan.label} | ${s.plan.writers || 'none'} | ${cpuCells(s)}`),
].join('\n');

const policyTable = [
  '| policy | reads/s | slowest – fastest round | reads per CPU-second | read p50 ms | read p99 ms | read p99.9 ms | served by followers | requests per read | writes/s | write p99 ms | errors |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...policyRows.map(
    (s) =>
      `| ${s.plan.label} | ${fmt(s.readsPerSec)} | ${range(s)} | ${fmt(s.readsPerCpuSec)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.p999, 2)} | ${fmt(s.followerShare * 100)}% | ${s.requestsPerRead === undefined ? '—' : fmt(s.requestsPerRead, 3)} | ${writeCell(s)} | ${writeP99Cell(s)} | ${s.errors} |`,
  ),
].join('\n');
const refusalLines = policyRows
  .filter((s) => s.refusals)
  .map((s) => `- ${s.plan.label}: ${s.refusals}`)
  .join('\n');
const policyCpuTable = [
  `| policy ${cpuHeader}`,
  `| --- | ${processes.map(() => '---:').join(' | ')} | ---: | ---: |`,
  ...policyRows.map((s) => `| ${s.plan.label} | ${cpuCells(s)}`),
].join('\n');

const rate = (key: string) => get(key).readsPerSec;
const ratioRows: Array<[string, string]> = [
  [`one follower / leader, reads/s, no writers`, ratio(rate('one-follower/0'), rate('leader/0'))],
  [`two followers / leader, reads/s, no writers`, ratio(rate('two-followers/0'), rate('leader/0'))],
  [`one follower / leader, reads/s, ${writers} writers`, ratio(rate(`one-follower/${writers}`), rate(`leader/${writers}`))],
  [`two followers / leader, reads/s, ${writers} writers`, ratio(rate(`two-followers/${writers}`), rate(`leader/${writers}`))],
  [`one follower / leader, reads per CPU-second, no writers`, ratio(get('one-follower/0').readsPerCpuSec, get('leader/0').readsPerCpuSec)],
  [`two followers / leader, reads per CPU-second, no writers`, ratio(get('two-followers/0').readsPerCpuSec, get('leader/0').readsPerCpuSec)],
  [
    `one follower / leader, reads per CPU-second, ${writers} writers`,
    ratio(get(`one-follower/${writers}`).readsPerCpuSec, get(`leader/${writers}`).readsPerCpuSec),
  ],
  [
    `two followers / leader, reads per CPU-second, ${writers} writers`,
    ratio(get(`two-followers/${writers}`).readsPerCpuSec, get(`leader/${writers}`).readsPerCpuSec),
  ],
  ...PLACEMENTS.map((p): [string, string] => [`with / without ${writers} writers, reads/s, ${p.label}`, ratio(rate(`${p.id}/${writers}`), rate(`${p.id}/0`))]),
  [
    `writes/s with reads on two followers / with reads on the leader`,
    ratio(get(`two-followers/${writers}`).writesPerSec ?? 0, get(`leader/${writers}`).writesPerSec ?? 0),
  ],
  ...policyRows
    .filter((s) => s.plan.label !== 'leader-only')
    .flatMap(
      (s): Array<[string, string]> => [
        [`${s.plan.label} / leader-only, reads/s (routing client)`, ratio(s.readsPerSec, rate('policy/leader-only'))],
        [`${s.plan.label} / leader-only, reads per CPU-second (routing client)`, ratio(s.readsPerCpuSec, get('policy/leader-only').readsPerCpuSec)],
      ],
    ),
];
const ratioTable = ['| ratio | measured |', '| --- | ---: |', ...ratioRows.map(([what, v]) => `| ${what} | ${v} |`)].join('\n');

console.log(`Where reads go (${clients} closed-loop readers, consistency any)\n\n${placementTable}\n\nCPU per read\n\n${placementCpuTable}\n`);
console.log(
  `Per policy (routing client, ${clients} clients, 1 op in ${WRITE_EVERY} a write, token per client)\n\n${policyTable}\n\n${refusalLines ? `${refusalLines}\n\n` : ''}CPU per read\n\n${policyCpuTable}\n`,
);
console.log(ratioTable);
const errorRow = summaries.find((s) => s.errors > 0);
if (errorRow) console.error(`errors, first: ${errorRow.firstError}`);

// What else ran meanwhile, from /proc/stat: on a shared machine reads/s follows the share of the cores these processes got.
const othersBusy = median(measured.map((m) => (m.result.cpu?.othersShare ?? 0) * cores));
const sharing =
  othersBusy >= 0.1
    ? `Other work on the machine kept a median ${fmt(othersBusy, 2)} of its ${cores} cores busy during the measured windows (from /proc/stat): read the ratios and CPU per read, not the absolute reads/s.`
    : 'Nothing else kept the machine busy during the measured windows (from /proc/stat).';
const command = `npm run bench:reads -- --duration ${durationSec} --rounds ${rounds} --clients ${clients} --writers ${writers}`;
if (!args['no-write']) {
  const file = await writeBenchSection(
    'reads',
    `### Reads: where they go, under writes, per routing policy (\`${command}\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${cores} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}. ${sharing}
clusters/three-node.yaml
(semi-sync, k=1, flush acks; the leader ${leaderId}, followers ${f1} and ${f2}), every process on the same ${cores} cores and one disk,
${KEY_SPACE.toLocaleString('en-US')} keys of ${VALUE_BYTES} bytes preloaded so every read finds its key. Closed loops
(bench/peers/closed-loop.ts): ${durationSec} s per run after a 1 s warm-up, latency per operation in an HdrHistogram, a fresh
cluster per round, the runs reversed every other round, medians of ${rounds} round(s). All traffic on 127.0.0.1, straight
to the nodes (not through the fault proxy).

**Where reads go.** ${clients} readers on keep-alive HTTP/1.1 (a minimal client, so the load generator costs as
little CPU as it can), \`GET /kv/{key}\` with consistency \`any\`, keys uniform; over two followers, half the readers on
each. With writers: ${writers} more clients at the same time, each PUTting ${VALUE_BYTES} bytes on the leader in a closed loop.
"Reads per CPU-second" is reads divided by the CPU the three nodes, proxy, monitor and load generator spent together
meanwhile: unlike reads/s it does not move with how much of the machine other work took during the run.

${placementTable}

CPU per read while measuring (from /proc, user + system, each process with its descendants; with writers, the
writes' CPU is in it too). "Cores busy" is these processes, then everything else the machine ran meanwhile:

${placementCpuTable}

**Per routing policy**, through the workload's routing client (src/client: ClusterClient + KvDataClient, one for all
${clients} clients, as in one application process; Node's http client, monitor refresh every second): every client
writes one operation in ${WRITE_EVERY} on the leader and keeps its own session token (the highest LSN it wrote or read),
so the session policy's reads after its own writes wait on a follower until it has applied them, or go to the leader.
"Served by followers" is the share of reads whose answer named a follower; "requests per read" counts the read
requests the client sent per read served (above 1: some reads were refused first, too stale or not caught up, and
tried elsewhere).

${policyTable}

${refusalLines ? `Refusals before a read was served (all rounds, measured windows):\n${refusalLines}\n\n` : ''}${policyCpuTable}

${ratioTable}
`,
  );
  console.error(`wrote ${file}`);
}
process.exit(0);
