/**
 * How a replab cluster spec maps onto MariaDB server settings (pure, unit-tested):
 *
 *   replab                      MariaDB 10.11
 *   async                       rpl_semi_sync_master_enabled = OFF
 *   semi-sync k=1               rpl_semi_sync_master_enabled = ON (every replica has
 *                               rpl_semi_sync_slave_enabled = ON). MariaDB waits for one replica;
 *                               it has no rpl_semi_sync_master_wait_for_slave_count (that is
 *                               MySQL's), so k > 1 and sync are refused rather than approximated
 *   waitPoint after-sync        rpl_semi_sync_master_wait_point = AFTER_SYNC (the default here):
 *                               the engine commit, and so visibility, waits for the ack
 *   waitPoint after-commit      AFTER_COMMIT: the transaction is visible on the primary before the
 *                               replica has acknowledged it
 *   syncTimeoutMs, degrade      rpl_semi_sync_master_timeout = syncTimeoutMs: past it the primary
 *                               silently carries on asynchronously
 *   onSyncTimeout block         rpl_semi_sync_master_timeout = its maximum (2^32 - 1 ms, 49 days):
 *                               MariaDB always degrades in the end; this only puts the end out of reach
 *   failover                    replab's own monitor loop (failover.ts), in Orchestrator's place
 *
 * Every node runs with GTIDs in strict mode, log_slave_updates and row-based binlogs, and starts
 * read-only: only the node the monitor makes primary is writable.
 */
import type { ClusterSpec } from '../../cluster/spec.js';
import type { ModeSettings } from '../system.js';

/** The largest rpl_semi_sync_master_timeout MariaDB accepts (ms). */
export const MAX_SEMI_SYNC_TIMEOUT_MS = 4_294_967_295;

export interface SemiSyncSettings {
  rpl_semi_sync_master_enabled: 'ON' | 'OFF';
  rpl_semi_sync_master_wait_point: 'AFTER_SYNC' | 'AFTER_COMMIT';
  rpl_semi_sync_master_timeout: number;
}

export function semiSyncSettings(spec: Pick<ClusterSpec, 'replication'>): SemiSyncSettings {
  const r = spec.replication;
  return {
    rpl_semi_sync_master_enabled: r.mode === 'async' ? 'OFF' : 'ON',
    rpl_semi_sync_master_wait_point: r.waitPoint === 'after-commit' ? 'AFTER_COMMIT' : 'AFTER_SYNC',
    rpl_semi_sync_master_timeout: r.onSyncTimeout === 'block' ? MAX_SEMI_SYNC_TIMEOUT_MS : r.syncTimeoutMs,
  };
}

/** mariadbd's command-line options for one node (after --no-defaults). */
export function serverOptions(
  spec: Pick<ClusterSpec, 'replication'>,
  node: { serverId: number; port: number; dir: string; dataDir: string; socket: string; pidFile: string; errorLog: string },
): string[] {
  const semi = semiSyncSettings(spec);
  const opt = (name: string, value: string | number) => `--${name.replace(/_/g, '-')}=${value}`;
  return [
    opt('datadir', node.dataDir),
    opt('tmpdir', `${node.dir}/tmp`),
    opt('port', node.port),
    opt('bind_address', '127.0.0.1'),
    opt('socket', node.socket),
    opt('pid_file', node.pidFile),
    opt('log_error', node.errorLog),
    opt('server_id', node.serverId),
    opt('log_bin', 'binlog'),
    opt('binlog_format', 'ROW'),
    opt('gtid_strict_mode', 1),
    opt('log_slave_updates', 1),
    // Durable commits on every node: a crash loses only what no fsync covered.
    opt('sync_binlog', 1),
    opt('innodb_flush_log_at_trx_commit', 1),
    // Every node starts read-only; the monitor makes the primary writable.
    opt('read_only', 1),
    // A restarted replica waits for the monitor to point it somewhere (it may no longer be right).
    '--skip-slave-start',
    opt('skip_name_resolve', 1),
    opt('performance_schema', 'OFF'),
    opt('innodb_buffer_pool_size', '32M'),
    opt('innodb_log_file_size', '16M'),
    opt('max_connections', 200),
    // Replicas notice a silent primary within seconds, not the default minute.
    opt('slave_net_timeout', 4),
    // The wait point and timeout everywhere, but semi-sync waits only on the primary: the monitor
    // turns it on when it makes a node primary. On a replica it would hold the applier thread
    // (log_slave_updates) waiting for an acknowledgement nobody sends.
    opt('rpl_semi_sync_master_enabled', 'OFF'),
    opt('rpl_semi_sync_master_wait_point', semi.rpl_semi_sync_master_wait_point),
    opt('rpl_semi_sync_master_timeout', semi.rpl_semi_sync_master_timeout),
    opt('rpl_semi_sync_slave_enabled', 'ON'),
  ];
}

/** Spec features MariaDB does not have here: one line each, for a ConfigError. */
export function unsupported(spec: Pick<ClusterSpec, 'topology' | 'regions' | 'backend' | 'replication' | 'storage' | 'nodes'>): string[] {
  const out: string[] = [];
  const r = spec.replication;
  if (spec.backend !== 'process') out.push('backend: only the process backend runs MariaDB');
  if (spec.topology !== 'direct') out.push('topology: only direct (every replica replicates from the primary)');
  if (Object.keys(spec.regions).length > 0) out.push('regions: not supported for MariaDB');
  if (r.mode === 'sync') out.push('replication.mode: sync has no MariaDB equivalent (semi-sync waits for one replica)');
  if (r.mode === 'semi-sync' && r.k !== 1)
    out.push(`replication.k: ${r.k}: MariaDB semi-sync waits for exactly one replica (no rpl_semi_sync_master_wait_for_slave_count)`);
  if (r.mode === 'async' && r.waitPoint !== undefined) out.push('replication.waitPoint: only meaningful with mode semi-sync');
  if (r.ackLevel !== 'flush') out.push('replication.ackLevel: a MariaDB replica acknowledges once the event is in its relay log; only flush');
  if (r.applyDelayMs > 0) out.push('replication.applyDelayMs: not supported for MariaDB');
  if (r.visibility !== 'after-commit') out.push("replication.visibility: use waitPoint after-commit for MariaDB's early visibility");
  if (spec.storage.simulatePowerLoss) out.push('power-loss faults: MariaDB writes through the OS page cache; replab cannot drop it');
  if (spec.nodes.length < 2) out.push('nodes: MariaDB replication needs at least 2 nodes');
  return out;
}

/** A mode in words for the report: semi-sync on or off, its wait point, and what a timeout does. */
export function describeMariadbMode(r: ModeSettings): string {
  if (r.mode === 'async') return "MariaDB: semi-sync off; replab's monitor fails over";
  const until = r.onSyncTimeout === 'degrade' ? `falls back to async after ${String(r.syncTimeoutMs)} ms` : 'blocks (the longest timeout)';
  return `MariaDB: semi-sync ${r.waitPoint === 'after-commit' ? 'AFTER_COMMIT' : 'AFTER_SYNC'}, one replica's ack; ${until}; replab's monitor fails over`;
}
