/**
 * Which follower to promote, or why none may be (pure, so every rule has a unit test).
 *
 * The most up-to-date reachable follower wins: highest (epoch of its last record, flushed LSN), as
 * Patroni and Orchestrator pick. Durability rules on top:
 *  - semi-sync k: a write was acknowledged once k direct followers flushed it, so only a set of
 *    direct followers that must intersect every k-set is sure to hold it: at least d - k + 1 of
 *    the d direct followers must answer (unless the leader had degraded to async);
 *  - sync: every configured standby had every acknowledged write, so any answering standby does;
 *  - maxLagOnFailover: the winner may be at most that many records behind the leader's last
 *    known LSN (Patroni's maximum_lag_on_failover, in records rather than bytes).
 */
import type { ReplicationMode } from '../kv/config.js';

export interface NodeView {
  id: string;
  reachable: boolean;
  role?: string;
  lastEpoch?: number;
  flushedLsn?: number;
}

export interface CandidateInput {
  mode: ReplicationMode;
  k: number;
  oldLeader: string;
  /** Followers that streamed straight from the old leader. */
  directFollowers: string[];
  /** In sync mode, the standbys the old leader waited for. */
  syncStandbys: string[];
  /** What the old leader last reported. */
  leaderLastLsn: number;
  leaderDegraded: boolean;
  maxLagOnFailover: number | null;
  views: NodeView[];
}

export type Choice = { ok: true; id: string; why: string } | { ok: false; why: string };

export function chooseCandidate(input: CandidateInput): Choice {
  const followers = input.views.filter((v) => v.id !== input.oldLeader && v.reachable && v.role === 'follower');
  if (followers.length === 0) return { ok: false, why: 'no follower is reachable' };
  const best = [...followers].sort((a, b) => compareRank(rank(b), rank(a)) || a.id.localeCompare(b.id))[0]!;
  const reachableIds = new Set(followers.map((f) => f.id));
  if (input.mode === 'semi-sync' && !input.leaderDegraded) {
    // A direct follower that answers in another role (a former leader restarted in an older epoch,
    // not yet repointed) still counts: its log is known, so whatever it acknowledged is visible.
    // It cannot be promoted, so the winner must hold at least as much as it does.
    const known = input.views.filter((v) => v.id !== input.oldLeader && v.reachable && v.flushedLsn !== undefined && input.directFollowers.includes(v.id));
    const d = input.directFollowers.length;
    const need = Math.max(d - input.k + 1, 1);
    const have = known.length;
    if (have < need) {
      return {
        ok: false,
        why: `semi-sync k=${input.k}: only ${have} of ${d} direct followers answer, ${need} are needed to be sure of every acknowledged write`,
      };
    }
    const ahead = known.find((v) => !reachableIds.has(v.id) && compareRank(rank(v), rank(best)) > 0);
    if (ahead) {
      return {
        ok: false,
        why: `semi-sync k=${input.k}: ${ahead.id} answers as ${ahead.role ?? 'unknown'} with a longer log (epoch ${ahead.lastEpoch ?? 0}, lsn ${ahead.flushedLsn}) than the best follower ${best.id}`,
      };
    }
  }
  if (input.mode === 'sync' && !input.leaderDegraded) {
    // Any answering standby holds every acknowledged write, and `best` is at least as far along.
    if (!followers.some((f) => input.syncStandbys.includes(f.id)))
      return { ok: false, why: `sync: none of the standbys (${input.syncStandbys.join(', ')}) answers` };
  }
  return decideLag(input, best, 'most up-to-date reachable follower');
}

const rank = (v: NodeView): [number, number] => [v.lastEpoch ?? 0, v.flushedLsn ?? 0];
const compareRank = ([ea, la]: [number, number], [eb, lb]: [number, number]): number => ea - eb || la - lb;

function decideLag(input: CandidateInput, v: NodeView, why: string): Choice {
  const lag = Math.max(0, input.leaderLastLsn - (v.flushedLsn ?? 0));
  if (input.maxLagOnFailover !== null && lag > input.maxLagOnFailover) {
    return {
      ok: false,
      why: `best candidate ${v.id} is ${lag} records behind the leader's last known lsn ${input.leaderLastLsn}, over maxLagOnFailover ${input.maxLagOnFailover}`,
    };
  }
  return { ok: true, id: v.id, why: `${why} (epoch ${v.lastEpoch ?? 0}, flushed lsn ${v.flushedLsn ?? 0}, ${lag} behind)` };
}
