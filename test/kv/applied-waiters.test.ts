/**
 * Reads waiting for an LSN (src/kv/applied-waiters.ts): answered when the node applies it, timed
 * out otherwise, refused all at once on close or a role change, bounded in number, and never
 * leaving a timer behind however they end.
 */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppliedWaiters } from '../../src/kv/node/applied-waiters.js';
import { systemClock } from '../../src/lib/io/clock.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('AppliedWaiters', () => {
  it('answers each waiter once its LSN is applied, in LSN order, and no earlier', async () => {
    const w = new AppliedWaiters();
    const ended: string[] = [];
    const a = w.wait(5, 1000).then((e) => ended.push(`5:${e}`));
    const b = w.wait(3, 1000).then((e) => ended.push(`3:${e}`));
    const c = w.wait(7, 1000).then((e) => ended.push(`7:${e}`));
    w.notify(4);
    await Promise.resolve();
    expect(ended).toEqual(['3:applied']);
    w.notify(6);
    await Promise.all([a, b]);
    expect(ended).toEqual(['3:applied', '5:applied']);
    expect(w.size).toBe(1);
    w.notify(100);
    await c;
    expect(ended).toEqual(['3:applied', '5:applied', '7:applied']);
    expect(w.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times out a waiter its LSN never reaches, and forgets it', async () => {
    const w = new AppliedWaiters();
    const end = w.wait(10, 300);
    vi.advanceTimersByTime(299);
    w.notify(9);
    expect(w.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(await end).toBe('timed-out');
    expect(w.size).toBe(0);
    // A late notification finds nothing to answer.
    w.notify(10);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses every waiter with the given error on rejectAll (close, role change), clearing their timers', async () => {
    const w = new AppliedWaiters();
    const ends = [w.wait(1, 5000), w.wait(2, 5000), w.wait(2, 5000)];
    expect(vi.getTimerCount()).toBe(3);
    w.rejectAll(() => new Error('node n2 is shutting down'));
    for (const e of ends) await expect(e).rejects.toThrow('node n2 is shutting down');
    expect(w.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is bounded: past the cap a wait ends at once with "full", without a timer', async () => {
    const w = new AppliedWaiters(systemClock, 2);
    const kept = [w.wait(5, 1000), w.wait(6, 1000)];
    expect(await w.wait(7, 1000)).toBe('full');
    expect(w.size).toBe(2);
    expect(vi.getTimerCount()).toBe(2);
    w.notify(5);
    await kept[0];
    // One left: room again.
    const again = w.wait(8, 1000);
    expect(w.size).toBe(2);
    w.notify(8);
    expect(await again).toBe('applied');
    expect(await kept[1]).toBe('applied');
  });

  it('a client that goes away cancels its wait and frees its place', async () => {
    const w = new AppliedWaiters(systemClock, 1);
    const gone = new AbortController();
    const end = w.wait(5, 1000, gone.signal);
    gone.abort();
    expect(await end).toBe('cancelled');
    expect(w.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    const aborted = new AbortController();
    aborted.abort();
    expect(await w.wait(5, 1000, aborted.signal)).toBe('cancelled');
    expect(vi.getTimerCount()).toBe(0);
  });
});
