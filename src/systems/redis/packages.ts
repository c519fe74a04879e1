/**
 * Finding the Redis system's programs from Debian's packages: redis-server (the data nodes) and
 * redis-sentinel (the failover quorum; the package's binary is redis-server started in Sentinel
 * mode). A missing one is an environment failure (exit 4) naming the package to install.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../../lib/errors.js';

export interface RedisTools {
  server: string;
  sentinel: string;
}

export const INSTALL_HINT = 'apt-get update && apt-get install -y redis-server redis-sentinel';

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

export async function findRedisTools(): Promise<RedisTools> {
  const server = onPath('redis-server');
  const sentinel = onPath('redis-sentinel');
  const missing = [...(server ? [] : ['redis-server']), ...(sentinel ? [] : ['redis-sentinel'])];
  if (missing.length) throw new EnvironmentError(`the redis system needs Debian's ${missing.join(', ')} (missing); install with: ${INSTALL_HINT}`);
  return { server: server!, sentinel: sentinel! };
}

/** Whether the packages are installed (tests skip with one warning line when not, outside CI). */
export async function redisAvailable(): Promise<boolean> {
  return onPath('redis-server') !== undefined && onPath('redis-sentinel') !== undefined;
}
