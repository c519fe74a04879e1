/**
 * Where a read goes under a routing policy (src/lib/read-consistency.ts names them), in one place
 * for the workload client (src/systems/replab/kv-data-client.ts) and `replab router`:
 *
 *   leader-only              the leader, `consistency=leader`
 *   round-robin              the next follower in turn, `any`; refused → the leader
 *   least-lag                the follower reporting the least lag, `any`; refused → the leader
 *   bounded-staleness:<ms>   each follower in turn with `bounded:<ms>`, then the leader
 *   session                  the next follower with `after:<token>` (`any` before the session
 *                            has a token); refused → the leader, with the same consistency
 *
 * With no followers known every policy reads on the leader. A plan is the list of places to try,
 * in order; the next one is tried only after a definite refusal (the read certainly was not
 * served: too_stale, not_caught_up, not_leader, unavailable, a refused connection), never after a
 * timeout or a lost answer, as the client's retry rules have it (src/client/client.ts). The
 * leader keeps the policy's consistency, which it always meets (it is never behind itself), so
 * a stale leader address that reaches a follower still gets the guarantee or a refusal.
 *
 * Least lag comes from each follower's own `/status` (`staleMs`, what it knows of itself from the
 * leader's heartbeats), polled by the cluster client at its refresh interval when a least-lag
 * policy is in use; the monitor's view carries no lag. A follower whose lag is unknown ranks
 * after every follower whose lag is known.
 */
import { DEFAULT_AFTER_WAIT_MS, formatConsistency, type ReadConsistency, type ReadPolicy } from '../lib/read-consistency.js';
import type { Outcome } from './kv-http.js';

/** One place to try a read: the leader (wherever it is when the read is sent), or one follower. */
export interface ReadTarget {
  to: 'leader' | { address: string };
  consistency: ReadConsistency;
}

/** What a plan is made from: the followers as the client knows them, and their lag when polled. */
export interface FollowerView {
  /** HTTP addresses of the followers, in a stable order. */
  followers(): string[];
  /** The follower's lag (ms) as last polled, or undefined when not known. */
  lagMs?(address: string): number | undefined;
}

/** Refusals that say the read was not served here and may be served elsewhere. */
const ELSEWHERE = new Set(['too_stale', 'not_caught_up', 'not_leader', 'unavailable', 'connection refused']);

/** Whether a read's outcome lets it go on to the next target of its plan. */
export function triesElsewhere(out: Outcome): boolean {
  return out.type === 'fail' && (ELSEWHERE.has(out.error) || out.error.startsWith('could not connect'));
}

export class ReadRouting {
  /** The next follower for round-robin, bounded-staleness and session reads. */
  private cursor = 0;

  constructor(private readonly view: FollowerView) {}

  /** Where a read under `policy` goes, first choice first. `token`: the session's, or null. */
  plan(policy: ReadPolicy, token: number | null): ReadTarget[] {
    const followers = this.view.followers();
    const consistency = consistencyOf(policy, token);
    const leader: ReadTarget = { to: 'leader', consistency };
    if (policy.kind === 'leader-only' || followers.length === 0) return [leader];
    if (policy.kind === 'least-lag') return [{ to: { address: this.leastLagged(followers) }, consistency }, leader];
    const first = this.cursor++ % followers.length;
    if (policy.kind === 'bounded-staleness') {
      // Every follower in turn: each decides for itself whether it is within the bound.
      const turn = [...followers.slice(first), ...followers.slice(0, first)];
      return [...turn.map((address) => ({ to: { address }, consistency })), leader];
    }
    return [{ to: { address: followers[first]! }, consistency }, leader];
  }

  private leastLagged(followers: string[]): string {
    let best = followers[0]!;
    let bestLag = this.view.lagMs?.(best) ?? Number.POSITIVE_INFINITY;
    for (const f of followers.slice(1)) {
      const lag = this.view.lagMs?.(f) ?? Number.POSITIVE_INFINITY;
      if (lag < bestLag) [best, bestLag] = [f, lag];
    }
    return best;
  }
}

/** The consistency a policy asks of whichever node serves the read. */
export function consistencyOf(policy: ReadPolicy, token: number | null): ReadConsistency {
  switch (policy.kind) {
    case 'leader-only':
      return { kind: 'leader' };
    case 'round-robin':
    case 'least-lag':
      return { kind: 'any' };
    case 'bounded-staleness':
      return { kind: 'bounded', ms: policy.ms };
    case 'session':
      return token === null ? { kind: 'any' } : { kind: 'after', lsn: token };
  }
}

/**
 * How long an `after:` read may wait on the node, out of what is left of the operation's time:
 * an equal share for this target and each one after it, less a margin for the answer to come
 * back, so a refusal arrives while there is still time to try elsewhere.
 */
export function afterWaitMs(remainingMs: number, targetsAfter: number): number {
  const margin = Math.min(100, remainingMs / 10);
  return Math.max(0, Math.min(DEFAULT_AFTER_WAIT_MS, Math.floor((remainingMs - margin) / (targetsAfter + 1))));
}

/**
 * `path` (which may carry a query already) with the read's consistency, and its wait for
 * `after:`; a consistency or wait already in the query is replaced.
 */
export function withConsistency(path: string, consistency: ReadConsistency, waitMs?: number): string {
  const q = path.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : path.slice(q + 1));
  params.delete('consistency');
  params.delete('waitMs');
  // `any` is what a node serves without a parameter; leaving it out keeps those paths as they were.
  if (consistency.kind !== 'any') params.set('consistency', formatConsistency(consistency));
  if (consistency.kind === 'after' && waitMs !== undefined) params.set('waitMs', String(waitMs));
  const query = params.toString();
  return (q < 0 ? path : path.slice(0, q)) + (query ? `?${query}` : '');
}

/**
 * Runs a plan: `send` to each target in turn until one answers with anything but a refusal that
 * `movesOn` accepts; the last target's answer stands whatever it is. `send` learns how many
 * targets remain after the one it is given (to share out an `after:` wait).
 */
export async function readAlong<P, T>(plan: P[], send: (target: P, targetsAfter: number) => Promise<T>, movesOn: (answer: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const answer = await send(plan[i]!, plan.length - 1 - i);
    if (i === plan.length - 1 || !movesOn(answer)) return answer;
  }
}
