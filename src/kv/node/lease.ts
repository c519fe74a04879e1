/**
 * A leader's lease (fencing: lease), measured on this node's own monotonic clock from a moment the
 * node itself chose, never from the granter's clock.
 *
 * The protocol: every answer the node gives the monitor carries a lease anchor, the node's
 * monotonic reading when it answered (and a boot id, since another process of the same node has a
 * different origin). The monitor echoes the newest anchor it received in each grant (renewal or
 * promotion) together with a hold time; the node holds the lease until anchor + hold. The anchor
 * was read before the monitor received it, so however long the grant then spends in a socket
 * buffer or a frozen process, the lease cannot outlast what the monitor counts from that receipt.
 * This is the leader lease of Raft and etcd (counted from when the leader sent the request that led
 * to the grant) with the roles of requester and granter turned around by the push.
 *
 * What it assumes (docs/clocks.md says the same for users): every clock's rate stays within
 * [1 − ρ, 1 + ρ] of real time, ρ = `maxClockDrift`. Nothing is assumed about offsets (wall clocks
 * are never compared) or steps of the wall clock. With ρ the monitor grants hold = L·(1 − ρ) and
 * waits L·(1 + ρ) on its own monotonic clock from the anchor's receipt before promoting anyone
 * else: the holder's lease ends within real L of its anchor, the monitor waits at least real L
 * after a later instant. ρ = 0 turns the margin off (safe only while both clocks run at one rate).
 */
import type { Clock } from '../../lib/io/clock.js';

/** A node's monotonic reading, named by the process it came from. */
export interface LeaseAnchor {
  boot: string;
  atMs: number;
}

/** The hold time the monitor grants for a lease of `leaseMs` under drift bound `drift` (ρ). */
export function leaseHoldMs(leaseMs: number, drift: number): number {
  return Math.floor(leaseMs * (1 - drift));
}

/** How long the monitor waits, on its own monotonic clock from an anchor's receipt, before another node may lead. */
export function leaseWaitMs(leaseMs: number, drift: number): number {
  return Math.ceil(leaseMs * (1 + drift));
}

export class Lease {
  /** The monotonic reading until which the lease holds. */
  private until = 0;

  constructor(
    private readonly fencing: 'lease' | 'none',
    private readonly clock: Clock,
    /** This process's boot id: anchors from any other process grant nothing. */
    private readonly boot: string,
  ) {}

  valid(): boolean {
    return this.fencing === 'none' || this.clock.monotonic() < this.until;
  }

  remainingMs(): number {
    return Math.max(0, Math.round(this.until - this.clock.monotonic()));
  }

  /**
   * Extends (never shortens) the lease to `holdMs` after `anchor`. An anchor of another process
   * (a restart), or one this clock has not reached yet (made up), grants nothing.
   */
  extend(holdMs: number, anchor: LeaseAnchor | undefined): void {
    if (!anchor || anchor.boot !== this.boot || anchor.atMs > this.clock.monotonic()) return;
    this.until = Math.max(this.until, anchor.atMs + holdMs);
  }

  revoke(): void {
    this.until = 0;
  }
}
