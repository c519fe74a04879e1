/**
 * npm run bench:node [-- --duration 10 --rounds 1]
 *
 * Writes/s and latency of a 3-node cluster per replication mode (autocannon, 64 connections,
 * 100-byte values), next to a bare write+fdatasync loop on the same disk measured in the same run:
 * the physical limit of one durable write at a time, which group commit should beat.
 * Figures go to stdout and to docs/benchmarks.md (section "node").
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadClusterSpec } from '../src/cluster/spec.js';
import { projectRoot } from '../src/lib/paths.js';
import { benchModes, formatModeTable, type ModeBenchRow } from '../src/suite/mode-throughput.js';
import { bareFsyncLoop } from './peers/fsync-loop.js';
import { median, writeBenchSection } from './report-section.js';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, rounds: { type: 'string', default: '1' }, backend: { type: 'string', default: 'process' } },
});
if (values.backend !== 'process' && values.backend !== 'docker') throw new Error(`--backend must be process or docker, got ${values.backend}`);
const durationSec = Number(values.duration);
const rounds = Number(values.rounds);

const spec = await loadClusterSpec(path.join(projectRoot(), 'clusters', 'three-node.yaml'));

// --backend docker: the same modes on the docker backend in the same rounds, process and docker
// taking turns to go first, so drift on a shared machine hits both alike (section "node-docker").
let dockerEngine: { started: boolean } | undefined;
if (values.backend === 'docker') {
  const { ensureEngine, dockerClient } = await import('../src/docker/engine.js');
  const { buildImageOffline } = await import('../src/docker/image.js');
  const engine = await ensureEngine();
  process.env.DOCKER_HOST = engine.host;
  await buildImageOffline(dockerClient(engine.host));
  dockerEngine = engine;
}

const bare: number[] = [];
const all: ModeBenchRow[][] = [];
const docker: ModeBenchRow[][] = [];
for (let r = 0; r < rounds; r++) {
  bare.push(bareFsyncLoop(3));
  console.error(`round ${r + 1}: bare fdatasync loop ${bare.at(-1)!.toFixed(0)}/s`);
  const processRound = async () =>
    all.push(
      await benchModes({ spec, modes: ['async', 'semi-sync', 'sync'], durationSec, connections: 64, onProgress: (m) => console.error(`round ${r + 1}: ${m}`) }),
    );
  const dockerRound = async () =>
    docker.push(
      await benchModes({
        spec: { ...spec, backend: 'docker' },
        modes: ['async', 'semi-sync', 'sync'],
        durationSec,
        connections: 64,
        onProgress: (m) => console.error(`docker round ${r + 1}: ${m}`),
      }),
    );
  if (!dockerEngine) await processRound();
  else if (r % 2 === 0) {
    await processRound();
    await dockerRound();
  } else {
    await dockerRound();
    await processRound();
  }
}
bare.push(bareFsyncLoop(3));

// Medians per mode across rounds.
const modes = all[0]!.map((row) => row.mode);
const rows: ModeBenchRow[] = modes.map((mode) => {
  const rs = all.map((round) => round.find((x) => x.mode === mode)!);
  const med = (f: (x: ModeBenchRow) => number) => median(rs.map(f));
  return {
    ...rs[0]!,
    requestsPerSec: med((x) => x.requestsPerSec),
    fsyncsPerSec: med((x) => x.fsyncsPerSec),
    writesPerFsync: med((x) => x.writesPerFsync),
    latencyMs: { p50: med((x) => x.latencyMs.p50), p99: med((x) => x.latencyMs.p99), p999: med((x) => x.latencyMs.p999), max: med((x) => x.latencyMs.max) },
  };
});
const bareMedian = median(bare);
const rate = (m: string) => rows.find((r) => r.mode === m)!.requestsPerSec;
const ratios = {
  asyncOverBareFsync: rate('async') / bareMedian,
  semiSyncOverAsync: rate('semi-sync') / rate('async'),
  syncOverAsync: rate('sync') / rate('async'),
};
const table = formatModeTable(rows);
console.log(table);
console.log(`bare fdatasync loop: ${bareMedian.toFixed(0)}/s (median of ${bare.length})`);
console.log(
  `async / bare fsync ${ratios.asyncOverBareFsync.toFixed(2)}x · semi-sync / async ${ratios.semiSyncOverAsync.toFixed(2)} · sync / async ${ratios.syncOverAsync.toFixed(2)}`,
);

const md = `### Node: writes per mode (\`npm run bench:node -- --duration ${durationSec} --rounds ${rounds}\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}.
3-node cluster (clusters/three-node.yaml, direct topology), leader driven by autocannon with 64 connections,
100-byte values, ${durationSec} s per mode${rounds > 1 ? `, median of ${rounds} rounds` : ''}. Latency from autocannon's HdrHistogram.

| mode | writes/s | p50 ms | p99 ms | p99.9 ms | leader fsyncs/s | writes per fsync |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map((r) => `| ${r.mode} | ${r.requestsPerSec.toFixed(0)} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.latencyMs.p999} | ${r.fsyncsPerSec.toFixed(0)} | ${r.writesPerFsync.toFixed(1)} |`).join('\n')}

Bare 100-byte write + fdatasync loop on the same disk, same run: **${bareMedian.toFixed(0)}/s** (median of ${bare.length}, before and after).

| ratio | measured | aim |
| --- | ---: | ---: |
| async / bare fsync loop | ${ratios.asyncOverBareFsync.toFixed(2)}× | ≥ 4× |
| semi-sync / async | ${(ratios.semiSyncOverAsync * 100).toFixed(0)}% | ≥ 70% |
| sync / async | ${(ratios.syncOverAsync * 100).toFixed(0)}% | ≥ 60% |
`;
console.error(`wrote ${await writeBenchSection('node', md)}`);

if (dockerEngine) {
  if (dockerEngine.started) await (await import('../src/docker/engine.js')).stopPrivateEngine();
  const dockerRate = (m: string) => median(docker.map((round) => round.find((x) => x.mode === m)!.requestsPerSec));
  const lines = modes.map((m) => `| ${m} | ${rate(m).toFixed(0)} | ${dockerRate(m).toFixed(0)} | ${(dockerRate(m) / rate(m)).toFixed(2)} |`);
  const table = `| mode | process writes/s | docker writes/s | docker / process |\n| --- | ---: | ---: | ---: |\n${lines.join('\n')}`;
  console.log(table);
  await writeBenchSection(
    'node-docker',
    `### Node on the docker backend (\`npm run bench:node -- --backend docker --duration ${durationSec} --rounds ${rounds}\`)

Measured ${new Date().toISOString().slice(0, 10)} in the same rounds as the process figures above (the two backends taking turns
to go first): the same 3-node cluster, each node, the monitor and the proxy in its own container (host network, data dir
in a named volume), autocannon on the host. Medians of ${rounds} round(s).

${table}

Aim: docker / process ≥ 0.9 per mode.
`,
  );
}
