/**
 * Whether each failover was needed (its leader was down or cut off) or needless (its leader was
 * alive and clients could reach it), decided from what a run folder holds: the monitor's
 * `promoted` event (how long the old leader was unreachable, what it answered at its own address),
 * the nemesis' faults in the history, and client operations the old leader served. Pure.
 *
 * The order of the evidence matters. A kill or a partition of the old leader still in force when
 * the failover began makes it needed, whatever else is seen (a partitioned leader may answer on
 * its own address, which the monitor's link could not reach), unless the partition recorded the
 * links it cut and cut only the monitor's: then clients and followers could still use the leader,
 * and the failover was needless. A leader cut off from its followers was cut off, even where its
 * clients still reached it. Otherwise any sign of life that
 * clients could have used makes it needless: the old leader answering at its own address, a
 * client's operation it served in the silent window, or a pause or latency fault on it over the
 * silent window that ended before the run did (the leader was stopped or slow, and came back by
 * itself: a stop-the-world pause longer than the timeout is the textbook needless failover). Without the event's fields and
 * without such evidence the answer is "not known": an old run folder or a user's system whose
 * monitor does not record them is never taken as needed.
 */
import type { FailoverNeed, Window } from './model.js';

/** The fields of a `promoted` event the judgement reads (all optional: older monitors wrote fewer). */
export interface PromotionFacts {
  /** When the promotion was recorded, seconds on the history's axis. */
  at: number;
  /** The old leader's id (`from`), when recorded. */
  from?: string;
  /** How long the old leader was unreachable from the monitor before its failover began. */
  unreachableMs?: number;
  /** From declaring the old leader dead to the promotion (ms). */
  promotionMs?: number;
  /** What the old leader answered at its own address when its failover began. */
  oldLeader?: { answered: boolean };
}

export interface Judgement {
  need: FailoverNeed;
  /** Plain text: the evidence the judgement rests on. */
  why: string;
}

/** A client op the old leader completed ok, its completion time in seconds on the history's axis. */
export interface ServedOp {
  t: number;
  node: string;
}

const DOWN_FAULTS = new Set(['kill', 'partition', 'crash', 'stop']);
const SLOW_FAULTS = new Set(['pause', 'latency', 'clock']);

/** `runEnd`: the end of the run's time axis; a fault window reaching it was never stopped. */
export function judgeFailover(p: PromotionFacts, faults: readonly Window[], served: readonly ServedOp[], runEnd: number): Judgement {
  const began = p.at - (p.promotionMs ?? 0) / 1000;
  const silentFrom = p.unreachableMs === undefined ? undefined : began - p.unreachableMs / 1000;
  const old = p.from;
  const onOld = (f: Window) => old !== undefined && f.nodes.includes(old);
  // A partition that records its links and cut the old leader from its failover manager alone
  // (neither its clients' link nor any replication link of it) left a working leader behind:
  // clients still reached it and its followers still streamed from it. One that cut its
  // replication links cut it off from its followers (its writes could no longer be replicated
  // anywhere), a real failure even with clients still reaching it. Link names as
  // src/faults/links.ts spells them.
  const touchesRepl = (l: string) => l.startsWith('repl:') && (l.startsWith(`repl:${old}->`) || l.endsWith(`->${old}`) || l.endsWith(`->${old}.api`));
  const monitorOnly = (f: Window) => f.fault === 'partition' && f.links !== undefined && !f.links.includes(`client:${old}`) && !f.links.some(touchesRepl);
  if (old !== undefined) {
    const inForce = faults.filter((f) => DOWN_FAULTS.has(f.fault) && onOld(f) && f.from <= began && began <= f.to);
    const down = inForce.find((f) => !monitorOnly(f));
    if (down) {
      const fromPeers = down.fault === 'partition' && down.links !== undefined && !down.links.includes(`client:${old}`);
      return {
        need: 'needed',
        why: fromPeers
          ? `the partition cut ${old} off from its followers when the failover began (clients still reached it)`
          : `${down.fault} of ${old} in force when the failover began`,
      };
    }
    const cut = inForce.find(monitorOnly);
    if (cut) return { need: 'needless', why: `the partition cut ${old} from the monitor only: clients and followers still reached it` };
  }
  if (p.oldLeader?.answered === true) return { need: 'needless', why: `${old ?? 'the old leader'} answered at its own address when the failover began` };
  if (old !== undefined && silentFrom !== undefined) {
    const ops = served.filter((s) => s.node === old && s.t >= silentFrom && s.t <= p.at).length;
    if (ops > 0) return { need: 'needless', why: `${old} served ${ops} client operation${ops === 1 ? '' : 's'} while the monitor could not reach it` };
  }
  if (old !== undefined) {
    // Latency on links may name no node: it slowed the whole cluster, the leader with it.
    const slow = faults.find(
      (f) => SLOW_FAULTS.has(f.fault) && (onOld(f) || f.nodes.length === 0) && f.from <= p.at && f.to >= (silentFrom ?? began) && f.to < runEnd,
    );
    if (slow)
      return {
        need: 'needless',
        why: `the ${slow.fault}${slow.nodes.length ? ` of ${slow.nodes.join(', ')}` : ''} from ${slow.from.toFixed(1)} s ended at ${slow.to.toFixed(1)} s: ${old} was alive`,
      };
  }
  if (p.oldLeader?.answered === false && p.unreachableMs !== undefined)
    return { need: 'needed', why: `${old ?? 'the old leader'} answered neither the monitor nor at its own address, and served no client` };
  return { need: 'not known', why: 'the failover event does not record what the old leader answered' };
}
