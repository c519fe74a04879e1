/**
 * npm run bench:peers [-- --duration 8 --rounds 3 --clients 64 --value-bytes 100 --scaling]
 *
 * replab's KV next to Redis, PostgreSQL and MariaDB, each a primary with two replicas on this machine, all
 * driven by the same closed-loop load generator (bench/peers/closed-loop.ts) with the same value
 * size and key spread, plus the bare write+fdatasync loop on the same disk. The systems take turns
 * within each round (order reversed every other round) and the figures are medians over rounds.
 * `--scaling` adds writes/s and p99 at 1, 8, 64 and 256 clients and at 100 B, 4 KiB and 64 KiB
 * values (one round each) with a chart. Everything goes to stdout and docs/benchmarks.md.
 *
 * Needs Debian's redis-server, postgresql and mariadb-server (exit 4 naming what to install
 * otherwise). MariaDB has no sync mode: its sync rows are left out.
 */

import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { onInterrupt } from '../src/lib/cleanup.js';
import { projectRoot } from '../src/lib/paths.js';
import { renderSvg } from '../src/report/render.js';
import { type ClosedLoopResult, runClosedLoop } from './peers/closed-loop.js';
import { cpuSeconds } from './peers/cpu-time.js';
import { bareFsyncLoop } from './peers/fsync-loop.js';
import { MariadbPeer } from './peers/mariadb-peer.js';
import { MissingPackage, type Peer, type PeerMode } from './peers/peer.js';
import { PostgresPeer } from './peers/postgres-peer.js';
import { RedisPeer } from './peers/redis-peer.js';
import { ReplabPeer } from './peers/replab-peer.js';
import { median, writeBenchSection } from './report-section.js';

const INSTALL = 'apt-get update && apt-get install -y redis-server postgresql mariadb-server';
const ALL_MODES: PeerMode[] = ['async', 'semi-sync', 'sync'];

function usage(message: string): never {
  console.error(`bench:peers: ${message}`);
  process.exit(2);
}

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '64' },
    'value-bytes': { type: 'string', default: '100' },
    systems: { type: 'string', default: 'replab,redis,postgres,mariadb' },
    modes: { type: 'string', default: 'async,semi-sync,sync' },
    scaling: { type: 'boolean', default: false },
    'scaling-duration': { type: 'string', default: '4' },
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
const valueBytes = positive('value-bytes', args['value-bytes']);
const scalingSec = positive('scaling-duration', args['scaling-duration']);
const wanted = args.systems!.split(',').map((s) => s.trim());
const MODES = args.modes!.split(',').map((m) => m.trim()) as PeerMode[];
for (const m of MODES) if (!ALL_MODES.includes(m)) usage(`--modes: unknown mode "${m}" (async, semi-sync, sync)`);
for (const s of wanted)
  if (!['replab', 'redis', 'postgres', 'mariadb'].includes(s)) usage(`--systems: unknown system "${s}" (replab, redis, postgres, mariadb)`);

let peers: Array<{ key: string; peer: Peer }>;
try {
  peers = await Promise.all(
    wanted.map(async (key) => ({
      key,
      peer: key === 'replab' ? new ReplabPeer() : key === 'redis' ? new RedisPeer() : key === 'mariadb' ? MariadbPeer.create() : await PostgresPeer.create(),
    })),
  );
} catch (e: unknown) {
  if (!(e instanceof MissingPackage)) throw e;
  console.error(`bench:peers: missing ${e.message}; install with: ${INSTALL}`);
  process.exit(4);
}
const stopAll = async () => {
  await Promise.allSettled(peers.map((p) => p.peer.stop()));
};
const unregister = onInterrupt(stopAll);

/** CPU microseconds per acknowledged write, by where they were spent. */
interface CpuPerWrite {
  primary: number;
  replicas: number;
  harness: number;
  loadGenerator: number;
  /** Share of the machine's cores busy in these processes while measuring. */
  machineShare: number;
}

interface Row extends ClosedLoopResult {
  system: string;
  key: string;
  mode: PeerMode;
  cpu: CpuPerWrite;
}

