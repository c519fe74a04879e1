/** `replab node`: run one KV node in the foreground (the cluster backends start these). */
import type { Command } from 'commander';
import { ACK_LEVELS, DEFAULT_COMMIT, type NodeConfig } from '../../kv/config.js';
import { runNodeProcess } from '../../kv/main.js';
import { parseHostPort } from '../../lib/addr.js';
import { UsageError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { REPLICATION_MODES } from '../../lib/modes.js';
import { choiceFlag, intFlag, listFlag } from '../options.js';

/** The flags as commander hands them over: each parser above has already checked its value, defaults filled in. */
interface NodeFlags {
  id: string;
  dataDir: string;
  role: NodeConfig['role'];
  http: string;
  repl: string;
  upstream?: string;
  upstreamId?: string;
  mode: NodeConfig['mode'];
  k: number;
  ack: NodeConfig['ackLevel'];
  applyDelayMs: number;
  syncDelayMs: number;
  simulatePowerLoss?: boolean;
  syncStandbys: string[];
  syncTimeoutMs: number;
  onSyncTimeout: NodeConfig['onSyncTimeout'];
  visibility: NodeConfig['visibility'];
  checkpointBytes: number;
  segmentBytes: number;
  heartbeatMs: number;
  fencing: NodeConfig['fencing'];
  token?: string;
  cluster: string;
}

export function registerNodeCommand(program: Command): void {
  program
    .command('node')
    .description('run one replicated KV node (leader or follower) in the foreground')
    .requiredOption('--id <id>', 'node id, e.g. n1')
    .requiredOption('--data-dir <dir>', 'directory for the WAL, checkpoints and metadata')
    .option('--role <role>', 'leader | follower', choiceFlag('--role', ['leader', 'follower'] as const), 'leader')
    .option('--http <host:port>', 'client API address', '127.0.0.1:0')
    .option('--repl <host:port>', 'replication address', '127.0.0.1:0')
    .option('--upstream <host:port>', 'replication address to follow (followers)')
    .option('--upstream-id <id>', "the upstream's node id (its HELLO is signed for that node)")
    .option('--mode <mode>', 'async | semi-sync | sync', choiceFlag('--mode', REPLICATION_MODES), DEFAULT_COMMIT.mode)
    .option('--k <n>', 'direct followers that must confirm in semi-sync', intFlag('--k', 1), DEFAULT_COMMIT.k)
    .option(
      '--ack <level>',
      'when a follower confirms: write (written, before fdatasync) | flush (after fdatasync) | apply (visible to reads there)',
      choiceFlag('--ack', ACK_LEVELS),
      DEFAULT_COMMIT.ackLevel,
    )
    .option(
      '--apply-delay-ms <ms>',
      'as a follower, apply (make visible) a record only this long after the leader wrote it (replay lag)',
      intFlag('--apply-delay-ms', 0),
      0,
    )
    .option('--sync-delay-ms <ms>', 'wait this long before each fdatasync (a slow disk)', intFlag('--sync-delay-ms', 0), 0)
    .option('--simulate-power-loss', 'keep unsynced WAL bytes in memory until fdatasync, so kill -9 loses them as a power cut would (tests only)')
    .option('--sync-standbys <ids>', 'comma-separated follower ids that sync mode waits for', listFlag, [])
    .option(
      '--sync-timeout-ms <ms>',
      'wait this long for followers before --on-sync-timeout applies',
      intFlag('--sync-timeout-ms', 1),
      DEFAULT_COMMIT.syncTimeoutMs,
    )
    .option('--on-sync-timeout <what>', 'block | degrade', choiceFlag('--on-sync-timeout', ['block', 'degrade'] as const), DEFAULT_COMMIT.onSyncTimeout)
    .option('--visibility <when>', 'after-commit | early', choiceFlag('--visibility', ['after-commit', 'early'] as const), DEFAULT_COMMIT.visibility)
    .option('--checkpoint-bytes <n>', 'checkpoint after this many WAL bytes', intFlag('--checkpoint-bytes', 1), 64 * 1024 * 1024)
    .option('--segment-bytes <n>', 'roll WAL segments past this size', intFlag('--segment-bytes', 1), 16 * 1024 * 1024)
    .option('--heartbeat-ms <ms>', 'replication heartbeat interval', intFlag('--heartbeat-ms', 1), 100)
    .option('--fencing <how>', 'lease (needs a monitor renewing the leader lease) | none', choiceFlag('--fencing', ['lease', 'none'] as const), 'none')
    .option('--token <token>', 'cluster token (default: $REPLAB_CLUSTER_TOKEN)')
    .option('--cluster <name>', "the cluster's name: admin calls must be signed for it", 'replab')
    .action(async (o: NodeFlags) => {
      const http = parseHostPort(o.http, '--http');
      const repl = parseHostPort(o.repl, '--repl');
      const upstream = o.upstream;
      if (upstream) parseHostPort(upstream, '--upstream');
      if (o.role === 'follower' && !upstream) throw new UsageError('--upstream is required with --role follower');
      const upstreamId = o.upstreamId;
      if (upstream && !upstreamId) throw new UsageError("--upstream-id is required with --upstream: the follower's HELLO is signed for that node");
      if (upstreamId !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(upstreamId))
        throw new UsageError(`--upstream-id must be 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(upstreamId)}`);
      const token = o.token ?? process.env.REPLAB_CLUSTER_TOKEN;
      if (!token) throw new UsageError('a cluster token is required: --token or $REPLAB_CLUSTER_TOKEN');
      const cluster = o.cluster;
      if (!/^[A-Za-z0-9_.-]{1,128}$/.test(cluster))
        throw new UsageError(`--cluster must be 1-128 letters, digits, ".", "_" or "-", got ${JSON.stringify(cluster)}`);
      const id = o.id;
      // The id is signed into every admin call meant for this node, in the same alphabet.
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new UsageError(`--id must be 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(id)}`);
      const config: NodeConfig = {
        id,
        cluster,
        dataDir: o.dataDir,
        role: o.role,
        httpHost: http.host,
        httpPort: http.port,
        replHost: repl.host,
        replPort: repl.port,
        upstream,
        upstreamId,
        token,
        mode: o.mode,
        k: o.k,
        ackLevel: o.ack,
        syncStandbys: o.syncStandbys,
        syncTimeoutMs: o.syncTimeoutMs,
        onSyncTimeout: o.onSyncTimeout,
        visibility: o.visibility,
        checkpointBytes: o.checkpointBytes,
        segmentBytes: o.segmentBytes,
        heartbeatMs: o.heartbeatMs,
        fencing: o.fencing,
        applyDelayMs: o.applyDelayMs,
        syncDelayMs: o.syncDelayMs,
        simulatePowerLoss: o.simulatePowerLoss === true,
      };
      await runNodeProcess(config, createLogger(config.id));
    });
}
