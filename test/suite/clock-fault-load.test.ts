/**
 * The clock fault at suite load: accepted for replab on the process backend (and then the nodes
 * start under libfaketime), refused with one line naming the field (exit 2) for a rate that is
 * not a rate, an absurd offset, or a system whose clocks replab cannot skew.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/lib/paths.js';
import { loadSuite } from '../../src/suite/spec.js';

const dir = path.join(os.tmpdir(), `replab-clock-load-${process.pid}`);
const cluster = path.join(projectRoot(), 'clusters', 'three-node.yaml');
let n = 0;

beforeAll(async () => {
  await fsp.mkdir(dir, { recursive: true });
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

async function load(body: string) {
  const file = path.join(dir, `suite-${++n}.yaml`);
  await fsp.writeFile(file, `cluster: ${cluster}\nworkload: register\ndurationSec: 4\n${body}\n`);
  return { file, load: () => loadSuite(file) };
}

describe('the clock fault at suite load', () => {
  it('is accepted for replab on the process backend, and starts that mode’s nodes under clock control', async () => {
    const s = await (
      await load('modes: [{name: a, nemesis: [{fault: clock, target: leader, rate: 0.5, offsetMs: -5000, at: 1s, for: 1s}]}, {name: b}]')
    ).load();
    expect(s.modes[0]!.nemesis[0]).toMatchObject({ fault: 'clock', rate: 0.5, offsetMs: -5000 });
    expect(s.modes[0]!.cluster.clockControl).toBe(true);
    expect(s.modes[1]!.cluster.clockControl).toBe(false);
  });

  it.each([
    ['modes: [{name: a, nemesis: [{fault: clock, rate: 0, at: 1s}]}]', /modes\.0 \(a\) nemesis\.0\.rate: 0 must be above 0/],
    ['modes: [{name: a, nemesis: [{fault: clock, rate: -2, at: 1s}]}]', /nemesis\.0\.rate: -2 must be above 0/],
    ['modes: [{name: a, nemesis: [{fault: clock, rate: 1000, at: 1s}]}]', /nemesis\.0\.rate: 1000 must be above 0 and at most 100/],
    ['modes: [{name: a, nemesis: [{fault: clock, offsetMs: 1e15, at: 1s}]}]', /nemesis\.0\.offsetMs: 1000000000000000 is absurd/],
    ['modes: [{name: a, nemesis: [{fault: clock, rate: fast, at: 1s}]}]', /rate/],
    [
      `modes: [{name: a, cluster: ${path.join(projectRoot(), 'clusters', 'postgres.yaml')}, nemesis: [{fault: clock, rate: 2, at: 1s}]}]`,
      /nemesis\.0\.fault: clock needs system replab on the process backend \(this cluster: system postgres/,
    ],
  ])('%s is refused with one line naming the field', async (body, message) => {
    const s = await load(body);
    const err = await s.load().then(
      () => undefined,
      (e: unknown) => e as Error & { exitCode?: number },
    );
    expect(err, `loaded: ${body}`).toBeDefined();
    expect(err!.message).toMatch(message);
    expect(err!.message).not.toContain('\n');
    expect(err!.exitCode).toBe(2);
  });
});
