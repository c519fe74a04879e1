/**
 * replab merge takes nothing a shard's results.json claims on trust (issue 28, item 3): a run
 * folder is a plain folder inside its shard (an edited `dir`, a symlinked folder or file is
 * refused), every verdict is recomputed from the run's own files with the gate (a forged `passed`
 * or `lostAcked` changes nothing), and the merged runs must be exactly the suite's (mode × seed)
 * matrix (a mode left out, a forged `pairs` or a run given twice is refused). Each refusal is one
 * line naming the file, exit 2, and leaves no merged folder behind.
 *
 * Two real shards of a two-mode suite are run once; every case edits copies of them.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lib/paths.js';
import { type RunResult, readResults, type SuiteResults } from '../../src/suite/results.js';
import { replab } from '../helpers/cli.js';

let root: string;
/** The two shards as `replab run --shard i/2` left them: shard 1 runs semi-sync, shard 2 the control. */
const shards: string[] = [];
let copies = 0;

/** A fresh copy of both shards, `depth` folders deep under the test's root (for `..` escapes). */
async function copyShards(depth = 1): Promise<[string, string]> {
  const base = path.join(root, `case${++copies}`, ...Array.from({ length: depth - 1 }, (_, i) => `d${i}`));
  const out: string[] = [];
  for (const [i, s] of shards.entries()) {
    const to = path.join(base, `shard${i + 1}`);
    await fsp.cp(s, to, { recursive: true });
    out.push(to);
  }
  return out as [string, string];
}

async function editResults(shard: string, edit: (r: SuiteResults) => void): Promise<void> {
  const file = path.join(shard, 'results.json');
  const r = JSON.parse(await fsp.readFile(file, 'utf8')) as SuiteResults;
  edit(r);
  await fsp.writeFile(file, JSON.stringify(r, null, 2));
}

const merge = (dirs: string[], reports: string, ...flags: string[]) => replab(['merge', ...dirs, '--reports', reports, ...flags], { timeoutMs: 120_000 });

/** A refusal: exit 2, one line on stderr matching `why`, and no merged folder written. */
async function expectRefused(run: Awaited<ReturnType<typeof merge>>, reports: string, why: RegExp): Promise<void> {
  expect(run.stderr).toMatch(why);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.code).toBe(2);
  expect(await fsp.readdir(reports).catch(() => [])).toEqual([]);
}

beforeAll(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-merge-trust-'));
  const suiteFile = path.join(root, 'trust.yaml');
  // semi-sync must lose nothing; the set-workload control must find lost writes, which without a
  // fault it never does: its real verdict is a failure, whatever its shard claims.
  await fsp.writeFile(
    suiteFile,
    `name: trust
cluster: ${path.join(projectRoot(), 'clusters', 'three-node.yaml')}
clusterOverrides: {heartbeatMs: 50, failover: {heartbeatMs: 100, failoverTimeoutMs: 800, leaseMs: 400}}
workload: ${path.join(projectRoot(), 'workloads', 'register.yaml')}
workloadOverrides: {concurrency: 2, keys: 2, rateOpsPerSec: 100}
durationSec: 2
seeds: 1
modes:
  - {name: semi-sync, replication: {mode: semi-sync}}
  - {name: control, replication: {mode: async}, workload: ${path.join(projectRoot(), 'workloads', 'set.yaml')}, control: true}
gate:
  semi-sync: [lostAcked == 0, linearizable]
  control: [lostAcked > 0]
`,
  );
  for (let i = 1; i <= 2; i++) {
    const reports = path.join(root, `shard${i}`);
    const r = await replab(['run', suiteFile, '--shard', `${i}/2`, '--reports', reports], { timeoutMs: 120_000 });
    expect(r.stderr).not.toMatch(/error/);
    shards.push(await fsp.realpath(path.join(reports, 'latest')));
  }
}, 300_000);
afterAll(async () => {
  if (root) await fsp.rm(root, { recursive: true, force: true });
});