async function measure(p: { key: string; peer: Peer }, mode: PeerMode, n: number, bytes: number, seconds: number): Promise<Row> {
  let before: { sys: Map<string, number>; self: NodeJS.CpuUsage } | undefined;
  let spent: { sys: Map<string, number>; selfSec: number } | undefined;
  const onMeasure = (phase: 'start' | 'end') => {
    const sys = cpuSeconds(p.peer.processes());
    if (phase === 'start') before = { sys, self: process.cpuUsage() };
    else if (before) {
      const self = process.cpuUsage(before.self);
      spent = { sys: new Map([...sys].map(([k, v]) => [k, v - (before!.sys.get(k) ?? 0)])), selfSec: (self.user + self.system) / 1e6 };
    }
  };
  const r = await runClosedLoop({ clients: n, durationSec: seconds, valueBytes: bytes, connect: (i) => p.peer.connect(i), onMeasure });
  const per = (sec: number) => (r.total ? (sec * 1e6) / r.total : 0);
  const part = (k: string) => spent?.sys.get(k) ?? 0;
  const totalSec = part('primary') + part('replicas') + part('harness') + (spent?.selfSec ?? 0);
  const cpu: CpuPerWrite = {
    primary: per(part('primary')),
    replicas: per(part('replicas')),
    harness: per(part('harness')),
    loadGenerator: per(spent?.selfSec ?? 0),
    machineShare: totalSec / r.elapsedSec / os.cpus().length,
  };
  const row = { ...r, system: p.peer.name, key: p.key, mode, cpu };
  console.error(
    `  ${p.peer.name} ${mode} ${n} clients ${bytes} B: ${r.writesPerSec.toFixed(0)} w/s, p50 ${r.latencyMs.p50.toFixed(2)} p99 ${r.latencyMs.p99.toFixed(2)} ms${r.errors ? `, ${r.errors} errors (${r.firstError})` : ''}`,
  );
  return row;
}

/** The modes of the run that `p` has (MariaDB has no sync). */
const modesOf = (p: { peer: Peer }) => MODES.filter((m) => p.peer.supports?.(m) ?? true);

const bare: number[] = [];
const all: Row[] = [];
const scaling: Row[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    bare.push(bareFsyncLoop(3));
    console.error(`round ${r + 1}/${rounds}: bare fdatasync loop ${bare.at(-1)!.toFixed(0)}/s`);
    const order = r % 2 === 0 ? peers : [...peers].reverse();
    for (const p of order) {
      try {
        for (const mode of modesOf(p)) {
          await p.peer.use(mode);
          all.push(await measure(p, mode, clients, valueBytes, durationSec));
        }
      } finally {
        await p.peer.stop();
      }
    }
  }
  bare.push(bareFsyncLoop(3));
  if (args.scaling) {
    console.error('scaling: 1, 8, 64, 256 clients at 100 B; 100 B, 4 KiB, 64 KiB at 64 clients');
    for (const p of peers) {
      try {
        for (const mode of modesOf(p)) {
          await p.peer.use(mode);
          for (const n of [1, 8, 64, 256]) scaling.push(await measure(p, mode, n, 100, scalingSec));
          for (const bytes of [4096, 65536]) scaling.push(await measure(p, mode, 64, bytes, scalingSec));
        }
      } finally {
        await p.peer.stop();
      }
    }
  }
} finally {
  await stopAll();
  unregister();
}

// Medians per system and mode across rounds.
const summary = peers.flatMap((p) =>
  modesOf(p).map((mode) => {
    const rs = all.filter((x) => x.key === p.key && x.mode === mode);
    const med = (f: (x: Row) => number) => median(rs.map(f));
    return {
      key: p.key,
      system: p.peer.name,
      mode,
      promise: p.peer.promise(mode),
      writesPerSec: med((x) => x.writesPerSec),
      p50: med((x) => x.latencyMs.p50),
      p99: med((x) => x.latencyMs.p99),
      p999: med((x) => x.latencyMs.p999),
      errors: rs.reduce((a, x) => a + x.errors, 0),
      cpu: {
        primary: med((x) => x.cpu.primary),
        replicas: med((x) => x.cpu.replicas),
        harness: med((x) => x.cpu.harness),
        loadGenerator: med((x) => x.cpu.loadGenerator),
        machineShare: med((x) => x.cpu.machineShare),
      },
    };
  }),
);
const bareMedian = median(bare);
const get = (key: string, mode: PeerMode) => summary.find((s) => s.key === key && s.mode === mode);
const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const table = [
  '| system | mode | an acknowledged write survived | writes/s | p50 ms | p99 ms | p99.9 ms | errors |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...summary.map(
    (s) => `| ${s.system} | ${s.mode} | ${s.promise} | ${fmt(s.writesPerSec)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.p999, 2)} | ${s.errors} |`,
  ),
].join('\n');

