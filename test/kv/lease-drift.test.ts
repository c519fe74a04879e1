/**
 * The lease under clock drift and offset (kv/node/lease.ts), on the simulated clock: a real KvNode
 * whose clock runs at its own rate and offset, and the monitor's side played by hand with the same
 * rules the monitor uses (grant leaseHoldMs after the node's anchor; promote someone else only
 * leaseWaitMs after the anchor arrived, by the monitor's own clock). Inside the drift bound no write
 * is acknowledged once the monitor would promote; past it (or with the margin off), one is.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { leaseHoldMs, leaseWaitMs } from '../../src/kv/node/lease.js';
import type { Clock, Timer } from '../../src/lib/io/clock.js';
import type { SimClock } from '../../src/sim/clock.js';
import { SimWorld } from '../helpers/sim-nodes.js';

/** A clock that runs at `rate` times the simulated one (both its wall and monotonic readings, and its timers), its wall clock `offsetMs` away. */
class DriftingClock implements Clock {
  private readonly monoOrigin: number;
  private readonly wallOrigin: number;
  constructor(
    private readonly base: SimClock,
    private readonly rate: number,
    offsetMs = 0,
  ) {
    this.monoOrigin = base.monotonic();
    this.wallOrigin = base.now() + offsetMs;
  }
  monotonic(): number {
    return (this.base.monotonic() - this.monoOrigin) * this.rate;
  }
  now(): number {
    return this.wallOrigin + this.monotonic();
  }
  after(ms: number, fn: () => void): Timer {
    return this.base.after(ms / this.rate, fn);
  }
  every(ms: number, fn: () => void): Timer {
    return this.base.every(ms / this.rate, fn);
  }
  soon(fn: () => void): void {
    this.base.soon(fn);
  }
}

const LEASE_MS = 1000;

let world: SimWorld;
afterEach(async () => {
  await world.close();
});

/**
 * Grants n1 a lease the way the monitor does, then moves real (simulated) time to the moment the
 * monitor would promote another node, and tries a write on n1 there.
 */
async function writeWhenMonitorWouldPromote(o: { drift: number; nodeRate: number; monitorRate: number; nodeOffsetMs?: number }) {
  world = new SimWorld();
  const n1 = world.node('n1', { role: 'leader', mode: 'async' }, new DriftingClock(world.clock, o.nodeRate, o.nodeOffsetMs ?? 0));
  const monitorClock = new DriftingClock(world.clock, o.monitorRate);
  await world.openAll();
  // The anchor arrives at the monitor the moment it is read (no transit: the tightest case).
  const anchor = n1.leaseAnchor();
  const receivedAt = monitorClock.monotonic();
  await world.run(n1.renewLease(1, leaseHoldMs(LEASE_MS, o.drift), anchor));
  const validAfterGrant = n1.shortStatus().leaseValid;
  const promoteAt = receivedAt + leaseWaitMs(LEASE_MS, o.drift);
  await world.clock.until(() => monitorClock.monotonic() >= promoteAt, 'the monitor reaching its promotion time', 10_000, 1);
  const outcome = await world.run(n1.write({ type: 'put', key: 'k', value: 'after-promotion' })).then(
    () => 'acknowledged',
    (e: Error) => e.message,
  );
  return { validAfterGrant, outcome };
}

describe('the leader lease under bounded clock drift', () => {
  it.each([
    { what: 'node clock slowest, monitor fastest inside ρ = 10%', drift: 0.1, nodeRate: 0.9, monitorRate: 1.1 },
    { what: 'node clock fastest, monitor slowest inside ρ = 10%', drift: 0.1, nodeRate: 1.1, monitorRate: 0.9 },
    { what: 'both on time, node wall clock an hour behind', drift: 0.1, nodeRate: 1, monitorRate: 1, nodeOffsetMs: -3_600_000 },
    { what: 'both on time, node wall clock an hour ahead', drift: 0.01, nodeRate: 1, monitorRate: 1, nodeOffsetMs: 3_600_000 },
  ])('inside the bound ($what): no write is acknowledged once the monitor would promote', async (c) => {
    const r = await writeWhenMonitorWouldPromote(c);
    expect(r.validAfterGrant).toBe(true);
    expect(r.outcome).toMatch(/no valid leader lease/);
  });

  it.each([
    { what: 'node clock at half speed with ρ = 10%', drift: 0.1, nodeRate: 0.5, monitorRate: 1 },
    { what: 'margin off (ρ = 0), node clock 5% slow', drift: 0, nodeRate: 0.95, monitorRate: 1 },
  ])('past the bound ($what): the old leader still acknowledges a write when the monitor would promote', async (c) => {
    const r = await writeWhenMonitorWouldPromote(c);
    expect(r.validAfterGrant).toBe(true);
    expect(r.outcome).toBe('acknowledged');
  });

  it('hold and wait: the holder gives up the margin, the monitor waits it out', () => {
    expect(leaseHoldMs(1000, 0.1)).toBe(900);
    expect(leaseWaitMs(1000, 0.1)).toBe(1100);
    expect(leaseHoldMs(1000, 0)).toBe(1000);
    expect(leaseWaitMs(1000, 0)).toBe(1000);
  });
});
