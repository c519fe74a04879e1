/**
 * Skewed clocks through libfaketime (src/cluster/clock-control.ts): a process started with the
 * environment a node gets under clockControl runs its Date and its monotonic clock at the rate and
 * offset its control file says, changed while it runs; and a real node of a cluster started with
 * clockControl runs skewed when the clock fault says so, and on time again once healed.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clockFile, skewedEnv, writeSkew } from '../../src/cluster/clock-control.js';
import type { ReplabCluster } from '../../src/cluster/replab-cluster.js';
import { startFault } from '../../src/faults/nemesis/faults.js';
import { Rng } from '../../src/lib/rng.js';
import { startCluster } from '../helpers/cluster.js';

let cluster: ReplabCluster | undefined;
afterEach(async () => {
  await cluster?.down();
  cluster = undefined;
});

/** Real elapsed time, read from a file libfaketime does not touch (a read, not a clock call). */
async function uptimeMs(): Promise<number> {
  return Number((await fsp.readFile('/proc/uptime', 'utf8')).split(' ')[0]) * 1000;
}

/** The node's monotonic reading, as its status document's lease anchor carries it. */
async function nodeMonotonic(address: string): Promise<{ mono: number; date: number }> {
  const res = await fetch(`http://${address}/status`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { leaseAnchor: { atMs: number } };
  return { mono: body.leaseAnchor.atMs, date: Date.parse(res.headers.get('date')!) };
}

/** How fast the node's monotonic clock ran against real time over about `ms`. */
async function measuredRate(address: string, ms: number): Promise<number> {
  const [a, r0] = [await nodeMonotonic(address), await uptimeMs()];
  await new Promise((r) => setTimeout(r, ms)); // the point is to let real time pass
  const [b, r1] = [await nodeMonotonic(address), await uptimeMs()];
  return (b.mono - a.mono) / (r1 - r0);
}

describe('clock skew through libfaketime', () => {
  it("a process with a node's clock-control environment runs Date and performance.now() at the file's rate and offset", async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-clock-'));
    const file = clockFile(dir, 'p1');
    await writeSkew(file, { offsetMs: -3_600_000, rate: 0.5 });
    const script = `
      const { performance } = require('node:perf_hooks');
      const fs = require('node:fs');
      const up = () => Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
      const sample = () => ({ date: Date.now(), perf: performance.now(), real: up() });
      const a = sample();
      setTimeout(() => { const b = sample(); console.log(JSON.stringify({ a, b })); }, 600);`;
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...(await skewedEnv(file)) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const realNow = Date.now();
    await new Promise((r) => child.once('exit', r));
    const { a, b } = JSON.parse(out) as { a: Record<string, number>; b: Record<string, number> };
    const real = b.real! - a.real!;
    // The 600 ms timer ran on the slowed clock: about 1200 ms of real time.
    expect(real).toBeGreaterThan(1000);
    expect((b.perf! - a.perf!) / real).toBeCloseTo(0.5, 1);
    expect((b.date! - a.date!) / real).toBeCloseTo(0.5, 1);
    expect(realNow - a.date!).toBeGreaterThan(3_500_000);
    expect(realNow - a.date!).toBeLessThan(3_700_000);
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('the clock fault slows a running node of a clockControl cluster, moves its wall clock, and healing puts it back on time', async () => {
    cluster = await startCluster({
      name: 'clock',
      nodes: [{ id: 'n1' }, { id: 'n2' }],
      replication: { mode: 'async' },
      clockControl: true,
      failover: { heartbeatMs: 100, failoverTimeoutMs: 3000, leaseMs: 1500 },
    });
    const c = cluster;
    const n2 = c.endpoint('n2').http;
    expect(await measuredRate(n2, 800)).toBeCloseTo(1, 1);
    const slow = await startFault(c, { fault: 'clock', target: 'n2', offsetMs: 0, rate: 0.5 }, new Rng(1));
    expect(slow.value).toMatchObject({ nodes: ['n2'], rate: 0.5 });
    expect(await measuredRate(n2, 1200)).toBeCloseTo(0.5, 1);
    await slow.stop();
    expect(await measuredRate(n2, 800)).toBeCloseTo(1, 1);

    // A new offset takes a restart (libfaketime reads it at start only): the history says so.
    const behind = await startFault(c, { fault: 'clock', target: 'n2', offsetMs: -7_200_000, rate: 1 }, new Rng(1));
    expect(behind.value).toMatchObject({ restarted: ['n2'] });
    expect(Date.now() - (await nodeMonotonic(n2)).date).toBeGreaterThan(7_100_000);
    expect(await measuredRate(n2, 800)).toBeCloseTo(1, 1);
    expect(await behind.stop()).toMatchObject({ restarted: ['n2'] });
    expect(Math.abs(Date.now() - (await nodeMonotonic(n2)).date)).toBeLessThan(5000);
  });
});
