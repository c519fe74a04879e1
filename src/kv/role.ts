/**
 * A node's role as one value: each role carries what only it owns, and a node changes role only
 * through the transitions in node.ts (promote, step down, follow), which assert where they start.
 *
 *   follower ──promote──► leader ──step down──► stepping-down ──► follower
 *
 * A relay is a follower that others stream from (its replication port serves while it streams).
 * Stepping down is its own role because it takes a while (the log is flushed and what it holds
 * answered by the commit rule) and during it the node must neither take writes nor apply as a
 * follower: the writes in flight were already applied to its head when they were taken.
 */
import type { UpstreamLink } from './downstream.js';
import { KvState } from './store.js';

/** The node a follower streams from: its replication address and its id (the HELLO is signed for that id). */
export interface UpstreamRef {
  address: string;
  id: string;
}

/** What a follower last heard from its upstream (heartbeats), for hints and lag. */
export interface UpstreamInfo {
  leaderHttp: string | null;
  upstreamId?: string;
  lastLsn?: number;
  commitLsn?: number;
  timeMs?: number;
}

export type Role =
  | {
      kind: 'leader';
      /** What reads see: committed writes (or, with early visibility, flushed ones). */
      visible: KvState;
      /** The followers sync mode waits for (the monitor names them at promotion). */
      syncStandbys: string[];
      /** A planned switchover: refuse new writes while the successor catches up. */
      handingOver: boolean;
    }
  | { kind: 'stepping-down'; visible: KvState; syncStandbys: string[] }
  | {
      kind: 'follower';
      /** The upstream, when it has been told whom to follow. */
      upstream: UpstreamRef | undefined;
      link: UpstreamLink | undefined;
      info: UpstreamInfo;
    };

export type RoleKind = Role['kind'];

/** A leader whose reads start from everything `head` holds (a restarted or promoted leader counts it all committed). */
export function leaderRole(head: KvState, syncStandbys: string[]): Extract<Role, { kind: 'leader' }> {
  const visible = new KvState();
  visible.reset(head.lsn, head.data);
  return { kind: 'leader', visible, syncStandbys, handingOver: false };
}

export function followerRole(upstream: UpstreamRef | undefined, leaderHttp: string | null = null): Extract<Role, { kind: 'follower' }> {
  return { kind: 'follower', upstream, link: undefined, info: { leaderHttp } };
}
