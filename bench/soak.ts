/**
 * npm run soak -- --seeds 100 [--modes semi-sync,sync] [--duration 6] [--reports DIR]
 *
 * Many seeded failover scenarios per mode, each a short `replab run` of its own: a 3-node cluster
 * with fencing by lease, replication slowed (20 ± 10 ms on every replication link), a register
 * workload, and one failure chosen and timed by the seed — kill -9 of the leader, SIGSTOP of it, a
 * partition of it from its followers and the monitor (clients still reach it), or a follower's
 * disk filled and freed, then a switchover to that follower (needs root: one volume per node). Every run is checked from
 * the nodes' logs. Semi-sync and sync must lose no acknowledged write and show no split-brain
 * write in any of them.
 *
 * Prints a line per run and a summary (seeds, failures with their run folders, the distribution
 * of write outages), keeps the folders of failed runs only, writes `soak.json`, and records the
 * summary in docs/benchmarks.md (section "soak"). Exit 1 when any run lost a write, showed split
 * brain, was not linearizable or did not converge. Not part of `npm test` or the CI gate: it takes
 * about 12 s per run (40 minutes for 100 seeds × 2 modes on 2 cores). docs/ci/soak-nightly.yml is
 * a scheduled-CI example.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../src/lib/paths.js';
import { Rng } from '../src/lib/rng.js';
import type { RunResult } from '../src/suite/results.js';
import { runOne } from '../src/suite/run-one.js';
import { loadSuite } from '../src/suite/spec.js';
import { writeBenchSection } from './report-section.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    'first-seed': { type: 'string', default: '1' },
    modes: { type: 'string', default: 'semi-sync,sync' },
    duration: { type: 'string', default: '6' },
    reports: { type: 'string' },
    'no-docs': { type: 'boolean', default: false },
  },
});

const MODES: Record<string, string> = {
  'semi-sync': '{mode: semi-sync, k: 1, onSyncTimeout: block}',
  sync: '{mode: sync}',
  async: '{mode: async}',
};
const seeds = Array.from({ length: Number(values.seeds) }, (_, i) => Number(values['first-seed']) + i);
const modes = values.modes!.split(',').map((m) => m.trim());
for (const m of modes) if (!MODES[m]) throw new Error(`--modes: unknown mode "${m}" (semi-sync, sync, async)`);
const durationSec = Number(values.duration);
const root = path.resolve(values.reports ?? path.join(projectRoot(), 'reports', `soak-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`));

type Fault = 'kill' | 'pause' | 'partition' | 'disk-full';

/** The seed's scenario: which failure, when, for how long (disk-full: of which follower). */
function scenario(seed: number): { fault: Fault; atMs: number; forMs: number; follower: string } {
  const rng = new Rng(seed * 7919);
  const fault = (['kill', 'pause', 'partition', 'disk-full'] as const)[rng.int(4)]!;
  return { fault, atMs: 1500 + rng.int(1000), forMs: 1500 + rng.int(1500), follower: rng.int(2) === 0 ? 'n2' : 'n3' };
}

function suiteYaml(mode: string, seed: number): string {
  const s = scenario(seed);
  // disk-full: a follower's disk fills up and is freed, then that follower is made leader (the
  // leader is still n1 then: nothing else fails in the run). Small segments and checkpoints, so
  // the follower's log stalls at its next segment and it comes back through a checkpoint.
  // The disk is freed at least 1.5 s before the switchover's latest time, the end of the run less 1 s.
  const diskForMs = Math.max(500, Math.min(s.forMs, durationSec * 1000 - 2500 - s.atMs));
  const switchoverAtMs = Math.min(s.atMs + diskForMs + 1500, durationSec * 1000 - 1000);
  const steps =
    s.fault === 'partition'
      ? [`{fault: partition, target: leader, cut: [repl, monitor], at: ${s.atMs}ms, for: ${s.forMs}ms}`]
      : s.fault === 'disk-full'
        ? [
            `{fault: disk-full, target: ${s.follower}, at: ${s.atMs}ms, for: ${diskForMs}ms}`,
            `{fault: switchover, target: ${s.follower}, at: ${switchoverAtMs}ms}`,
          ]
        : [`{fault: ${s.fault}, target: leader, at: ${s.atMs}ms, for: ${s.forMs}ms}`];
  const storage = s.fault === 'disk-full' ? '\n  storage: {segmentBytes: 8192, checkpointBytes: 4096, volumeMiB: 64}' : '';
  return `name: soak
cluster: ${path.join(projectRoot(), 'clusters', 'three-node.yaml')}
clusterOverrides:
  heartbeatMs: 50
  fencing: lease
  failover: {heartbeatMs: 100, failoverTimeoutMs: 1000, leaseMs: 500}${storage}
workload: ${path.join(projectRoot(), 'workloads', 'register.yaml')}
workloadOverrides: {concurrency: 6, keys: 6, rateOpsPerSec: 300, timeoutMs: 1000}
durationSec: ${durationSec}
seeds: [${seed}]
nemesis:
  - {fault: latency, links: repl, latencyMs: 20, jitterMs: 10, at: 0s}
${steps.map((step) => `  - ${step}`).join('\n')}
modes:
  - {name: ${mode}, replication: ${MODES[mode]}}
`;
}

