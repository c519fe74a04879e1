import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSplitBrain } from '../../src/checker/split-brain.js';
import type { Op } from '../../src/history/op.js';
import { projectRoot } from '../../src/lib/paths.js';
import { evaluateGate, parseGateRule } from '../../src/suite/gate.js';
import { deepMerge, loadSuite } from '../../src/suite/spec.js';

const metrics = {
  lostAcked: 0,
  recovered: 2,
  linearizable: true,
  splitBrainWrites: 0,
  maxStaleMs: 120,
  staleReads: 3,
  outageMs: 1400,
  p50WriteMs: 4,
  p99WriteMs: 40,
  p999WriteMs: 200,
  acked: 1000,
  failedShare: 0.01,
  indeterminateShare: 0.02,
  readYourWritesViolations: 0,
  monotonicReadViolations: 0,
  monotonicWriteViolations: 0,
  writesFollowReadsViolations: 0,
  sessionViolations: 0,
  followerReadShare: 0.6,
  readP99Ms: 12,
  maxStaleVersions: 2,
  p99StaleMs: 30,
  readsOfLostWrites: 0,
};

describe('gate invariants', () => {
  it('evaluates each comparison and names the observed value', () => {
    const rules = ['lostAcked == 0', 'linearizable', 'splitBrainWrites == 0', 'maxStaleMs < 100', 'outageMs <= 1400', 'p99WriteMs < 50', 'lostAcked > 0'].map(
      (t) => parseGateRule(t, 'test'),
    );
    expect(evaluateGate(rules, metrics)).toEqual([
      { invariant: 'maxStaleMs < 100', metric: 'maxStaleMs', observed: 120 },
      { invariant: 'lostAcked > 0', metric: 'lostAcked', observed: 0 },
    ]);
  });

  it('linearizable unknown fails "linearizable" but passes "linearizable != false"', () => {
    const m = { ...metrics, linearizable: 'unknown' as const };
    expect(evaluateGate([parseGateRule('linearizable', 't')], m)).toHaveLength(1);
    expect(evaluateGate([parseGateRule('linearizable != false', 't')], m)).toHaveLength(0);
  });

  it('a metric that could not be measured (null) fails a numeric invariant', () => {
    expect(evaluateGate([parseGateRule('lostAcked == 0', 't')], { ...metrics, lostAcked: null })).toHaveLength(1);
    expect(evaluateGate([parseGateRule('readYourWritesViolations == 0', 't')], { ...metrics, readYourWritesViolations: null })).toHaveLength(1);
  });

  it("judges the read side: session violations, the followers' share, staleness in versions", () => {
    const rules = ['sessionViolations == 0', 'followerReadShare > 0.5', 'maxStaleVersions == 0', 'readP99Ms < 20'].map((t) => parseGateRule(t, 't'));
    expect(evaluateGate(rules, metrics)).toEqual([{ invariant: 'maxStaleVersions == 0', metric: 'maxStaleVersions', observed: 2 }]);
  });

  it.each([
    ['lost == 0', /unknown metric "lost"/],
    ['lostAcked = 0', /is not an invariant/],
    ['p99WriteMs < fast', /"fast" is not a number/],
    ['linearizable > true', /compare linearizable with == or !=/],
  ])('rejects %s', (text, message) => {
    expect(() => parseGateRule(text, 'suite.yaml: gate.sync')).toThrow(message);
  });
});

describe('split-brain writes', () => {
  const ok = (index: number, epoch: number): Op => ({ index, time: index, process: 1, type: 'ok', f: 'write', key: 'k', value: index, epoch });
  it('counts acknowledgements from an older epoch after a newer one acknowledged', () => {
    const r = checkSplitBrain([ok(0, 1), ok(1, 1), ok(2, 2), ok(3, 1), ok(4, 2), ok(5, 1)]);
    expect(r.splitBrainWrites).toBe(2);
    expect(r.samples.map((s) => s.index)).toEqual([3, 5]);
    expect(checkSplitBrain([ok(0, 1), ok(1, 2), ok(2, 3)]).splitBrainWrites).toBe(0);
  });
});

describe('suites', () => {
  it('deepMerge merges objects and replaces the rest', () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: 3 }, d: [2] })).toEqual({ a: { b: 1, c: 3 }, d: [2] });
  });

  it('every shipped suite loads', async () => {
    for (const f of ['quick', 'ci', 'compare-modes', 'split-brain', 'topologies']) {
      const s = await loadSuite(path.join(projectRoot(), 'suites', `${f}.yaml`));
      expect(s.modes.length).toBeGreaterThan(1);
    }
    const ci = await loadSuite(path.join(projectRoot(), 'suites', 'ci.yaml'));
    expect(ci.modes.find((m) => m.name === 'control-async-loss')).toMatchObject({ control: true, workload: { workload: 'set' } });
    expect(ci.modes.find((m) => m.name === 'control-split-brain')!.cluster.fencing).toBe('none');
    // A power-loss nemesis turns the simulation on for that mode only.
    const rw = ci.modes.find((m) => m.name === 'control-remote-write-loss')!;
    expect(rw).toMatchObject({
      control: true,
      cluster: { replication: { mode: 'sync', ackLevel: 'write' }, storage: { syncDelayMs: 150, simulatePowerLoss: true } },
    });
    expect(ci.modes.find((m) => m.name === 'sync')!.cluster.storage.simulatePowerLoss).toBe(false);
    const cmp = await loadSuite(path.join(projectRoot(), 'suites', 'compare-modes.yaml'));
    expect(cmp.modes.find((m) => m.name === 'sync-flush-power-loss')!.nemesis.map((n) => n.fault)).toEqual(['power-loss', 'kill']);
    expect(ci.modes.find((m) => m.name === 'sync')!.gate.map((g) => g.text)).toEqual(['lostAcked == 0', 'linearizable', 'splitBrainWrites == 0']);
  });

  it.each([
    ['modes: []', /modes: .*at least 1|too small/i],
    ['modes: [{name: a}, {name: a}]', /modes.1.name: "a" appears twice/],
    ['modes: [{name: a, replication: {mode: eventual}}]', /replication.mode/],
    ['modes: [{name: a}]\ngate: {b: [linearizable]}', /gate.b: no mode is named "b"/],
    ['modes: [{name: a}]\nnemesis: [{fault: kill}]', /give either "at"/],
    ['modes: [{name: a}]\ncolour: red', /unknown field "colour"/],
  ])('a bad suite is one line: %s', async (tail, message) => {
    const file = path.join(os.tmpdir(), `replab-suite-${process.pid}.yaml`);
    await fsp.writeFile(
      file,
      `cluster: ${path.join(projectRoot(), 'clusters', 'three-node.yaml')}\nworkload: ${path.join(projectRoot(), 'workloads', 'register.yaml')}\n${tail}\n`,
    );
    await expect(loadSuite(file)).rejects.toThrow(message);
    await fsp.rm(file, { force: true });
  });
});
