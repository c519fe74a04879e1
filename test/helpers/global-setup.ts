/**
 * Every process a test starts must stop when the test run ends, also when a test failed or the
 * runner was interrupted before its afterAll ran. Tests create clusters under TEST_STATE_ROOT;
 * teardown SIGKILLs every pid any cluster.json there still lists (nodes and monitor), and every
 * process whose command line names a folder there, then removes the folder.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidsMentioning } from '../../src/cluster/process-control.js';

export const TEST_STATE_ROOT = path.join(os.tmpdir(), `replab-test-${process.pid}`);

export async function setup(): Promise<void> {
  process.env.REPLAB_TEST_STATE_ROOT = TEST_STATE_ROOT;
  process.env.REPLAB_LOG_LEVEL ??= 'info';
  await fsp.mkdir(TEST_STATE_ROOT, { recursive: true });
}

export async function teardown(): Promise<void> {
  const pids: number[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name === 'cluster.json') {
        const c = JSON.parse(await fsp.readFile(p, 'utf8')) as {
          nodes: Array<{ pid: number }>;
          monitor?: { pid: number };
          proxy?: { pid: number };
          pids?: number[];
        };
        pids.push(...c.nodes.map((n) => n.pid));
        if (c.monitor) pids.push(c.monitor.pid);
        if (c.proxy?.pid) pids.push(c.proxy.pid);
        pids.push(...(c.pids ?? []));
      }
    }
  };
  await walk(TEST_STATE_ROOT);
  // PostgreSQL's postmaster and backends are nobody's listed pid: anything whose command line
  // names a folder under the test state root (its data dir, its config) goes too.
  pids.push(...(await pidsMentioning(TEST_STATE_ROOT)));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (!process.env.REPLAB_KEEP_TEST_STATE) await fsp.rm(TEST_STATE_ROOT, { recursive: true, force: true });
}
