/**
 * How a replab cluster spec maps onto Redis and Sentinel settings (pure, unit-tested):
 *
 *   replab                      Redis / Sentinel
 *   async                       SET alone: acknowledged once the primary ran it
 *   semi-sync k                 SET, then WAIT k <syncTimeoutMs> on the same connection: ok only
 *                               when WAIT answers at least k; fewer is an info outcome (the write
 *                               is on the primary and perhaps some replicas, and may survive)
 *   sync                        the same with k = every replica
 *   ackLevel                    one level only: a replica acknowledges the offset it has processed
 *                               (with appendfsync always, after writing it to its own AOF); write,
 *                               flush and apply all mean that
 *   onSyncTimeout               no equivalent: WAIT always returns at its timeout, and the write
 *                               stays on the primary whatever the client decides
 *   visibility                  not applied: the primary shows a write to every reader as soon as it
 *                               runs it, before WAIT returns (what replab calls visibility: early),
 *                               whatever the spec says
 *   storage.fsync               appendfsync always | everysec (default always), appendonly yes
 *   fencing lease               min-replicas-to-write 1, min-replicas-max-lag = leaseMs in whole
 *                               seconds (at least 1): a primary that has heard from no replica for
 *                               that long refuses writes (NOREPLICAS), which bounds how long an
 *                               isolated primary keeps acknowledging
 *   fencing none                no such limit (Redis's default)
 *   failoverTimeoutMs           Sentinel's down-after-milliseconds (the primary is subjectively
 *                               down after this long without a valid reply; two of the three
 *                               Sentinels make it objectively down)
 *   3 × failoverTimeoutMs       Sentinel's failover-timeout (at least 3 s): a failover that found
 *                               no replica to promote is tried again after twice this
 */
import type { ClusterSpec } from '../../cluster/spec.js';
import type { ModeSettings } from '../system.js';

/** The Sentinel name of the monitored primary. */
export const MASTER_NAME = 'replab';
/** Sentinels started per cluster; a failover needs a majority of them. */
export const SENTINELS = 3;
export const QUORUM = 2;

export type AppendFsync = 'always' | 'everysec';

export interface RedisSettings {
  /** Replicas a write waits for with WAIT after it ran on the primary (0: no WAIT, async). */
  waitReplicas: number;
  waitTimeoutMs: number;
  appendfsync: AppendFsync;
  minReplicasToWrite: number;
  minReplicasMaxLagS: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
}

type Spec = Pick<ClusterSpec, 'replication' | 'failover' | 'nodes' | 'fencing' | 'storage'>;

export function redisSettings(spec: Spec): RedisSettings {
  const r = spec.replication;
  const replicas = spec.nodes.length - 1;
  const lease = spec.fencing === 'lease';
  return {
    waitReplicas: r.mode === 'async' ? 0 : r.mode === 'sync' ? replicas : Math.min(r.k, replicas),
    waitTimeoutMs: r.syncTimeoutMs,
    appendfsync: spec.storage.fsync ?? 'always',
    minReplicasToWrite: lease ? 1 : 0,
    minReplicasMaxLagS: lease ? Math.max(1, Math.round(spec.failover.leaseMs / 1000)) : 0,
    downAfterMs: spec.failover.failoverTimeoutMs,
    failoverTimeoutMs: Math.max(3000, 3 * spec.failover.failoverTimeoutMs),
  };
}

export interface NodeFiles {
  /** Port redis-server listens on (127.0.0.1). */
  port: number;
  dir: string;
  /** The address every other process of the cluster reaches this node at (its proxy link). */
  announce: { host: string; port: number };
  /** The primary's announced address, for a node that starts as a replica. */
  replicaOf?: { host: string; port: number };
}

/**
 * redis.conf for one node. The AOF is plain RESP from its first byte (no RDB preamble) and old AOF
 * files are kept when Redis rewrites or replaces them (aof-disable-auto-gc), so that after a run
 * every command a node ever logged can be read back as evidence. RDB snapshots are off: the AOF is
 * the only persistence.
 */
export function nodeConfig(s: RedisSettings, n: NodeFiles): string {
  const lines = [
    'bind 127.0.0.1',
    `port ${n.port}`,
    `dir ${n.dir}`,
    'daemonize no',
    // The config file's path in the process title, so a leftover process is found by its folder.
    'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
    'save ""',
    'appendonly yes',
    `appendfsync ${s.appendfsync}`,
    'aof-use-rdb-preamble no',
    'aof-disable-auto-gc yes',
    `replica-announce-ip ${n.announce.host}`,
    `replica-announce-port ${n.announce.port}`,
    `min-replicas-to-write ${s.minReplicasToWrite}`,
    `min-replicas-max-lag ${s.minReplicasMaxLagS}`,
    // A replica cut from its primary still answers (final reads on every node need it).
    'replica-serve-stale-data yes',
    'replica-read-only yes',
    // Replicas ask for the full history on a gap; a backlog this size covers any run's faults.
    'repl-backlog-size 64mb',
    'repl-timeout 5',
    'maxclients 1000',
  ];
  if (n.replicaOf) lines.push(`replicaof ${n.replicaOf.host} ${n.replicaOf.port}`);
  return `${lines.join('\n')}\n`;
}

/** sentinel.conf for one Sentinel: it learns the replicas and the other Sentinels from the primary. */
export function sentinelConfig(s: RedisSettings, o: { port: number; dir: string; master: { host: string; port: number } }): string {
  return `${[
    'bind 127.0.0.1',
    `port ${o.port}`,
    `dir ${o.dir}`,
    'daemonize no',
    'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
    `sentinel monitor ${MASTER_NAME} ${o.master.host} ${o.master.port} ${QUORUM}`,
    `sentinel down-after-milliseconds ${MASTER_NAME} ${s.downAfterMs}`,
    `sentinel failover-timeout ${MASTER_NAME} ${s.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
  ].join('\n')}\n`;
}

/** Spec features Redis with Sentinel does not have here: one line each, for a ConfigError. */
export function unsupported(spec: Pick<ClusterSpec, 'topology' | 'regions' | 'backend' | 'replication' | 'storage' | 'nodes'>): string[] {
  const out: string[] = [];
  if (spec.backend !== 'process') out.push('backend: only the process backend runs Redis');
  if (spec.topology !== 'direct') out.push('topology: only direct (Sentinel points every replica at the primary after a failover)');
  if (Object.keys(spec.regions).length > 0) out.push('regions: not supported for Redis');
  if (spec.replication.applyDelayMs > 0) out.push('replication.applyDelayMs: Redis replicas have no apply delay');
  if (spec.storage.simulatePowerLoss) out.push('power-loss faults: Redis writes its AOF through the OS page cache; replab cannot drop it');
  if (spec.nodes.length < 2) out.push('nodes: Redis replication needs at least 2 nodes');
  return out;
}

/** A mode in words for the report. WAIT counts replicas that received the write; nothing blocks or degrades. */
export function describeRedisMode(r: ModeSettings, fencing: string): string {
  const wait = r.mode === 'async' ? 'SET alone' : r.mode === 'sync' ? 'SET + WAIT for every replica' : `SET + WAIT ${String(r.k)} (info when fewer answer)`;
  return `Redis + Sentinel: ${wait}; ${fencing === 'none' ? 'no min-replicas-to-write' : 'min-replicas-to-write 1'}`;
}
