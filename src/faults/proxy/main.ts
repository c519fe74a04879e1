/** Running `replab proxy` as a process: serve the API, write endpoint.json (pid, api) into a state dir if given. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../lib/durable-file.js';
import type { Logger } from '../../lib/log.js';
import { ProxyApi } from './api.js';

export async function startProxyServer(host: string, port: number, stateDir: string | undefined, log: Logger): Promise<{ api: string; stop(): Promise<void> }> {
  const server = new ProxyApi();
  const api = await server.listen(host, port);
  if (stateDir) {
    await fsp.mkdir(stateDir, { recursive: true });
    const file = path.join(stateDir, 'endpoint.json');
    await writeFileAtomic(file, JSON.stringify({ pid: process.pid, http: api }));
  }
  log.info({ api }, 'proxy API listening');
  return { api, stop: () => server.close() };
}
