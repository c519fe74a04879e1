/**
 * Time as the node sees it, behind one narrow interface: the wall clock (written into records and
 * heartbeats), the monotonic clock (leases, durations) and timers. The real clock is the process's;
 * a simulated one (src/sim/clock.ts) lets a test run nodes in one process and move time by hand,
 * so a lease lapses when the test says so, not after a real wait.
 */
import { performance } from 'node:perf_hooks';

/** A scheduled callback; `cancel` is safe to call twice or after it ran. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (Date.now()). */
  now(): number;
  /** Monotonic milliseconds from an arbitrary origin (performance.now()): never jumps back. */
  monotonic(): number;
  /** Runs `fn` once after `ms`. The timer never keeps the process alive by itself. */
  after(ms: number, fn: () => void): Timer;
  /** Runs `fn` every `ms` until cancelled. Never keeps the process alive by itself. */
  every(ms: number, fn: () => void): Timer;
  /** Runs `fn` once the current turn of the event loop ends (after I/O callbacks: setImmediate). */
  soon(fn: () => void): void;
}

/** The process's own clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
  soon(fn) {
    setImmediate(fn);
  },
};

/** Resolves after `ms` on `clock` (a slow disk's delay, a yield in a long loop). */
export function delay(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.after(ms, resolve));
}

/** Resolves at the end of this turn of the event loop on `clock`: lets I/O and timers run. */
export function yieldTurn(clock: Clock): Promise<void> {
  return new Promise((resolve) => clock.soon(resolve));
}
