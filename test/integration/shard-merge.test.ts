/**
 * replab run --shard i/n + replab merge: three shards of a suite, merged, hold the same runs
 * (mode, seed, verdict) as the unsharded run of that suite, in one folder with one report; merging
 * an incomplete or mixed set of shards is refused with one line (exit 2).
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lib/paths.js';
import { readResults } from '../../src/suite/results.js';
import { replab } from '../helpers/cli.js';

let root: string;
let suiteFile: string;
const folder = async (reports: string) => fsp.realpath(path.join(reports, 'latest'));

beforeAll(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-shards-'));
  suiteFile = path.join(root, 'sharded.yaml');
  await fsp.writeFile(
    suiteFile,
    `name: sharded
cluster: ${path.join(projectRoot(), 'clusters', 'three-node.yaml')}
clusterOverrides: {heartbeatMs: 50, failover: {heartbeatMs: 100, failoverTimeoutMs: 800, leaseMs: 400}}
workload: ${path.join(projectRoot(), 'workloads', 'register.yaml')}
workloadOverrides: {concurrency: 2, keys: 2, rateOpsPerSec: 100}
durationSec: 2
seeds: 3
modes:
  - {name: semi-sync, replication: {mode: semi-sync}}
gate:
  semi-sync: [lostAcked == 0, linearizable]
`,
  );
}, 30_000);
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe('sharded runs', () => {
  let whole: Awaited<ReturnType<typeof readResults>>;
  const shardDirs: string[] = [];

  beforeAll(async () => {
    const r = await replab(['run', suiteFile, '--reports', path.join(root, 'whole')], { timeoutMs: 180_000 });
    expect(r.code).toBe(0);
    whole = await readResults(await folder(path.join(root, 'whole')));
    for (let i = 1; i <= 3; i++) {
      const reports = path.join(root, `shard${i}`);
      const s = await replab(['run', suiteFile, '--shard', `${i}/3`, '--reports', reports], { timeoutMs: 120_000 });
      expect(s.code).toBe(0);
      shardDirs.push(await folder(reports));
    }
  }, 420_000);

  it('each shard runs its share; merged, they are the unsharded run', async () => {
    const shares = await Promise.all(shardDirs.map(async (d) => (await readResults(d)).runs.map((r) => `${r.mode}/${r.seed}`)));
    expect(shares).toEqual([['semi-sync/1'], ['semi-sync/2'], ['semi-sync/3']]);
    const m = await replab(['merge', ...shardDirs, '--reports', path.join(root, 'merged')], { timeoutMs: 60_000 });
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/gate: all invariants hold \(3 runs\)/);
    const mergedDir = (await fsp.readdir(path.join(root, 'merged'))).find((n) => n.endsWith('-merged'))!;
    const merged = await readResults(path.join(root, 'merged', mergedDir));
    const identity = (r: { runs: Array<{ mode: string; seed: number; dir: string; passed: boolean }> }) =>
      r.runs.map((x) => ({ mode: x.mode, seed: x.seed, dir: x.dir, passed: x.passed }));
    expect(identity(merged)).toEqual(identity(whole));
    // merge judged every run again from its files: an honest shard's results come out unchanged.
    expect(m.stderr).not.toMatch(/warning/);
    expect(merged.runs).toEqual((await Promise.all(shardDirs.map(readResults))).flatMap((r) => r.runs));
    expect(merged.passed).toBe(true);
    expect(merged.suiteDigest).toBe(whole.suiteDigest);
    expect(merged.mergedFrom).toHaveLength(3);
    for (const r of merged.runs) await fsp.access(path.join(root, 'merged', mergedDir, r.dir, 'history.jsonl'));
    await fsp.access(path.join(root, 'merged', mergedDir, 'report.html'));
  });

  it('refuses a missing shard, a shard given twice and a shard of another suite version', async () => {
    const missing = await replab(['merge', shardDirs[0]!, shardDirs[1]!, '--reports', path.join(root, 'bad')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing shard\(s\) 3\/3 of suite "sharded"/);
    const twice = await replab(['merge', shardDirs[0]!, shardDirs[1]!, shardDirs[1]!, '--reports', path.join(root, 'bad')]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/shard 2\/3 given twice/);
    const other = path.join(root, 'other-version');
    await fsp.mkdir(other);
    const third = JSON.parse(await fsp.readFile(path.join(shardDirs[2]!, 'results.json'), 'utf8')) as Record<string, unknown>;
    await fsp.writeFile(path.join(other, 'results.json'), JSON.stringify({ ...third, suiteDigest: 'ffffffffffffffff' }));
    const mixed = await replab(['merge', shardDirs[0]!, shardDirs[1]!, other, '--reports', path.join(root, 'bad')]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/a different version of suite "sharded"/);
    for (const r of [missing, twice, mixed]) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
