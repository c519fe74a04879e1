/** `replab router`: one HTTP port that sends writes to the current leader and reads where told. */
import type { Command } from 'commander';
import { parseHostPort } from '../../lib/addr.js';
import { EnvironmentError, HarnessError, UsageError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { Router } from '../../router/router.js';
import { choiceFlag, intFlag } from '../options.js';

export function registerRouterCommand(program: Command): void {
  program
    .command('router')
    .description('HTTP router in front of a cluster: writes to the leader the monitor names, reads to the leader or followers')
    .option('--monitor <host:port>', "the cluster monitor's API (cluster.json: monitor.http)")
    .option(
      '--cluster <name>',
      'a cluster started by replab: its monitor, and its nodes through their client: proxy links (so client faults cut the router too)',
    )
    .option('--state-dir <dir>', 'where --cluster keeps its state', '.replab')
    .option('--http <host:port>', 'address to listen on', '127.0.0.1:0')
    .option('--reads <where>', 'leader | followers', choiceFlag('--reads', ['leader', 'followers'] as const), 'leader')
    .option('--timeout-ms <ms>', 'how long one request may spend being retried on a new leader', intFlag('--timeout-ms', 1), 10_000)
    .action(async (o: { monitor?: string; cluster?: string; stateDir: string; http: string; reads: 'leader' | 'followers'; timeoutMs: number }) => {
      if ((o.monitor === undefined) === (o.cluster === undefined)) throw new UsageError('give exactly one of --monitor <host:port> or --cluster <name>');
      let monitor = o.monitor;
      let aliases: Record<string, string> | undefined;
      if (o.cluster !== undefined) {
        const { ReplabCluster } = await import('../../cluster/replab-cluster.js');
        const cluster = await ReplabCluster.attach(o.cluster, o.stateDir);
        monitor = cluster.monitorHttp; // throws a UsageError when the cluster has no monitor
        aliases = cluster.clientAliases();
      }
      parseHostPort(monitor!, '--monitor');
      const listen = parseHostPort(o.http, '--http');
      const log = createLogger('router');
      const router = new Router({ monitor: monitor!, aliases, reads: o.reads, timeoutMs: o.timeoutMs }, log);
      const address = await router.listen(listen.host, listen.port).catch((e: unknown) => {
        // A port that cannot be bound is the environment's; anything else keeps its own kind (a bug stays exit 5).
        const code = (e as NodeJS.ErrnoException).code;
        if (!(e instanceof HarnessError) && typeof code === 'string' && code.startsWith('E'))
          throw new EnvironmentError(`cannot serve the router on ${o.http}: ${code}`);
        throw e;
      });
      log.info({ http: address, reads: o.reads }, 'router listening');
      console.log(`router listening on ${address}`);
      const shutdown = async () => {
        await router.close();
        process.exit(0);
      };
      process.on('SIGTERM', () => void shutdown());
      process.on('SIGINT', () => void shutdown());
    });
}
