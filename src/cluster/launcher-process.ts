/** The process backend's launcher: detached child processes that write endpoint.json when ready. */
import { spawn } from 'node:child_process';
import { closeSync, promises as fsp, openSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { cliEntry } from '../lib/paths.js';
import { waitFor } from '../lib/wait.js';
import { type Launched, LaunchedSchema, type Launcher, type LaunchOptions } from './launcher.js';
import { isRunning, killHard, signal, stopGracefully, tailFile } from './process-control.js';

const ENDPOINT_FILE = 'endpoint.json';

/**
 * Extra Node.js flags for every process of a cluster, from REPLAB_NODE_FLAGS (space-separated),
 * for profiling a live cluster: `REPLAB_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`. Node
 * refuses --cpu-prof in NODE_OPTIONS, so this is how a node under load gets profiled.
 */
function nodeFlags(): string[] {
  return (process.env.REPLAB_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f.startsWith('--'));
}

export class ProcessLauncher implements Launcher {
  constructor(private readonly token: string) {}

  async start(what: string, args: string[], o: LaunchOptions): Promise<Launched> {
    await fsp.mkdir(o.dir, { recursive: true });
    await fsp.rm(path.join(o.dir, ENDPOINT_FILE), { force: true });
    const fd = openSync(o.logFile, 'a');
    const child = spawn(process.execPath, [...nodeFlags(), cliEntry(), ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...o.env, REPLAB_CLUSTER_TOKEN: this.token },
    });
    closeSync(fd);
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new EnvironmentError(`${what}: could not spawn ${process.execPath}`, { logPath: o.logFile });
    let exited = false;
    child.once('exit', () => (exited = true));
    let endpoint: Launched | undefined;
    await waitFor(async () => {
      if (exited) return true;
      try {
        const e = LaunchedSchema.safeParse(JSON.parse(await fsp.readFile(path.join(o.dir, ENDPOINT_FILE), 'utf8')));
        if (e.success && e.data.pid === pid) endpoint = e.data;
      } catch {
        // not written yet
      }
      return endpoint !== undefined;
    }, 15_000);
    if (!endpoint) {
      await killHard(pid);
      throw new EnvironmentError(`${o.kind === 'node' ? `node ${what}` : what} ${exited ? 'exited during start-up' : 'did not start within 15 s'}`, {
        logPath: o.logFile,
        recentOutput: await tailFile(o.logFile),
      });
    }
    return endpoint;
  }

  kill(_what: string, pid: number): Promise<void> {
    return killHard(pid);
  }

  async pause(what: string, pid: number): Promise<void> {
    if (!(await isRunning(pid))) throw new UsageError(`node ${what} is not running`);
    signal(pid, 'SIGSTOP');
  }

  async resume(_what: string, pid: number): Promise<void> {
    signal(pid, 'SIGCONT');
  }

  isRunning(_what: string, pid: number): Promise<boolean> {
    return isRunning(pid);
  }

  stop(_what: string, pid: number): Promise<void> {
    return stopGracefully(pid);
  }
}
