/** A node's settings: what `replab node` flags and the cluster backend produce. */

import type { ReplicationMode } from '../lib/modes.js';

export type { ReplicationMode };
/** PostgreSQL's synchronous_commit levels: remote_write, on, remote_apply. */
export const ACK_LEVELS = ['write', 'flush', 'apply'] as const;
export type AckLevel = (typeof ACK_LEVELS)[number];
export type OnSyncTimeout = 'block' | 'degrade';
export type Visibility = 'after-commit' | 'early';

export interface CommitSettings {
  mode: ReplicationMode;
  /** Direct followers that must confirm a record in semi-sync. @default 1 */
  k: number;
  /**
   * What a follower's confirmation means: `write`, it has written the record (page cache, before
   * fdatasync; PostgreSQL's remote_write); `flush`, it has fdatasync'd it (`on`); `apply`, the record
   * is visible to reads there (`remote_apply`). @default 'flush'
   */
  ackLevel: AckLevel;
  /** In `sync` mode the direct followers that must all confirm (like synchronous_standby_names). */
  syncStandbys: string[];
  /** How long a write may wait for followers before `onSyncTimeout` applies. @default 10000 */
  syncTimeoutMs: number;
  /** `block`: keep waiting (safe); `degrade`: commit on local flush while followers are missing. @default 'block' */
  onSyncTimeout: OnSyncTimeout;
  /** `after-commit`: reads on the leader see a write only once committed; `early`: at local flush. @default 'after-commit' */
  visibility: Visibility;
}

/** `lease`: a leader needs a lease from the monitor to accept or acknowledge writes; `none`: no checks. */
export type Fencing = 'lease' | 'none';

export interface NodeConfig extends CommitSettings {
  id: string;
  /**
   * The cluster's name: admin calls must be signed for it (and for `id`), so a call meant for
   * another cluster that shares the token is refused. @default 'replab' for a bare `replab node`
   */
  cluster: string;
  dataDir: string;
  httpHost: string;
  httpPort: number;
  replHost: string;
  replPort: number;
  role: 'leader' | 'follower';
  /** host:port of the upstream's replication port (followers only). */
  upstream: string | undefined;
  /** The upstream's node id: the follower's HELLO is signed for it, so it cannot be replayed to another node. */
  upstreamId: string | undefined;
  /** Shared secret: a peer proves it holds it in HELLO and in signed admin calls (src/lib/auth.ts). */
  token: string;
  /** Take a checkpoint once this many WAL bytes accumulated since the last one. @default 64 MiB */
  checkpointBytes: number;
  /** @default 16 MiB */
  segmentBytes: number;
  /** How often the upstream sends a heartbeat and a follower acks when idle. @default 100 */
  heartbeatMs: number;
  /** @default 'none' for a bare `replab node`; cluster specs default to 'lease'. */
  fencing: Fencing;
  /**
   * A follower applies a record (makes it visible to reads) only this long after the leader wrote
   * it, like PostgreSQL's recovery_min_apply_delay: replay lag, on purpose. @default 0
   */
  applyDelayMs: number;
  /** Wait this long before each fdatasync: a slow disk. @default 0 */
  syncDelayMs: number;
  /**
   * Keep written-but-unsynced WAL bytes in memory until fdatasync, so kill -9 loses them as a power
   * cut loses the page cache. Set by the harness only for runs with a power-loss fault. @default false
   */
  simulatePowerLoss: boolean;
}

export const DEFAULT_COMMIT: CommitSettings = {
  mode: 'async',
  k: 1,
  ackLevel: 'flush',
  syncStandbys: [],
  syncTimeoutMs: 10_000,
  onSyncTimeout: 'block',
  visibility: 'after-commit',
};
