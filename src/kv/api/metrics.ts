/** /metrics: the node's status as Prometheus text exposition (version 0.0.4). */
import type { NodeStatus } from '../node/status.js';

export function renderMetrics(status: NodeStatus): string {
  const lines: string[] = [];
  const id = status.id;
  const gauge = (name: string, help: string, samples: Array<[Record<string, string>, number]>, type = 'gauge') => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries({ node: id, ...labels })
        .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
        .join(',');
      lines.push(`${name}{${l}} ${value}`);
    }
  };
  gauge('replab_is_leader', '1 when this node is the leader.', [[{}, status.role === 'leader' ? 1 : 0]]);
  gauge('replab_epoch', 'Current epoch.', [[{}, status.epoch]]);
  gauge('replab_last_lsn', 'Last LSN appended to the WAL.', [[{}, status.lastLsn]]);
  gauge('replab_flushed_lsn', 'Last LSN made durable by fdatasync.', [[{}, status.flushedLsn]]);
  gauge('replab_commit_lsn', 'Last LSN committed under the replication mode.', [[{}, status.commitLsn]]);
  gauge('replab_applied_lsn', 'Last LSN visible to reads on this node.', [[{}, status.appliedLsn]]);
  gauge('replab_degraded', '1 while a semi-sync/sync leader has fallen back to async.', [[{}, status.degraded ? 1 : 0]]);
  gauge('replab_fsyncs_total', 'fdatasync calls on the WAL.', [[{}, status.fsyncs]], 'counter');
  gauge('replab_writes_total', 'Writes accepted by this node as leader.', [[{}, status.writes]], 'counter');
  const followers = status.followers;
  gauge(
    'replab_follower_flushed_lsn',
    'Last LSN a direct follower reported flushed.',
    followers.map((f) => [{ follower: f.id }, f.flushedLsn]),
  );
  gauge(
    'replab_follower_applied_lsn',
    'Last LSN a direct follower reported applied.',
    followers.map((f) => [{ follower: f.id }, f.appliedLsn]),
  );
  gauge(
    'replab_follower_lag_records',
    'Records a direct follower has yet to apply.',
    followers.map((f) => [{ follower: f.id }, f.lagRecords]),
  );
  gauge(
    'replab_follower_lag_ms',
    'Age of the oldest record a direct follower has yet to apply.',
    followers.map((f) => [{ follower: f.id }, f.lagMs]),
  );
  gauge(
    'replab_follower_connected',
    '1 while a direct follower is connected and acking.',
    followers.map((f) => [{ follower: f.id }, f.connected ? 1 : 0]),
  );
  return `${lines.join('\n')}\n`;
}
