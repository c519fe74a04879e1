/**
 * A simulated clock: time moves only when a test (or, later, a simulator) advances it. Timers fire
 * in time order, ties in the order they were set; `soon` callbacks run before any timer, as
 * setImmediate callbacks run before a later timer. Between callbacks the real event loop turns
 * once (a real setImmediate, no wait), so promise chains the callbacks started settle before the
 * next one runs.
 *
 * Deterministic for a given sequence of calls: nothing here reads the real clock.
 */
import type { Clock, Timer } from '../lib/io/clock.js';

interface Scheduled {
  at: number;
  seq: number;
  every: number | undefined;
  fn: () => void;
  cancelled: boolean;
}

/** One real event-loop turn: microtasks and already-queued real I/O callbacks run. */
const turn = () => new Promise<void>((r) => setImmediate(r));

export class SimClock implements Clock {
  private nowMs: number;
  private monoMs = 0;
  private seq = 0;
  private timers: Scheduled[] = [];
  private immediates: Array<() => void> = [];

  /** `startMs`: the wall clock's reading at monotonic 0 (any fixed value keeps runs reproducible). */
  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  monotonic(): number {
    return this.monoMs;
  }

  after(ms: number, fn: () => void): Timer {
    return this.schedule(Math.max(0, ms), undefined, fn);
  }

  every(ms: number, fn: () => void): Timer {
    return this.schedule(Math.max(1, ms), Math.max(1, ms), fn);
  }

  soon(fn: () => void): void {
    this.immediates.push(fn);
  }

  /** Timers waiting to fire (for assertions that nothing is left behind). */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /**
   * Moves the wall clock alone by `ms` (a step, as NTP or an operator may make), leaving the
   * monotonic clock and timers where they are.
   */
  stepWall(ms: number): void {
    this.nowMs += ms;
  }

  /** Runs everything due now (soon callbacks, then timers at the current time) until quiet. */
  async settle(maxSteps = 100_000): Promise<void> {
    for (let steps = 0; ; steps++) {
      if (steps > maxSteps) throw new Error(`SimClock.settle: still busy after ${maxSteps} steps (a callback reschedules itself with no delay?)`);
      await turn();
      const fn = this.immediates.shift();
      if (fn) {
        fn();
        continue;
      }
      const next = this.nextDue();
      if (next && next.at <= this.monoMs) {
        this.fire(next);
        continue;
      }
      // One more real turn: a callback's promise chain may have queued more work.
      await turn();
      if (this.immediates.length === 0 && !(this.nextDue() && this.nextDue()!.at <= this.monoMs)) return;
    }
  }

  /** Advances time by `ms`, firing every timer on the way at its own time, settling after each. */
  async advance(ms: number): Promise<void> {
    const target = this.monoMs + ms;
    await this.settle();
    for (;;) {
      const next = this.nextDue();
      if (!next || next.at > target) break;
      this.moveTo(next.at);
      this.fire(next);
      await this.settle();
    }
    this.moveTo(target);
    await this.settle();
  }

  /**
   * Advances in steps of `stepMs` until `condition()` holds, at most `limitMs` of simulated time;
   * throws naming `what` when it never does. The simulated counterpart of awaiting a condition.
   */
  async until(condition: () => boolean, what: string, limitMs = 60_000, stepMs = 10): Promise<void> {
    const start = this.monoMs;
    await this.settle();
    while (!condition()) {
      if (this.monoMs - start >= limitMs) throw new Error(`SimClock.until: ${what} did not happen within ${limitMs} simulated ms`);
      await this.advance(stepMs);
    }
  }

  /**
   * Resolves with what `work` resolves to, moving time from timer to timer while it is pending: the
   * simulated counterpart of awaiting it. Throws when it is still pending with nothing left to run
   * (it can never finish), or after `limitMs` of simulated time.
   */
  async run<T>(work: Promise<T>, limitMs = 600_000): Promise<T> {
    let done = false;
    const settled = work.then(
      (v) => {
        done = true;
        return v;
      },
      (e: unknown) => {
        done = true;
        throw e;
      },
    );
    settled.catch(() => {});
    const start = this.monoMs;
    await this.settle();
    while (!done) {
      const next = this.nextDue();
      if (!next) throw new Error('SimClock.run: the work is still pending and nothing is scheduled that could finish it');
      if (next.at - start > limitMs) throw new Error(`SimClock.run: the work did not finish within ${limitMs} simulated ms`);
      await this.advance(Math.max(0, next.at - this.monoMs));
    }
    return settled;
  }

  private schedule(ms: number, every: number | undefined, fn: () => void): Timer {
    const t: Scheduled = { at: this.monoMs + ms, seq: this.seq++, every, fn, cancelled: false };
    this.timers.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }

  private nextDue(): Scheduled | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: Scheduled | undefined;
    for (const t of this.timers) if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }

  private fire(t: Scheduled): void {
    if (t.every === undefined) t.cancelled = true;
    else {
      t.at += t.every;
      t.seq = this.seq++;
    }
    t.fn();
  }

  private moveTo(mono: number): void {
    if (mono <= this.monoMs) return;
    this.nowMs += mono - this.monoMs;
    this.monoMs = mono;
  }
}