interface SoakRun {
  mode: string;
  seed: number;
  fault: Fault;
  lostAcked: number | null;
  splitBrainWrites: number | null;
  linearizable: RunResult['linearizable'];
  converged: boolean;
  outageMs: number;
  infoOpen: number;
  seconds: number;
  failed: string[];
  dir?: string;
}

function failures(r: RunResult): string[] {
  const out: string[] = [];
  if (r.lostAcked === null || r.lostAcked > 0) out.push(`lostAcked ${r.lostAcked ?? 'unknown'}`);
  if (r.lossUnknown > 0) out.push(`${r.lossUnknown} acknowledged writes unclassified`);
  if ((r.splitBrainWrites ?? 0) > 0) out.push(`splitBrainWrites ${r.splitBrainWrites}`);
  if (r.linearizable !== true) out.push(`linearizable ${String(r.linearizable)}`);
  if (!r.converged) out.push('did not converge');
  return out;
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : 0;
};

async function main(): Promise<number> {
  await fsp.mkdir(root, { recursive: true });
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-soak-'));
  const runs: SoakRun[] = [];
  const started = Date.now();
  console.log(`soak: ${seeds.length} seed(s) × ${modes.join(', ')}, ${durationSec} s each → ${root}`);
  try {
    for (const seed of seeds) {
      for (const mode of modes) {
        const file = path.join(tmp, `${mode}-${seed}.yaml`);
        await fsp.writeFile(file, suiteYaml(mode, seed));
        const suite = await loadSuite(file);
        const t0 = Date.now();
        const r = await runOne({ suite, mode: suite.modes[0]!, seed, reportDir: root });
        const failed = failures(r);
        const run: SoakRun = {
          mode,
          seed,
          fault: scenario(seed).fault,
          lostAcked: r.lostAcked,
          splitBrainWrites: r.splitBrainWrites,
          linearizable: r.linearizable,
          converged: r.converged,
          outageMs: r.outageMs,
          infoOpen: r.infoOpen,
          seconds: (Date.now() - t0) / 1000,
          failed,
        };
        if (failed.length) run.dir = path.join(root, r.dir);
        else await fsp.rm(path.join(root, r.dir), { recursive: true, force: true }); // keep failures only
        runs.push(run);
        console.log(
          `${mode.padEnd(9)} seed ${String(seed).padStart(3)} ${run.fault.padEnd(9)} lost ${String(r.lostAcked).padStart(2)} split-brain ${r.splitBrainWrites} linearizable ${String(r.linearizable).padEnd(5)} outage ${r.outageMs.toFixed(0).padStart(5)} ms ${failed.length ? `FAILED: ${failed.join(', ')} (${run.dir})` : 'ok'}`,
        );
        await fsp.writeFile(path.join(root, 'soak.json'), JSON.stringify({ seeds, modes, durationSec, runs }, null, 2));
      }
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  const minutes = (Date.now() - started) / 60_000;
  const lines = [
    `### Soak (\`npm run soak -- --seeds ${seeds.length} --modes ${modes.join(',')}\`)`,
    '',
    `Run ${new Date().toISOString().slice(0, 10)}, ${minutes.toFixed(0)} min on ${os.cpus().length} cores: seeds ${seeds[0]}–${seeds[seeds.length - 1]}, ${durationSec} s each, replication slowed 20 ± 10 ms, one failure per run (kind and timing from the seed): the leader killed, paused or partitioned, or a follower's disk filled and freed and that follower then made leader; fencing by lease.`,
    '',
    '| mode | runs | kill / pause / partition / disk-full | failed | lost acknowledged | split-brain writes | not linearizable | write outage p50 / p90 / max ms | info writes left open |',
    '|---|---:|---|---:|---:|---:|---:|---|---:|',
  ];
  for (const mode of modes) {
    const rs = runs.filter((r) => r.mode === mode);
    const by = (f: Fault) => rs.filter((r) => r.fault === f).length;
    const out = rs.map((r) => r.outageMs);
    lines.push(
      `| ${mode} | ${rs.length} | ${by('kill')} / ${by('pause')} / ${by('partition')} / ${by('disk-full')} | ${rs.filter((r) => r.failed.length).length} | ${rs.reduce((a, r) => a + (r.lostAcked ?? 0), 0)} | ${rs.reduce((a, r) => a + (r.splitBrainWrites ?? 0), 0)} | ${rs.filter((r) => r.linearizable !== true).length} | ${q(out, 0.5).toFixed(0)} / ${q(out, 0.9).toFixed(0)} / ${Math.max(0, ...out).toFixed(0)} | ${rs.reduce((a, r) => a + r.infoOpen, 0)} |`,
    );
  }
  const bad = runs.filter((r) => r.failed.length);
  lines.push('');
  lines.push(bad.length ? `Failures:\n${bad.map((r) => `- ${r.mode} seed ${r.seed} (${r.fault}): ${r.failed.join(', ')}`).join('\n')}` : 'No run failed.');
  const summary = lines.join('\n');
  console.log(`\n${summary}`);
  if (!values['no-docs']) console.log(`\nwritten to ${await writeBenchSection('soak', summary)}`);
  return bad.length ? 1 : 0;
}

process.exitCode = await main();
