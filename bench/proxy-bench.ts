/**
 * npm run bench:proxy [-- --duration 5 --rounds 3]
 *
 * What the fault proxy costs with no toxics: the same HTTP workload against a node directly and
 * through its client: link, alternating, in one run.
 *   throughput  autocannon, 64 keep-alive connections, GET of existing keys (no fsync in the way)
 *   latency     one connection, requests one after another, timed with hrtime (autocannon's
 *               latency is whole milliseconds, too coarse for a sub-millisecond difference)
 * A bare Node pipe forwarder (bench/pipe-forwarder.ts) is measured the same way, as the floor any
 * Node.js proxy sits on. Each path gets a short warm-up first (the node's first seconds are slow).
 * Figures go to stdout and docs/benchmarks.md (section "proxy").
 */

import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ReplabCluster } from '../src/cluster/replab-cluster.js';
import { parseClusterSpec } from '../src/cluster/spec.js';
import { runHttpBench } from '../src/workloads/http-bench.js';
import { median, writeBenchSection } from './report-section.js';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' } } });
const durationSec = Number(values.duration);
const rounds = Number(values.rounds);
const KEYS = 100;

const spec = parseClusterSpec({ name: 'bench-proxy', nodes: [{ id: 'n1' }], replication: { mode: 'async' } }, 'bench', 'bench');
const cluster = await ReplabCluster.up(spec, { stateRoot: `${os.tmpdir()}/replab-bench` });

/** Sequential GETs on one keep-alive connection; returns per-request latencies in ms. */
async function probe(address: string, n: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const [host, port] = address.split(':');
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host, port: Number(port), path: `/kv/bench-${i % KEYS}`, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  agent.destroy();
  return out;
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

const direct = cluster.endpoint('n1').http;
const forwarder = spawn(process.execPath, [path.join(path.dirname(fileURLToPath(import.meta.url)), 'pipe-forwarder.js'), '0', direct], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  const pipePort = await new Promise<number>((resolve, reject) => {
    forwarder.stdout!.on('data', (b: Buffer) => {
      const m = /listening (\d+)/.exec(b.toString());
      if (m) resolve(Number(m[1]));
    });
    forwarder.once('exit', (code) => reject(new Error(`pipe forwarder exited with ${code}`)));
  });
  const proxied = cluster.clientAddress('n1');
  const piped = `127.0.0.1:${pipePort}`;
  for (let i = 0; i < KEYS; i++) await fetch(`http://${direct}/kv/bench-${i}`, { method: 'PUT', body: 'x'.repeat(100) });
  type PathName = 'direct' | 'proxied' | 'pipe';
  const paths: Array<[PathName, string]> = [
    ['direct', direct],
    ['proxied', proxied],
    ['pipe', piped],
  ];
  for (const [, address] of paths) await runHttpBench({ address, method: 'GET', connections: 64, durationSec: 2, keySpace: KEYS });
  const thr: Record<PathName, number[]> = { direct: [], proxied: [], pipe: [] };
  const lat: Record<PathName, { p50: number[]; p99: number[] }> = { direct: { p50: [], p99: [] }, proxied: { p50: [], p99: [] }, pipe: { p50: [], p99: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const [name, address] of paths) {
      const res = await runHttpBench({ address, method: 'GET', connections: 64, durationSec, keySpace: KEYS });
      if (res.non2xx > 0 || res.errors > 0) throw new Error(`${name}: ${res.non2xx} non-2xx answers and ${res.errors} errors`);
      thr[name].push(res.requestsPerSec);
      const samples = await probe(address, 3000);
      lat[name].p50.push(quantile(samples, 0.5));
      lat[name].p99.push(quantile(samples, 0.99));
      console.error(
        `round ${r + 1} ${name}: ${res.requestsPerSec.toFixed(0)} req/s, sequential p50 ${quantile(samples, 0.5).toFixed(3)} ms p99 ${quantile(samples, 0.99).toFixed(3)} ms`,
      );
    }
  }
  const ratio = median(thr.proxied) / median(thr.direct);
  const pipeRatio = median(thr.pipe) / median(thr.direct);
  const addedP50 = median(lat.proxied.p50) - median(lat.direct.p50);
  const addedP99 = median(lat.proxied.p99) - median(lat.direct.p99);
  const table = `| path | requests/s (median) | sequential p50 ms | sequential p99 ms |
| --- | ---: | ---: | ---: |
| direct to the node | ${median(thr.direct).toFixed(0)} | ${median(lat.direct.p50).toFixed(3)} | ${median(lat.direct.p99).toFixed(3)} |
| through client:n1 (no toxics) | ${median(thr.proxied).toFixed(0)} | ${median(lat.proxied.p50).toFixed(3)} | ${median(lat.proxied.p99).toFixed(3)} |
| through a bare Node pipe forwarder (floor) | ${median(thr.pipe).toFixed(0)} | ${median(lat.pipe.p50).toFixed(3)} | ${median(lat.pipe.p99).toFixed(3)} |

| measure | measured | aim |
| --- | ---: | ---: |
| proxied / direct throughput | ${(ratio * 100).toFixed(0)}% | ≥ 80% |
| bare pipe forwarder / direct throughput | ${(pipeRatio * 100).toFixed(0)}% | — |
| proxied / bare pipe forwarder | ${((median(thr.proxied) / median(thr.pipe)) * 100).toFixed(0)}% | — |
| added p50 | ${addedP50.toFixed(3)} ms | ≤ 0.3 ms |
| added p99 | ${addedP99.toFixed(3)} ms | — |`;
  console.log(table);
  const md = `### Proxy: cost of the fault proxy with no toxics (\`npm run bench:proxy -- --duration ${durationSec} --rounds ${rounds}\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}.
One node (async), GET of 100 existing keys. Throughput: autocannon, 64 connections, ${durationSec} s per path after a 2 s
warm-up of each, direct, proxied and bare-pipe alternating, median of ${rounds} rounds. Latency: 3,000 sequential requests on one keep-alive connection per
round, timed with hrtime, median of the rounds' quantiles.

${table}
`;
  console.error(`wrote ${await writeBenchSection('proxy', md)}`);
} finally {
  forwarder.kill('SIGTERM');
  await cluster.down({ clean: true });
}
