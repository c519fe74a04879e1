/**
 * How a replab cluster spec maps onto Patroni and PostgreSQL settings (pure, unit-tested):
 *
 *   replab                      Patroni / PostgreSQL
 *   async                       synchronous_mode: false
 *   semi-sync k                 synchronous_mode: true, synchronous_node_count: k
 *   sync                        synchronous_mode: true, synchronous_mode_strict: true,
 *                               synchronous_node_count: every other node
 *   ackLevel write|flush|apply  synchronous_commit: remote_write | on | remote_apply
 *   failoverTimeoutMs           ttl (leader key lifetime; at least 10 s here), loop_wait 1 s,
 *                               retry_timeout = (ttl - loop_wait) / 2, rounded down
 *   onSyncTimeout, syncTimeoutMs  no equivalent: Patroni's synchronous mode never degrades by
 *                               timeout (non-strict mode drops to async only when no standby is
 *                               healthy; strict mode blocks)
 *   fencing                     Patroni's own: a primary that cannot renew its leader key within
 *                               ttl demotes itself; there is no lease checked at commit time, so
 *                               a primary cut from etcd still acknowledges async commits until it
 *                               demotes
 *   applyDelayMs                recovery_min_apply_delay on every standby (Patroni's local
 *                               `postgresql.recovery_conf`, which it writes only where PostgreSQL
 *                               follows): a standby replays each commit no sooner than that long
 *                               after the primary's commit time. Only commit records wait, so a
 *                               write's effect is what is held back. With ackLevel apply
 *                               (remote_apply) every commit waits for it on the synchronous
 *                               standby; a promoted standby stops waiting and replays the rest,
 *                               like replab's own followers
 */
import type { ClusterSpec } from '../../cluster/spec.js';
import type { ModeSettings } from '../system.js';

export interface PatroniDcs {
  ttl: number;
  loop_wait: number;
  retry_timeout: number;
  maximum_lag_on_failover: number;
  synchronous_mode: boolean;
  synchronous_mode_strict: boolean;
  synchronous_node_count: number;
  postgresql: {
    use_pg_rewind: boolean;
    parameters: Record<string, string | number>;
  };
}

/** The smallest leader-key lifetime used: below it Patroni's loop and retries do not fit. */
export const MIN_TTL_S = 10;

export const SYNCHRONOUS_COMMIT: Record<ClusterSpec['replication']['ackLevel'], string> = {
  write: 'remote_write',
  flush: 'on',
  apply: 'remote_apply',
};

export function patroniDcs(spec: Pick<ClusterSpec, 'replication' | 'failover' | 'nodes'>): PatroniDcs {
  const r = spec.replication;
  const ttl = Math.max(MIN_TTL_S, Math.ceil(spec.failover.failoverTimeoutMs / 1000));
  const loopWait = 1;
  const others = Math.max(1, spec.nodes.length - 1);
  return {
    ttl,
    loop_wait: loopWait,
    retry_timeout: Math.floor((ttl - loopWait) / 2),
    // Patroni measures lag in WAL bytes; replab's maxLagOnFailover (records) has no exact
    // equivalent, so a spec without it keeps Patroni's default of 1 MiB.
    maximum_lag_on_failover: 1024 * 1024,
    synchronous_mode: r.mode !== 'async',
    synchronous_mode_strict: r.mode === 'sync',
    synchronous_node_count: r.mode === 'sync' ? others : Math.min(r.k, others),
    postgresql: {
      use_pg_rewind: true,
      parameters: {
        synchronous_commit: SYNCHRONOUS_COMMIT[r.ackLevel],
        wal_level: 'replica',
        hot_standby: 'on',
        wal_log_hints: 'on',
        max_wal_senders: 10,
        max_replication_slots: 10,
        max_connections: 100,
        wal_keep_size: '128MB',
      },
    },
  };
}

/** Patroni's local `postgresql.recovery_conf` for this spec: the standbys' apply delay, when set. */
export function patroniRecoveryConf(spec: Pick<ClusterSpec, 'replication'>): Record<string, string> {
  const ms = spec.replication.applyDelayMs;
  return ms > 0 ? { recovery_min_apply_delay: `${ms}ms` } : {};
}

/** Spec features PostgreSQL under Patroni does not have here: one line each, for a ConfigError. */
export function unsupported(spec: Pick<ClusterSpec, 'topology' | 'regions' | 'backend' | 'replication' | 'storage' | 'nodes'>): string[] {
  const out: string[] = [];
  if (spec.backend !== 'process') out.push('backend: only the process backend runs PostgreSQL');
  if (spec.topology !== 'direct') out.push('topology: only direct (every standby streams from the primary)');
  if (Object.keys(spec.regions).length > 0) out.push('regions: not supported for PostgreSQL');
  if (spec.replication.visibility !== 'after-commit')
    out.push('replication.visibility: PostgreSQL shows a commit once it is durable locally; "early" has no equivalent');
  if (spec.storage.simulatePowerLoss) out.push('power-loss faults: PostgreSQL writes through the OS page cache; replab cannot drop it');
  if (spec.nodes.length < 2) out.push('nodes: PostgreSQL replication needs at least 2 nodes');
  return out;
}

/** A mode in words for the report: Patroni's synchronous settings and synchronous_commit. */
export function describePostgresMode(r: ModeSettings): string {
  const pg: Record<string, string> = { write: 'remote_write', flush: 'on', apply: 'remote_apply' };
  const mode = r.mode === 'async' ? 'synchronous_mode off' : r.mode === 'sync' ? 'synchronous_mode_strict' : `synchronous_mode, ${String(r.k)} sync standby`;
  return `PostgreSQL + Patroni: ${mode}, synchronous_commit ${pg[String(r.ackLevel)] ?? '?'}`;
}