const cpuTable = [
  '| system | mode | primary µs | replicas µs (sum) | proxy + monitor µs | load generator µs | total µs/write | cores busy |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...summary.map((s) => {
    const c = s.cpu;
    return `| ${s.system} | ${s.mode} | ${fmt(c.primary, 1)} | ${fmt(c.replicas, 1)} | ${s.key === 'replab' ? fmt(c.harness, 1) : '—'} | ${fmt(c.loadGenerator, 1)} | ${fmt(c.primary + c.replicas + c.harness + c.loadGenerator, 1)} | ${fmt(c.machineShare * os.cpus().length, 2)} of ${os.cpus().length} |`;
  }),
].join('\n');

interface Ratio {
  what: string;
  value: number | undefined;
  aim: number;
}
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
const ratios: Ratio[] = [
  {
    what: 'replab semi-sync / Redis SET + WAIT 1 (writes/s)',
    value: ratio(get('replab', 'semi-sync')?.writesPerSec, get('redis', 'semi-sync')?.writesPerSec),
    aim: 1,
  },
  {
    what: "Redis SET + WAIT 1 p99 / replab semi-sync p99 (≥ 1: replab's p99 is no higher)",
    value: ratio(get('redis', 'semi-sync')?.p99, get('replab', 'semi-sync')?.p99),
    aim: 1,
  },
  {
    what: 'replab async / Redis SET alone, appendfsync always',
    value: ratio(get('replab', 'async')?.writesPerSec, get('redis', 'async')?.writesPerSec),
    aim: 1,
  },
  { what: 'replab sync / replab semi-sync', value: ratio(get('replab', 'sync')?.writesPerSec, get('replab', 'semi-sync')?.writesPerSec), aim: 0.9 },
  { what: 'replab async / bare fdatasync loop', value: ratio(get('replab', 'async')?.writesPerSec, bareMedian), aim: 3 },
  { what: 'replab semi-sync / PostgreSQL ANY 1', value: ratio(get('replab', 'semi-sync')?.writesPerSec, get('postgres', 'semi-sync')?.writesPerSec), aim: NaN },
  { what: 'replab async / PostgreSQL async', value: ratio(get('replab', 'async')?.writesPerSec, get('postgres', 'async')?.writesPerSec), aim: NaN },
  {
    what: 'replab semi-sync / MariaDB semi-sync AFTER_SYNC',
    value: ratio(get('replab', 'semi-sync')?.writesPerSec, get('mariadb', 'semi-sync')?.writesPerSec),
    aim: NaN,
  },
  { what: 'replab async / MariaDB async', value: ratio(get('replab', 'async')?.writesPerSec, get('mariadb', 'async')?.writesPerSec), aim: NaN },
];
const ratioTable = [
  '| ratio | measured | aim | met |',
  '| --- | ---: | ---: | :---: |',
  ...ratios.map(
    (r) =>
      `| ${r.what} | ${r.value === undefined ? 'n/a' : `${r.value.toFixed(2)}×`} | ${Number.isNaN(r.aim) ? '—' : `≥ ${r.aim}×`} | ${r.value === undefined || Number.isNaN(r.aim) ? '' : r.value >= r.aim ? 'yes' : '**no**'} |`,
  ),
].join('\n');

console.log(table);
console.log(`\n${cpuTable}`);
console.log(`\nbare fdatasync loop: ${fmt(bareMedian)}/s (median of ${bare.length}, before, between rounds and after)\n`);
console.log(ratioTable);

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const command = `npm run bench:peers -- --duration ${durationSec} --rounds ${rounds} --clients ${clients} --value-bytes ${valueBytes}${args.scaling ? ` --scaling --scaling-duration ${scalingSec}` : ''}`;
if (!args['no-write']) {
  await writeBenchSection(
    'peers',
    `### Peers: replab KV, Redis and PostgreSQL side by side (\`${command}\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} cores (${cpu}), Node ${process.version}, one disk for everything.
Each system is a primary and two replicas on 127.0.0.1, all fsyncing; one closed-loop load generator
(bench/peers/closed-loop.ts) drives the primary with ${clients} clients, ${valueBytes}-byte values over 10,000 keys,
${durationSec} s per mode after a 1 s warm-up, latency per write in an HdrHistogram; the systems take turns within each
round, medians of ${rounds} round(s). replab over HTTP/1.1 keep-alive, Redis with ioredis, PostgreSQL with pg
(prepared single-row upsert, autocommit).

${table}

CPU per acknowledged write while measuring (from /proc: each process with its descendants, so
PostgreSQL's backends count; user + system time, medians over rounds). On two shared cores this,
more than any single process, sets the ceiling:

${cpuTable}

Bare 100-byte write + fdatasync loop on the same disk, same run: **${fmt(bareMedian)}/s** (median of ${bare.length}).

${ratioTable}
`,
  );
}

