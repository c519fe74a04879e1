/**
 * The node as the replication modules see it: what its replication port (upstream.ts,
 * follower-session.ts) and its link to an upstream (downstream.ts) may ask and tell, and the
 * followers' progress and the upstream's view as /status reports them.
 */
import type { DownstreamHost } from './downstream.js';
import type { FollowerSession, UpstreamHost } from './follower-session.js';
import type { KvNode } from './node.js';
import { appendReplicated, installSnapshot } from './node-follower.js';
import { maybeRecover, recomputeCommit } from './node-leader.js';
import { adoptEpoch, rewind } from './node-roles.js';
import type { FollowerStatus, UpstreamState } from './status.js';

export function onFollowerProgress(node: KvNode, s: FollowerSession): void {
  node.progress.set(s.id, { id: s.id, writtenLsn: s.writtenLsn, flushedLsn: s.flushedLsn, appliedLsn: s.appliedLsn, session: s });
  if (node.role !== 'leader') return;
  maybeRecover(node);
  recomputeCommit(node);
}

export function followerStatuses(node: KvNode): FollowerStatus[] {
  const now = Date.now();
  const out: FollowerStatus[] = [];
  for (const p of node.progress.values()) {
    const s = p.session;
    const connected = !!s && !s.closed && now - s.lastAckMs < Math.max(10 * node.config.heartbeatMs, 1000);
    const lagRecords = Math.max(0, node.wal.lastLsn - p.appliedLsn);
    const next = node.wal.recordAt(p.appliedLsn + 1);
    const lagMs = lagRecords === 0 ? 0 : next ? now - next.timeMs : -1;
    out.push({
      id: p.id,
      address: s?.address ?? '',
      connected,
      writtenLsn: p.writtenLsn,
      flushedLsn: p.flushedLsn,
      appliedLsn: p.appliedLsn,
      lagRecords,
      lagMs,
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** The upstream's view, for a follower's /status. */
export function upstreamStatus(node: KvNode): UpstreamState | null {
  const s = node.state;
  if (s.kind !== 'follower' || !s.link) return null;
  const u = s.info;
  return {
    address: s.upstream?.address ?? null,
    id: u.upstreamId ?? null,
    connected: s.link.connected,
    streaming: s.link.streaming,
    upstreamLastLsn: u.lastLsn ?? null,
    lagRecords: u.lastLsn === undefined ? null : Math.max(0, u.lastLsn - node.head.lsn),
  };
}

export function upstreamHost(node: KvNode): UpstreamHost {
  return {
    id: node.config.id,
    cluster: node.config.cluster,
    token: node.config.token,
    ackLevel: node.config.ackLevel,
    wal: node.wal,
    log: node.log,
    epoch: () => node.epoch,
    leaderHttp: () => node.leaderHttp(),
    latestCheckpoint: () => node.checkpoints.latest(),
    epochHistory: () => node.meta.epochHistory,
    isLeader: () => node.role === 'leader',
    // A follower relays only while it streams from its own upstream: a node that just stepped
    // down, or whose log may diverge, must not hand its log (or a checkpoint of it) to others.
    canServe: () => node.role === 'leader' || !!node.upstreamLink?.streaming,
    onNewerEpoch: (epoch, why) =>
      void node.serialized(() => adoptEpoch(node, epoch, why)).catch((e: unknown) => node.fatal(`cannot persist epoch: ${(e as Error).message}`)),
    onFollowerProgress: (s) => onFollowerProgress(node, s),
    onFollowerJoined: (s) => {
      node.progress.set(s.id, { id: s.id, writtenLsn: s.writtenLsn, flushedLsn: s.flushedLsn, appliedLsn: s.appliedLsn, session: s });
      node.log.info({ follower: s.id, address: s.address }, 'follower joined');
    },
    onFollowerLeft: (s) => node.log.info({ follower: s.id }, 'follower left'),
    heartbeatBody: () => {
      const s = node.state;
      // A relay forwards the leader's (clock, commit LSN) pair as it heard it, so followers down a
      // chain measure their staleness against the leader, not against the relay (freshness.ts).
      if (s.kind === 'follower')
        return { leaderHttp: node.leaderHttp(), lastLsn: s.info.lastLsn ?? node.wal.lastLsn, commitLsn: s.info.commitLsn, timeMs: s.info.timeMs };
      return { leaderHttp: node.leaderHttp(), lastLsn: node.wal.lastLsn, commitLsn: node.commitLsn, timeMs: Date.now() };
    },
  };
}

export function downstreamHost(node: KvNode): DownstreamHost {
  return {
    id: node.config.id,
    cluster: node.config.cluster,
    token: node.config.token,
    log: node.log,
    epoch: () => node.epoch,
    lastLsn: () => node.wal.lastLsn,
    lastEpoch: () => node.lastLogEpoch,
    writtenLsn: () => node.wal.writtenLsn,
    flushedLsn: () => node.wal.flushedLsn,
    appliedLsn: () => node.head.lsn,
    canAppend: () => !node.wal.stalled && !node.wal.failed,
    adoptEpoch: (epoch) => node.serialized(() => adoptEpoch(node, epoch, 'upstream frame')),
    rewind: (lsn) => rewind(node, lsn),
    installSnapshot: (bytes, history) => installSnapshot(node, bytes, history),
    appendReplicated: (body) => appendReplicated(node, body),
    onUpstreamInfo: (info) => {
      const s = node.state;
      if (s.kind === 'follower') s.info = { ...s.info, ...Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) };
      if (info.commitLsn !== undefined) node.commitLsn = Math.min(info.commitLsn, node.wal.flushedLsn);
      if (info.commitLsn !== undefined && info.timeMs !== undefined) node.freshness.noteLeader(info.timeMs, info.commitLsn, node.head.lsn);
    },
  };
}
