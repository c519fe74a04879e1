/**
 * Finding the PostgreSQL system's programs from Debian's packages (postgresql, patroni,
 * etcd-server) and the OS user PostgreSQL runs as. A missing piece is an environment failure
 * (exit 4) that names the package to install.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../../lib/errors.js';

export interface PostgresTools {
  /** Folder with postgres, initdb, pg_ctl, pg_rewind … */
  binDir: string;
  patroni: string;
  etcd: string;
  /** uid/gid to run Patroni (and so PostgreSQL) as; undefined when not root (run as ourselves). */
  runAs: { uid: number; gid: number } | undefined;
}

export const INSTALL_HINT = 'apt-get update && apt-get install -y postgresql patroni etcd-server';

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** The newest installed PostgreSQL's bin folder (Debian's layout), or undefined. */
export async function postgresBinDir(): Promise<string | undefined> {
  const root = '/usr/lib/postgresql';
  const versions = (await fsp.readdir(root).catch(() => [] as string[]))
    .filter((v) => existsSync(path.join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

let cached: PostgresTools | undefined;

export async function findPostgresTools(): Promise<PostgresTools> {
  if (cached) return cached;
  const binDir = await postgresBinDir();
  const patroni = onPath('patroni');
  const etcd = onPath('etcd');
  const missing = [...(binDir ? [] : ['postgresql']), ...(patroni ? [] : ['patroni']), ...(etcd ? [] : ['etcd-server'])];
  if (missing.length) throw new EnvironmentError(`the postgres system needs Debian's ${missing.join(', ')} (missing); install with: ${INSTALL_HINT}`);
  cached = { binDir: binDir!, patroni: patroni!, etcd: etcd!, runAs: postgresOsUser() };
  return cached;
}

/** Whether the packages are installed (tests skip with one warning line when not, outside CI). */
export async function postgresAvailable(): Promise<boolean> {
  return (await postgresBinDir()) !== undefined && onPath('patroni') !== undefined && onPath('etcd') !== undefined;
}

/**
 * Who PostgreSQL runs as: it refuses root, so as root the `postgres` user the package creates
 * (EnvironmentError when there is none); otherwise ourselves (undefined).
 */
export function postgresOsUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) };
  } catch {
    throw new EnvironmentError(`running as root, but there is no "postgres" OS user to run PostgreSQL as (the postgresql package creates it): ${INSTALL_HINT}`);
  }
}