describe('replab merge recomputes, and refuses what does not hold', () => {
  it('honest shards: every merged run is what its shard said, recomputed from its files', async () => {
    const claimed = (await Promise.all(shards.map(readResults))).flatMap((r) => r.runs);
    expect(claimed.map((r) => `${r.mode}/${r.seed}/${r.passed}`)).toEqual(['semi-sync/1/true', 'control/1/false']);
    const reports = path.join(root, 'honest');
    const m = await merge(shards, reports, '--gate');
    expect(m.stderr).not.toMatch(/warning|error/);
    expect(m.stdout).toMatch(/gate: FAILED control seed 1: lostAcked > 0 \(observed 0\)/);
    expect(m.code).toBe(1);
    const [name] = await fsp.readdir(reports);
    const merged = await readResults(path.join(reports, name!));
    expect(merged.runs).toEqual(claimed);
  });

  it('a run dir edited to lead out of the shard folder is refused, and nothing is copied', async () => {
    // Four levels deep, so that both the source and the would-be destination of "../../../.." stay
    // inside this test's folder even when merge follows them.
    const [a, b] = await copyShards(4);
    const outside = path.join(path.dirname(path.dirname(path.dirname(path.dirname(a)))), 'escape-target');
    await fsp.cp(path.join(a, 'semi-sync-seed1'), outside, { recursive: true });
    await editResults(a, (r) => {
      r.runs[0]!.dir = '../../../../escape-target';
    });
    const reports = path.join(root, `reports${copies}`, 'r1', 'r2', 'r3');
    const m = await merge([a, b], reports);
    await expectRefused(m, reports, /shard1\/results\.json: runs\[0\]\.dir "\.\.\/\.\.\/\.\.\/\.\.\/escape-target" is not/);
    await expect(fsp.access(path.join(reports, '..', '..', '..', 'escape-target'))).rejects.toThrow();
  });

  it('a suite or mode name edited to hold a path is refused: names become folder names', async () => {
    const [a, b] = await copyShards();
    for (const s of [a, b])
      await editResults(s, (r) => {
        r.suite = '../../escape';
      });
    const reports = path.join(root, `reports${copies}`, 'inner');
    await expectRefused(await merge([a, b], reports), reports, /shard1\/results\.json: suite "\.\.\/\.\.\/escape" is not a suite name/);
    await expect(fsp.access(path.join(reports, '..', 'escape-merged'))).rejects.toThrow();

    const [c, d] = await copyShards();
    // Consistent in both shards, with the run's folder moved to where the edited name points.
    for (const s of [c, d])
      await editResults(s, (r) => {
        r.modes[0]!.name = '../semi';
        for (const run of r.runs) if (run.mode === 'semi-sync') Object.assign(run, { mode: '../semi', dir: '../semi-seed1' });
      });
    await fsp.rename(path.join(c, 'semi-sync-seed1'), path.join(path.dirname(c), 'semi-seed1'));
    const reports2 = path.join(root, `reports${copies}`, 'inner');
    await expectRefused(await merge([c, d], reports2), reports2, /shard1\/results\.json: modes\.0\.name "\.\.\/semi" is not a mode name/);
    await expect(fsp.access(path.join(reports2, 'semi-seed1'))).rejects.toThrow();
  });

  it('a run folder that is a symlink, or holds one, is refused', async () => {
    const [a, b] = await copyShards();
    const elsewhere = path.join(path.dirname(a), 'elsewhere');
    await fsp.rename(path.join(a, 'semi-sync-seed1'), elsewhere);
    await fsp.symlink(elsewhere, path.join(a, 'semi-sync-seed1'));
    const reports = path.join(root, `reports${copies}`);
    await expectRefused(await merge([a, b], reports), reports, /shard1\/semi-sync-seed1: a symbolic link/);

    const [c, d] = await copyShards();
    const history = path.join(d, 'control-seed1', 'history.jsonl');
    await fsp.rename(history, path.join(path.dirname(d), 'history.jsonl'));
    await fsp.symlink(path.join(path.dirname(d), 'history.jsonl'), history);
    const reports2 = path.join(root, `reports${copies}`);
    await expectRefused(await merge([c, d], reports2), reports2, /shard2\/control-seed1\/history\.jsonl: a symbolic link/);
  });

  it('a forged passed or lostAcked does not make the gate green: the verdict comes from the run files', async () => {
    const [a, b] = await copyShards();
    // semi-sync claims 7 lost writes yet passed; the control claims it found them.
    await editResults(a, (r) => Object.assign(r.runs[0]!, { lostAcked: 7, passed: true }));
    await editResults(b, (r) => {
      Object.assign(r.runs[0]!, { lostAcked: 7, passed: true, violations: [] });
      r.passed = true;
    });
    const reports = path.join(root, `reports${copies}`);
    const m = await merge([a, b], reports, '--gate');
    expect(m.stdout).toMatch(/gate: FAILED control seed 1: lostAcked > 0 \(observed 0\)/);
    expect(m.stdout).not.toMatch(/all invariants hold/);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/shard2\/results\.json: control seed 1 claims lostAcked 7, passed true, its files give lostAcked 0, passed false/);
    const [name] = await fsp.readdir(reports);
    const merged = await readResults(path.join(reports, name!));
    const honest = (await Promise.all(shards.map(readResults))).flatMap((r) => r.runs);
    expect(merged.runs).toEqual(honest);
    expect(merged.passed).toBe(false);
  });

  it('a shard without its runs, or a forged matrix size, is refused naming what is missing', async () => {
    const [a, b] = await copyShards();
    await editResults(b, (r) => {
      r.runs = [];
    });
    const reports = path.join(root, `reports${copies}`);
    await expectRefused(await merge([a, b], reports), reports, /suite "trust": no run of control seed 1 in any shard/);

    // The probe's variant: the matrix size forged to match what is left.
    const [c, d] = await copyShards();
    for (const s of [c, d])
      await editResults(s, (r) => {
        r.shard!.pairs = 1;
        if (s === d) r.runs = [];
      });
    const reports2 = path.join(root, `reports${copies}`);
    await expectRefused(await merge([c, d], reports2), reports2, /suite "trust": no run of control seed 1 in any shard/);

    // Only the size forged, in one shard.
    const [e, f] = await copyShards();
    await editResults(f, (r) => {
      r.shard!.pairs = 1;
    });
    const reports3 = path.join(root, `reports${copies}`);
    await expectRefused(await merge([e, f], reports3), reports3, /shard2\/results\.json: a matrix of 1 run\(s\), but .*shard1\/results\.json says 2/);

    // Shards name the suite's seeds: one that names others is refused.
    const [g, h] = await copyShards();
    await editResults(h, (r) => {
      r.shard!.seeds = [1, 2];
    });
    const reports4 = path.join(root, `reports${copies}`);
    await expectRefused(await merge([g, h], reports4), reports4, /shard2\/results\.json: seeds \[1,2\], but .*shard1\/results\.json names \[1\]/);
  });

  it('a run given twice is refused naming both places, not an internal error', async () => {
    const semi = (await readResults(shards[0]!)).runs[0]!;
    // In another shard, without its folder there (the probe's ENOENT) and with it.
    const [a, b] = await copyShards();
    await editResults(b, (r) => {
      r.runs.push(semi);
    });
    const reports = path.join(root, `reports${copies}`);
    await expectRefused(await merge([a, b], reports), reports, /semi-sync seed 1 is in .*shard1\/results\.json and in .*shard2\/results\.json/);
    await fsp.cp(path.join(a, 'semi-sync-seed1'), path.join(b, 'semi-sync-seed1'), { recursive: true });
    await expectRefused(await merge([a, b], reports), reports, /semi-sync seed 1 is in .*shard1\/results\.json and in .*shard2\/results\.json/);

    // Twice in one shard.
    const [c, d] = await copyShards();
    await editResults(c, (r) => {
      r.runs.push({ ...r.runs[0]! } as RunResult);
    });
    const reports2 = path.join(root, `reports${copies}`);
    await expectRefused(await merge([c, d], reports2), reports2, /semi-sync seed 1 is twice in .*shard1\/results\.json/);
  });

  it("a run folder swapped for another run's, or without its history, is refused naming the file", async () => {
    const [a, b] = await copyShards();
    await fsp.rm(path.join(b, 'control-seed1'), { recursive: true });
    await fsp.cp(path.join(a, 'semi-sync-seed1'), path.join(b, 'control-seed1'), { recursive: true });
    const reports = path.join(root, `reports${copies}`);
    await expectRefused(await merge([a, b], reports), reports, /shard2\/control-seed1\/run\.json: the folder of semi-sync seed 1, not of control seed 1/);

    const [c, d] = await copyShards();
    await fsp.rm(path.join(c, 'semi-sync-seed1', 'history.jsonl'));
    const reports2 = path.join(root, `reports${copies}`);
    await expectRefused(await merge([c, d], reports2), reports2, /shard1\/semi-sync-seed1\/history\.jsonl: missing/);
  });

  it("a shard's results.json that does not parse is bad input, exit 2", async () => {
    const [a, b] = await copyShards();
    await fsp.writeFile(path.join(b, 'results.json'), '{"suite": ');
    const reports = path.join(root, `reports${copies}`);
    await expectRefused(await merge([a, b], reports), reports, /shard2\/results\.json: not valid JSON/);
  });
});