if (args.scaling && scaling.length) {
  const rowsFor = (f: (r: Row) => boolean) => scaling.filter(f);
  const clientRows = rowsFor((r) => r.valueBytes === 100);
  const sizeRows = rowsFor((r) => r.clients === 64);
  const scalingTable = (rows: Row[], by: 'clients' | 'valueBytes') => {
    const cols = [...new Set(rows.map((r) => r[by]))].sort((a, b) => a - b);
    const label = (c: number) => (by === 'clients' ? `${c} client${c === 1 ? '' : 's'}` : c >= 1024 ? `${c / 1024} KiB` : `${c} B`);
    return [
      `| system | mode | ${cols.map((c) => `${label(c)}: w/s · p99 ms`).join(' | ')} |`,
      `| --- | --- | ${cols.map(() => '---:').join(' | ')} |`,
      ...peers.flatMap((p) =>
        MODES.map(
          (mode) =>
            `| ${p.peer.name} | ${mode} | ${cols
              .map((c) => {
                const r = rows.find((x) => x.key === p.key && x.mode === mode && x[by] === c);
                return r ? `${fmt(r.writesPerSec)} · ${fmt(r.latencyMs.p99, 1)}` : '';
              })
              .join(' | ')} |`,
        ),
      ),
    ].join('\n');
  };
  const point = (r: Row) => ({
    system: r.system,
    mode: r.mode,
    clients: r.clients,
    valueKiB: r.valueBytes / 1024,
    writesPerSec: Math.round(r.writesPerSec),
    p99: r.latencyMs.p99,
    mibPerSec: (r.writesPerSec * r.valueBytes) / 2 ** 20,
  });
  const panel = (rows: Row[], x: 'clients' | 'valueKiB', y: 'writesPerSec' | 'p99' | 'mibPerSec', title: string, yTitle: string) => ({
    width: 260,
    height: 200,
    title,
    data: { values: rows.map(point) },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: x,
        type: 'quantitative',
        scale: { type: 'log', base: x === 'clients' ? 2 : 4 },
        title: x === 'clients' ? 'clients (100-byte values)' : 'value size, KiB (64 clients)',
      },
      y: { field: y, type: 'quantitative', scale: y === 'p99' ? { type: 'log' } : {}, title: yTitle },
      color: { field: 'system', type: 'nominal' },
      strokeDash: { field: 'mode', type: 'nominal' },
      tooltip: [{ field: 'system' }, { field: 'mode' }, { field: x }, { field: y }],
    },
  });
  const svg = await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    vconcat: [
      {
        hconcat: [
          panel(clientRows, 'clients', 'writesPerSec', 'Writes/s by clients', 'writes/s'),
          panel(clientRows, 'clients', 'p99', 'p99 latency by clients', 'p99 ms (log)'),
        ],
      },
      {
        hconcat: [
          panel(sizeRows, 'valueKiB', 'mibPerSec', 'Payload throughput by value size', 'MiB/s of values'),
          panel(sizeRows, 'valueKiB', 'p99', 'p99 latency by value size', 'p99 ms (log)'),
        ],
      },
    ],
    config: { font: 'sans-serif' },
  });
  const svgFile = path.join(projectRoot(), 'docs', 'img', 'peers-scaling.svg');
  if (!args['no-write']) {
    await fsp.mkdir(path.dirname(svgFile), { recursive: true });
    await fsp.writeFile(svgFile, svg);
    await writeBenchSection(
      'peers-scaling',
      `### Peers: scaling with clients and value size (\`${command}\`)

One round, ${scalingSec} s per point after a 1 s warm-up, same machine and run as above. Each cell: writes/s · p99 ms.

${scalingTable(clientRows, 'clients')}

${scalingTable(sizeRows, 'valueBytes')}

![writes/s and p99 by clients and value size](img/peers-scaling.svg)
`,
    );
  }
  console.log(`\n${scalingTable(clientRows, 'clients')}\n\n${scalingTable(sizeRows, 'valueBytes')}`);
}
process.exit(0);
