/**
 * How far behind the leader a follower knows itself to be, in milliseconds of the leader's clock.
 *
 * The leader's heartbeats carry (its clock, its commit LSN); a relay forwards the pair it heard
 * unchanged, so a follower at the end of a chain measures itself against the leader, not against
 * its relay, and its figure is the sum of every hop's lag. If this node has applied the commit LSN
 * the leader had at time T, it holds everything the leader had acknowledged by T: its reads are at
 * most `now − T` stale. Between heartbeats that bound grows with the clock, because writes since
 * the last heartbeat are unknown here; it is exact to within one heartbeat interval.
 *
 * This is the figure a `bounded:<ms>` read is served under (MongoDB's maxStalenessSeconds does the
 * same from its heartbeats). It compares the leader's wall clock with this node's, so a skew
 * between the two machines shifts it by the skew (on one machine there is none).
 */
export class Freshness {
  /** Heartbeats heard, oldest first: the leader's clock and commit LSN at that moment. */
  private readonly heard: Array<{ timeMs: number; commitLsn: number }> = [];
  /** The newest leader time at which this node was known to hold everything committed. */
  private freshAsOfMs: number | undefined;

  /** Most heartbeats kept: at 10 a second, ten seconds of them. */
  private static readonly KEEP = 100;

  /** A heartbeat from upstream: the leader's clock and commit LSN (forwarded as they were through relays). */
  noteLeader(timeMs: number, commitLsn: number, appliedLsn: number): void {
    const last = this.heard[this.heard.length - 1];
    // A pair older than the last one (a relay that reconnected, a reordering) adds nothing.
    if (last && (timeMs < last.timeMs || commitLsn < last.commitLsn)) return;
    this.heard.push({ timeMs, commitLsn });
    if (this.heard.length > Freshness.KEEP) this.heard.shift();
    this.noteApplied(appliedLsn);
  }

  /** This node applied through `appliedLsn`: every heartbeat whose commit LSN it now holds makes it fresh as of then. */
  noteApplied(appliedLsn: number): void {
    let i = 0;
    while (i < this.heard.length && this.heard[i]!.commitLsn <= appliedLsn) i++;
    if (i === 0) return;
    this.freshAsOfMs = Math.max(this.freshAsOfMs ?? 0, this.heard[i - 1]!.timeMs);
    // Older heartbeats can never matter again: a later one is at least as fresh.
    this.heard.splice(0, i - 1);
  }

  /** Milliseconds behind the leader at `nowMs`, or undefined when not known (no heartbeat applied yet). */
  stalenessMs(nowMs = Date.now()): number | undefined {
    return this.freshAsOfMs === undefined ? undefined : Math.max(0, nowMs - this.freshAsOfMs);
  }

  /** The leader's commit LSN as last heard (the per-hop lag's reference), if any. */
  leaderCommitLsn(): number | undefined {
    return this.heard[this.heard.length - 1]?.commitLsn;
  }

  /** A new upstream or a new role: what was heard before says nothing now. */
  reset(): void {
    this.heard.length = 0;
    this.freshAsOfMs = undefined;
  }
}
