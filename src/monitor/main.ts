/**
 * Running the monitor as a process: load its config, start probing, serve its API, and write
 * `endpoint.json` (pid, http) into the state dir so a supervisor can find it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../lib/durable-file.js';
import type { Logger } from '../lib/log.js';
import type { MonitorConfig } from './config.js';
import { Monitor } from './monitor.js';
import { MonitorApi } from './server.js';

export const MONITOR_ENDPOINT_FILE = 'endpoint.json';

export async function startMonitor(
  config: MonitorConfig,
  stateDir: string,
  token: string,
  listen: { host: string; port: number },
  log: Logger,
): Promise<{ monitor: Monitor; http: string; stop(): Promise<void> }> {
  await fsp.mkdir(stateDir, { recursive: true });
  const monitor = new Monitor(config, stateDir, token, log);
  await monitor.start();
  const api = new MonitorApi(monitor, token);
  const http = await api.listen(listen.host, listen.port);
  const file = path.join(stateDir, MONITOR_ENDPOINT_FILE);
  await writeFileAtomic(file, JSON.stringify({ pid: process.pid, http }));
  log.info({ http, leader: monitor.state.leader, epoch: monitor.state.epoch }, 'monitor listening');
  return {
    monitor,
    http,
    stop: async () => {
      await api.close();
      await monitor.stop();
    },
  };
}
