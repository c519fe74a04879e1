/** `replab router`: one HTTP port that sends writes to the current leader and reads where its read policy says. */
import { type Command, Option } from 'commander';
import { parseHostPort } from '../../lib/addr.js';
import { EnvironmentError, errnoCode, HarnessError, UsageError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { formatReadPolicy, POLICY_NAMES, parseReadsSetting, type ReadPolicy } from '../../lib/read-consistency.js';
import { stopOnSignals } from '../../lib/signals.js';
import { Router } from '../../router/router.js';
import { intFlag } from '../options.js';

/** `--reads`: a read policy, or `leader` / `followers` (leader-only / round-robin). */
function readsFlag(value: string): ReadPolicy {
  const p = parseReadsSetting(value);
  if (!p.ok) throw new UsageError(`--reads ${p.error}`);
  return p.value;
}

export function registerRouterCommand(program: Command): void {
  program
    .command('router')
    .description('HTTP router in front of a cluster: writes to the leader the monitor names, reads where the read policy sends them')
    .option('--monitor <host:port>', "the cluster monitor's API (cluster.json: monitor.http)")
    .option(
      '--cluster <name>',
      'a cluster started by replab: its monitor, and its nodes through their client: proxy links (so client faults cut the router too)',
    )
    .option('--state-dir <dir>', 'where --cluster keeps its state', '.replab')
    .option('--http <host:port>', 'address to listen on', '127.0.0.1:0')
    .addOption(
      new Option(
        '--reads <policy>',
        `where reads go: ${POLICY_NAMES.join(' | ')} (leader and followers: leader-only and round-robin); with session, clients carry their token in x-replab-session`,
      )
        .argParser(readsFlag)
        .default({ kind: 'leader-only' } satisfies ReadPolicy, 'leader-only'),
    )
    .option('--timeout-ms <ms>', 'how long one request may spend being retried on a new leader', intFlag('--timeout-ms', 1), 10_000)
    .action(async (o: { monitor?: string; cluster?: string; stateDir: string; http: string; reads: ReadPolicy; timeoutMs: number }) => {
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
      const { address } = await stopOnSignals(async () => {
        const at = await router.listen(listen.host, listen.port).catch((e: unknown) => {
          // A port that cannot be bound is the environment's; anything else keeps its own kind (a bug stays exit 5).
          const code = errnoCode(e);
          if (!(e instanceof HarnessError) && typeof code === 'string' && code.startsWith('E'))
            throw new EnvironmentError(`cannot serve the router on ${o.http}: ${code}`);
          throw e;
        });
        return { address: at, stop: () => router.close() };
      });
      log.info({ http: address, reads: formatReadPolicy(o.reads) }, 'router listening');
      console.log(`router listening on ${address}`);
    });
}
