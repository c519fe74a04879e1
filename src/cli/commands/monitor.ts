/** `replab monitor`: health checks, leases and failover for one cluster, in the foreground. */
import type { Command } from 'commander';
import { parseHostPort } from '../../lib/addr.js';
import { UsageError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { stopOnSignals } from '../../lib/signals.js';
import { loadMonitorConfig } from '../../monitor/config.js';
import { startMonitor } from '../../monitor/main.js';

export function registerMonitorCommand(program: Command): void {
  program
    .command('monitor')
    .description('watch a cluster: renew the leader lease, fail over when it dies, serve the current leader')
    .requiredOption('--config <file>', 'monitor config (JSON; `replab cluster up` writes one per cluster)')
    .requiredOption('--state-dir <dir>', 'where the monitor keeps its epoch and events')
    .option('--http <host:port>', 'monitor API address', '127.0.0.1:0')
    .option('--token <token>', 'cluster token (default: $REPLAB_CLUSTER_TOKEN)')
    .action(async (o: { config: string; stateDir: string; http: string; token?: string }) => {
      const listen = parseHostPort(o.http, '--http');
      const token = o.token ?? process.env.REPLAB_CLUSTER_TOKEN;
      if (!token) throw new UsageError('a cluster token is required: --token or $REPLAB_CLUSTER_TOKEN');
      const config = await loadMonitorConfig(o.config);
      const log = createLogger('monitor');
      await stopOnSignals(
        () => startMonitor(config, o.stateDir, token, listen, log),
        (signal) => log.info({ signal }, 'monitor shutting down'),
      );
    });
}
