/** Signals and liveness for OS processes by pid (the process backend's low level). */
import { promises as fsp } from 'node:fs';
import { isPidRunning } from '../lib/pid.js';
import { waitFor } from '../lib/wait.js';

/** True while the pid exists and is not a zombie. */
export async function isRunning(pid: number): Promise<boolean> {
  return isPidRunning(pid);
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL and wait until the process is gone. */
export async function killHard(pid: number): Promise<void> {
  signal(pid, 'SIGCONT');
  if (!signal(pid, 'SIGKILL')) return;
  await waitFor(async () => !(await isRunning(pid)), 5000, 10);
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopGracefully(pid: number, graceMs = 2000): Promise<void> {
  signal(pid, 'SIGCONT');
  if (!signal(pid, 'SIGTERM')) return;
  if (await waitFor(async () => !(await isRunning(pid)), graceMs, 10)) return;
  await killHard(pid);
}

/** Last `n` lines of a log file (for error reports), or '' when unreadable. */
export async function tailFile(file: string, n = 20): Promise<string> {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Every pid whose command line mentions `needle` (a cluster's folder): the catch-all for stopping. */
export async function pidsMentioning(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await fsp.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const cmd = await fsp.readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) out.push(Number(e));
  }
  return out;
}
