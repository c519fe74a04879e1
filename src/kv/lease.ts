/**
 * A leader's lease on this process's monotonic clock (fencing: lease): renewed by the monitor,
 * counted from when the monitor sent it, so time spent in transit (or frozen) is not granted.
 */
import { performance } from 'node:perf_hooks';

export class Lease {
  /** performance.now() until which the lease holds. */
  private until = 0;

  constructor(private readonly fencing: 'lease' | 'none') {}

  valid(): boolean {
    return this.fencing === 'none' || performance.now() < this.until;
  }

  remainingMs(): number {
    return Math.max(0, Math.round(this.until - performance.now()));
  }

  /** Extends (never shortens) the lease to `leaseMs` after `sentAtMs` (the sender's wall clock). */
  extend(leaseMs: number, sentAtMs: number): void {
    this.until = Math.max(this.until, this.endFor(leaseMs, sentAtMs));
  }

  /** Sets the lease to `leaseMs` after `sentAtMs`: a promotion starts a fresh one. */
  reset(leaseMs: number, sentAtMs: number): void {
    this.until = this.endFor(leaseMs, sentAtMs);
  }

  revoke(): void {
    this.until = 0;
  }

  private endFor(leaseMs: number, sentAtMs: number): number {
    return performance.now() + Math.max(0, Math.min(leaseMs, sentAtMs + leaseMs - Date.now()));
  }
}
