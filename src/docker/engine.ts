/**
 * Reaching a Docker engine through dockerode, and starting a private one when none runs: on these
 * machines Debian's dockerd starts as root with its sockets and data under /tmp (no systemd).
 * `DOCKER_HOST` (unix:// or tcp://) is honoured, for any engine on this machine (nodes bind
 * 127.0.0.1 and the monitor and proxy folders are bind mounts, so not for another machine).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, promises as fsp, openSync } from 'node:fs';
import Docker from 'dockerode';
import { EnvironmentError } from '../lib/errors.js';

export const PRIVATE_ROOT = '/tmp/replab-docker';
export const PRIVATE_SOCKET = 'unix:///tmp/replab-docker.sock';

/** A client for DOCKER_HOST, else the default socket, else replab's private engine if it runs. */
export function dockerClient(host = process.env.DOCKER_HOST): Docker {
  if (host?.startsWith('unix://')) return new Docker({ socketPath: host.slice(7) });
  if (host?.startsWith('tcp://')) {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return new Docker({ host: u.hostname, port: Number(u.port || 2375) });
  }
  if (!existsSync('/var/run/docker.sock') && existsSync(PRIVATE_SOCKET.slice(7))) return new Docker({ socketPath: PRIVATE_SOCKET.slice(7) });
  return new Docker();
}

export async function engineAnswers(docker: Docker): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts dockerd with its socket, data and exec roots under /tmp unless an engine already answers;
 * returns the DOCKER_HOST to use and whether this call started it.
 */
export async function ensureEngine(): Promise<{ host: string; started: boolean }> {
  if (process.env.DOCKER_HOST && (await engineAnswers(dockerClient()))) return { host: process.env.DOCKER_HOST, started: false };
  if (existsSync('/var/run/docker.sock') && (await engineAnswers(new Docker()))) return { host: 'unix:///var/run/docker.sock', started: false };
  const priv = new Docker({ socketPath: PRIVATE_SOCKET.slice(7) });
  if (await engineAnswers(priv)) return { host: PRIVATE_SOCKET, started: false };
  await fsp.mkdir(PRIVATE_ROOT, { recursive: true });
  const log = openSync(`${PRIVATE_ROOT}/dockerd.log`, 'a');
  const child = spawn(
    'dockerd',
    ['--host', PRIVATE_SOCKET, '--data-root', `${PRIVATE_ROOT}/data`, '--exec-root', `${PRIVATE_ROOT}/exec`, '--pidfile', `${PRIVATE_ROOT}/dockerd.pid`],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  let failed: string | undefined;
  child.once('error', (e) => (failed = e.message));
  child.unref();
  for (let i = 0; i < 150 && !failed; i++) {
    if (await engineAnswers(priv)) return { host: PRIVATE_SOCKET, started: true };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new EnvironmentError(
    `dockerd did not start${failed ? `: ${failed}` : ' within 30 s'} (log: ${PRIVATE_ROOT}/dockerd.log; it needs root and Debian's docker.io)`,
  );
}

/** Stops replab's private dockerd, if it runs. */
export async function stopPrivateEngine(): Promise<boolean> {
  const pid = Number(await fsp.readFile(`${PRIVATE_ROOT}/dockerd.pid`, 'utf8').catch(() => '0'));
  if (!pid) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}
