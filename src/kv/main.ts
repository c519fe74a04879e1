/**
 * Starting and stopping a node: recovery, the replication port, the HTTP API, and an
 * `endpoint.json` in the data dir that says where it listens (so a supervisor can start it on
 * port 0 and learn the ports). `runNodeProcess` adds what a standalone process needs: the data dir
 * lock, signal handling, and exiting on a fatal WAL error.
 */
import path from 'node:path';
import { HttpApi } from './api/server.js';
import { lockDataDir } from './data-dir.js';
import { KvNode } from './node/node.js';
import { MetaError } from './state/meta.js';
import { SnapshotError } from './state/snapshot.js';
import { WalCorruptionError } from './wal/segment-format.js';

/** What to do when a node's data dir is damaged (printed with the refusal). */
export const DAMAGED_DATA_ADVICE =
  'To recover, move the data dir aside and start the node empty as a follower: it bootstraps from the leader (or restore the dir from a backup).';

import { writeFileAtomic } from '../lib/durable-file.js';
import { EnvironmentError, ExitCode, errnoCode, toError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { stopOnSignals } from '../lib/signals.js';
import type { NodeConfig } from './config.js';

export interface RunningNode {
  node: KvNode;
  http: string;
  repl: string;
  stop(): Promise<void>;
}

export const ENDPOINT_FILE = 'endpoint.json';

export async function startNode(config: NodeConfig, log: Logger): Promise<RunningNode> {
  const node = new KvNode(config, log);
  try {
    await node.open();
  } catch (e: unknown) {
    await node.close().catch(() => {});
    // Damaged data is refused loudly: one line naming the file (and offset), and what to do.
    if (e instanceof WalCorruptionError || e instanceof SnapshotError || e instanceof MetaError)
      throw new EnvironmentError(`${e.message}; refusing to start. ${DAMAGED_DATA_ADVICE}`);
    throw e;
  }
  const api = new HttpApi(node);
  node.httpAddress = await api.listen(config.httpHost, config.httpPort);
  const endpoint = { id: config.id, pid: process.pid, http: node.httpAddress, repl: node.replAddress };
  const file = path.join(config.dataDir, ENDPOINT_FILE);
  await writeFileAtomic(file, JSON.stringify(endpoint)).catch(async (e: unknown) => {
    await api.close();
    await node.close();
    throw e;
  });
  log.info({ ...endpoint, role: node.roleName, mode: config.mode, upstream: config.upstream }, 'node listening');
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await api.close();
      await node.close();
    })());
  return { node, http: node.httpAddress, repl: node.replAddress, stop };
}

/** The errors of a disk that is full, read-only or failing: an environment problem, not a bug. */
const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS']);

function diskError(e: unknown, dataDir: string): unknown {
  const code = errnoCode(e);
  if (code && DISK_ERRORS.has(code))
    return new EnvironmentError(`cannot start on data dir ${dataDir}: ${code} (${toError(e).message}); free space or fix the disk, then start again`);
  return e;
}

export async function runNodeProcess(config: NodeConfig, log: Logger): Promise<void> {
  const running = await stopOnSignals(
    async () => {
      const unlock = await lockDataDir(config.dataDir).catch((e: unknown) => {
        const d = diskError(e, config.dataDir);
        throw d instanceof EnvironmentError ? d : new EnvironmentError(toError(e).message);
      });
      const started = await startNode(config, log).catch(async (e: unknown) => {
        await unlock();
        throw diskError(e, config.dataDir);
      });
      return {
        ...started,
        stop: async () => {
          await started.stop();
          await unlock();
        },
      };
    },
    (signal) => log.info({ signal }, 'shutting down'),
  );
  running.node.on('fatal', (e: Error) => {
    // A WAL that failed to fsync cannot be trusted again in this process: stop, let a restart recover.
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(ExitCode.environment);
  });
}
