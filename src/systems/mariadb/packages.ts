/**
 * Finding the MariaDB system's programs (Debian's mariadb-server and mariadb-client) and the OS
 * user the servers run as. A missing piece is an environment failure (exit 4) naming the package.
 */

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../../lib/errors.js';

export interface MariadbTools {
  mariadbd: string;
  installDb: string;
  /** The command-line client (loads a dump into a node being re-cloned). */
  client: string;
  dump: string;
  binlog: string;
  /** uid/gid to run mariadbd as; undefined when not root (run as ourselves). */
  runAs: { uid: number; gid: number } | undefined;
}

export const INSTALL_HINT = 'apt-get update && apt-get install -y mariadb-server mariadb-client';

function find(cmd: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin']) {
    const p = path.join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

const PROGRAMS = { mariadbd: 'mariadbd', installDb: 'mariadb-install-db', client: 'mariadb', dump: 'mariadb-dump', binlog: 'mariadb-binlog' } as const;

let cached: MariadbTools | undefined;

export function findMariadbTools(): MariadbTools {
  if (cached) return cached;
  const found = Object.fromEntries(Object.entries(PROGRAMS).map(([k, cmd]) => [k, find(cmd)])) as Record<keyof typeof PROGRAMS, string | undefined>;
  const missing = Object.entries(found)
    .filter(([, p]) => !p)
    .map(([k]) => PROGRAMS[k as keyof typeof PROGRAMS]);
  if (missing.length)
    throw new EnvironmentError(`the mariadb system needs Debian's mariadb-server (missing: ${missing.join(', ')}); install with: ${INSTALL_HINT}`);
  cached = { ...(found as Record<keyof typeof PROGRAMS, string>), runAs: mysqlOsUser() };
  return cached;
}

/** Whether the package is installed (tests skip with one warning line when not, outside CI). */
export function mariadbAvailable(): boolean {
  return Object.values(PROGRAMS).every((cmd) => find(cmd) !== undefined);
}

/**
 * Who mariadbd runs as: as root, the `mysql` user the package creates (EnvironmentError when there
 * is none), so that a server never runs with root's rights; otherwise ourselves (undefined).
 */
export function mysqlOsUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return { uid: Number(execFileSync('id', ['-u', 'mysql']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'mysql']).toString().trim()) };
  } catch {
    throw new EnvironmentError(`running as root, but there is no "mysql" OS user to run MariaDB as (the mariadb-server package creates it): ${INSTALL_HINT}`);
  }
}
