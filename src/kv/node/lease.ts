/**
 * A leader's lease on this node's monotonic clock (fencing: lease): renewed by the monitor,
 * counted from when the monitor sent it, so time spent in transit (or frozen) is not granted.
 */
import type { Clock } from '../../lib/io/clock.js';

export class Lease {
  /** The monotonic reading until which the lease holds. */
  private until = 0;

  constructor(
    private readonly fencing: 'lease' | 'none',
    private readonly clock: Clock,
  ) {}

  valid(): boolean {
    return this.fencing === 'none' || this.clock.monotonic() < this.until;
  }

  remainingMs(): number {
    return Math.max(0, Math.round(this.until - this.clock.monotonic()));
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
    return this.clock.monotonic() + Math.max(0, Math.min(leaseMs, sentAtMs + leaseMs - this.clock.now()));
  }
}
