/**
 * docker-compose.yml as a user runs it: `docker-compose config` accepts it, `up -d` brings up
 * n1, n2, n3, the monitor and the proxy from the replab image, a short register workload runs
 * against it through the cluster client, and its history checks linearizable. Always `down -v`.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/checker/checker.js';
import { ClusterClient } from '../../src/client/client.js';
import { closeKvClients } from '../../src/client/kv-http.js';
import { PRIVATE_SOCKET } from '../../src/docker/engine.js';
import { loadHistory } from '../../src/history/reader.js';
import { HistoryRecorder } from '../../src/history/recorder.js';
import { projectRoot, readVersion } from '../../src/lib/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { KvDataClient } from '../../src/systems/replab/kv-data-client.js';
import { createWorkload, drive, recordFinalReads } from '../../src/workloads/driver.js';
import { parseWorkloadSpec } from '../../src/workloads/spec.js';

const run = promisify(execFile);
const env = {
  ...process.env,
  DOCKER_HOST: process.env.DOCKER_HOST ?? PRIVATE_SOCKET,
  REPLAB_VERSION: readVersion(),
  COMPOSE_PROJECT_NAME: `replab${process.pid}`,
};
const compose = (...args: string[]) =>
  run('docker-compose', ['-f', path.join(projectRoot(), 'docker-compose.yml'), ...args], { env, cwd: projectRoot(), timeout: 120_000 });

describe('docker-compose.yml', () => {
  it('validates, comes up, and a register workload against it is linearizable', async () => {
    const config = await compose('config');
    for (const service of ['n1', 'n2', 'n3', 'monitor', 'proxy']) expect(config.stdout).toMatch(new RegExp(`^  ${service}:$`, 'm'));
    expect(config.stdout).toContain(`image: replab:${readVersion()}`);
    try {
      await compose('up', '-d');
      const nodes = [1, 2, 3].map((i) => ({ id: `n${i}`, http: `127.0.0.1:2710${i}` }));
      const healthy = await waitFor(
        async () => {
          try {
            const st = (await (await fetch('http://127.0.0.1:27300/status', { signal: AbortSignal.timeout(500) })).json()) as {
              nodes: Array<{ reachable: boolean }>;
              leader: string;
            };
            return st.leader === 'n1' && st.nodes.every((n) => n.reachable);
          } catch {
            return false;
          }
        },
        60_000,
        200,
      );
      expect(healthy).toBe(true);
      expect((await fetch('http://127.0.0.1:8474/version')).status).toBe(200);
      const spec = parseWorkloadSpec({ workload: 'register', keys: 4, concurrency: 4, rateOpsPerSec: 200, durationSec: 4, timeoutMs: 2000 }, 'test');
      const targets = new KvDataClient(new ClusterClient({ nodes, monitor: '127.0.0.1:27300', leaderId: 'n1' }));
      await targets.refresh();
      const file = path.join(os.tmpdir(), `replab-compose-${process.pid}.jsonl`);
      const recorder = new HistoryRecorder(file);
      const workload = createWorkload(spec);
      const stats = await drive({ spec, workload, client: targets, recorder });
      await recordFinalReads(workload, targets, recorder);
      await recorder.close();
      expect(stats.ok).toBeGreaterThan(100);
      const result = checkHistory(await loadHistory(file), { model: 'register' });
      expect(result.valid).toBe(true);
      await fsp.rm(file, { force: true });
    } finally {
      closeKvClients();
      await compose('down', '-v').catch(() => {});
    }
  });
});
