/**
 * replab compare: per-mode changes of two results.json, and its exit code at the limits (a change
 * exactly at a limit passes, one just past it fails), the default limits and turning them off,
 * plus bad flags, paths and results files (exit 2).
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEntry } from '../../src/lib/paths.js';
import { compareResults, DEFAULT_COMPARE_LIMITS, formatComparison } from '../../src/suite/compare.js';
import { fakeResults as results, fakeRun as run } from '../helpers/results.js';

let dir: string;
const A = results([run('semi-sync', 1), run('semi-sync', 2), run('async', 1)]);
// B: semi-sync p99 10 -> 12 ms (+20%), throughput 1000 -> 900 (-10%); async unchanged.
const B = results([run('semi-sync', 1, { p99WriteMs: 12, throughput: 900 }), run('semi-sync', 2, { p99WriteMs: 12, throughput: 900 }), run('async', 1)]);
// Slower: p50 2 -> 15 ms (+650%), p99 10 -> 13 ms (+30%), throughput 1000 -> 850 (-15%).
const SLOW = results([
  run('semi-sync', 1, { p50WriteMs: 15, p99WriteMs: 13, throughput: 850 }),
  run('semi-sync', 2, { p50WriteMs: 15, p99WriteMs: 13, throughput: 850 }),
  run('async', 1),
]);

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-compare-'));
  await fsp.mkdir(path.join(dir, 'a'));
  await fsp.writeFile(path.join(dir, 'a', 'results.json'), JSON.stringify(A));
  await fsp.writeFile(path.join(dir, 'b.json'), JSON.stringify(B));
  await fsp.writeFile(path.join(dir, 'slow.json'), JSON.stringify(SLOW));
  await fsp.writeFile(path.join(dir, 'other-machine.json'), JSON.stringify({ ...B, machine: { ...B.machine, cores: 8, cpuModel: 'Big CPU' } }));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const compare = (...args: string[]) => spawnSync(process.execPath, [cliEntry(), 'compare', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('replab compare', () => {
  it("reports each mode's changes and crosses no limit it was not given", () => {
    const c = compareResults(A, B, {});
    const semi = c.modes.find((m) => m.mode === 'semi-sync')!;
    expect(semi.runsA).toBe(2);
    const p99 = semi.changes.find((x) => x.metric === 'p99WriteMs')!;
    expect(p99).toMatchObject({ a: 10, b: 12, regression: null });
    expect(p99.changePct).toBeCloseTo(20);
    expect(semi.changes.find((x) => x.metric === 'throughput')!.changePct).toBeCloseTo(-10);
    expect(c.regressions).toEqual([]);
    expect(c.machineDifference).toBe('');
  });

  it('leaves out a mode one side did not run (another shard ran it) instead of reading its empty figures as a throughput drop', () => {
    const shard = { ...results([run('async', 1)]), modes: A.modes };
    const c = compareResults(A, shard);
    expect(c.modes.map((m) => m.mode)).toEqual(['async']);
    expect(c.regressions).toEqual([]);
  });

  it('exits 0 at the limits and 1 just past them, naming mode, metric and limit', () => {
    const atLimits = compare(path.join(dir, 'a'), path.join(dir, 'b.json'), '--max-p99-increase', '20%', '--max-throughput-drop', '10%');
    expect(atLimits.stderr).toBe('');
    expect(atLimits.status).toBe(0);
    expect(atLimits.stdout).toContain('no regression beyond the limits');
    const p99 = compare(path.join(dir, 'a'), path.join(dir, 'b.json'), '--max-p99-increase', '19%');
    expect(p99.status).toBe(1);
    expect(p99.stdout).toMatch(/semi-sync: p99 write latency 10 -> 12 ms \(\+20\.0%, limit \+19%\)/);
    expect(p99.stdout).not.toMatch(/async: p99/);
    const tput = compare(path.join(dir, 'a'), path.join(dir, 'b.json'), '--max-throughput-drop', '9.5');
    expect(tput.status).toBe(1);
    expect(tput.stdout).toMatch(/semi-sync: throughput 1000 -> 900 ops\/s \(-10\.0%, limit -9\.5%\)/);
  });

  it('judges by p99 +20% and throughput -10% unless told otherwise, and says so', () => {
    expect(DEFAULT_COMPARE_LIMITS).toEqual({ maxP99IncreasePct: 20, maxThroughputDropPct: 10 });
    expect(compareResults(A, B).regressions).toEqual([]);
    const c = compareResults(A, SLOW);
    expect(c.limits).toEqual({ maxP99IncreasePct: 20, maxThroughputDropPct: 10 });
    expect(c.regressions).toEqual([
      'semi-sync: throughput 1000 -> 850 ops/s (-15.0%, limit -10%)',
      'semi-sync: p99 write latency 10 -> 13 ms (+30.0%, limit +20%)',
    ]);
    const text = formatComparison(compareResults(A, B), { a: 'a', b: 'b' });
    expect(text).toContain(
      'limits: p99 write latency may grow at most 20%, throughput may fall at most 10%; p50, p99.9, loss and outage are shown, not limited',
    );
    expect(text).toMatch(/no regression beyond the limits above$/);
    expect(formatComparison(compareResults(A, SLOW, {}), { a: 'a', b: 'b' })).toMatch(/no limits applied \(both off\): the changes above are not judged$/);
  });

  it('without flags a slower run fails; --max-p99-increase off and --max-throughput-drop off lift each limit', () => {
    const plain = compare(path.join(dir, 'a'), path.join(dir, 'slow.json'));
    expect(plain.stderr).toBe('');
    expect(plain.status).toBe(1);
    expect(plain.stdout).toContain('limits: p99 write latency may grow at most 20%, throughput may fall at most 10%');
    expect(plain.stdout).toMatch(/semi-sync: p99 write latency 10 -> 13 ms \(\+30\.0%, limit \+20%\)/);
    const p99Off = compare(path.join(dir, 'a'), path.join(dir, 'slow.json'), '--max-p99-increase', 'off');
    expect(p99Off.status).toBe(1);
    expect(p99Off.stdout).toContain('p99 write latency: no limit (off), throughput may fall at most 10%');
    expect(p99Off.stdout).not.toMatch(/limit \+20%/);
    const bothOff = compare(path.join(dir, 'a'), path.join(dir, 'slow.json'), '--max-p99-increase', 'off', '--max-throughput-drop', 'off');
    expect(bothOff.status).toBe(0);
    expect(bothOff.stdout).toContain('no limits applied (both off)');
    const looser = compare(path.join(dir, 'a'), path.join(dir, 'slow.json'), '--max-p99-increase', '30%', '--max-throughput-drop', '15');
    expect(looser.status).toBe(0);
    expect(looser.stdout).toContain('p99 write latency may grow at most 30%, throughput may fall at most 15%');
  });

  it('says when the runs come from different machines', () => {
    const r = compare(path.join(dir, 'a'), path.join(dir, 'other-machine.json'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/different machines \(cores 2 vs 8; CPU "Test CPU" vs "Big CPU"\)/);
  });

  it('bad input is exit 2 with one line', () => {
    for (const args of [
      [path.join(dir, 'a'), path.join(dir, 'b.json'), '--max-p99-increase', 'lots'],
      [path.join(dir, 'a'), path.join(dir, 'missing')],
      [dir, path.join(dir, 'b.json')],
    ]) {
      const r = compare(...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('a results file that is not one is bad input (exit 2 naming it), not an environment failure', async () => {
    const garbage = path.join(dir, 'garbage.json');
    await fsp.writeFile(garbage, 'garbage{');
    const wrongShape = path.join(dir, 'wrong-shape.json');
    await fsp.writeFile(wrongShape, JSON.stringify({ ...A, runs: 'none' }));
    const damagedFolder = path.join(dir, 'damaged');
    await fsp.mkdir(path.join(damagedFolder, 'results.json'), { recursive: true });
    for (const [bad, why] of [
      [garbage, /garbage\.json: not valid JSON/],
      [wrongShape, /wrong-shape\.json: runs: /],
      [damagedFolder, /damaged: no readable results\.json/],
    ] as const) {
      for (const args of [
        [bad, path.join(dir, 'b.json')],
        [path.join(dir, 'a'), bad],
      ]) {
        const r = compare(...args);
        expect(r.stderr).toMatch(why);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.status).toBe(2);
      }
    }
  });
});
