/**
 * The docker backend's launcher, through dockerode: one container per node, monitor and proxy,
 * all on the host network binding 127.0.0.1 (no bridge networks), labelled with the cluster.
 *
 * A node's data dir is a named volume (`replab-<cluster>-<node>`) mounted at the same path the
 * process backend would use, so the node's arguments do not change; the monitor's and proxy's
 * state dirs are bind-mounted at the same path (the harness reads their events and config).
 * Ports are chosen before the first start (port 0 cannot be learnt through a volume) and kept in
 * the container's command, so a restart — starting the same container again — comes back at the
 * same addresses. kill = SIGKILL, pause = the freezer (docker pause), logs are copied to the
 * cluster's log files when a container stops for good, and so is a node's data dir (into the
 * host path of its data dir), so run folders keep it as they do on the process backend.
 */

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { extract as tarExtract } from 'tar';
import { dockerClient } from '../docker/engine.js';
import { imageTag } from '../docker/image.js';
import { freePort } from '../lib/addr.js';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { waitFor } from '../lib/wait.js';
import type { Launched, Launcher, LaunchOptions } from './launcher.js';

export const CLUSTER_LABEL = 'org.replab.cluster';

async function pinPorts(args: string[]): Promise<string[]> {
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    if ((out[i] === '--http' || out[i] === '--repl') && out[i + 1] === '127.0.0.1:0') out[i + 1] = `127.0.0.1:${await freePort()}`;
    if (out[i] === '--port' && out[i + 1] === '0') out[i + 1] = String(await freePort());
  }
  return out;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export class DockerLauncher implements Launcher {
  private readonly docker: Docker = dockerClient();

  constructor(
    private readonly cluster: string,
    private readonly token: string,
  ) {}

  private containerName(what: string): string {
    return `replab-${this.cluster}-${what}`;
  }

  private container(what: string): Docker.Container {
    return this.docker.getContainer(this.containerName(what));
  }

  async start(what: string, args: string[], o: LaunchOptions): Promise<Launched> {
    const existing = await this.container(what)
      .inspect()
      .catch(() => undefined);
    let cmd: string[];
    if (existing) {
      cmd = existing.Config.Cmd ?? [];
      if (!existing.State.Running) await this.container(what).start();
    } else {
      await fsp.mkdir(o.dir, { recursive: true });
      cmd = await pinPorts(args);
      const mounts =
        o.kind === 'node'
          ? [{ Type: 'volume' as const, Source: `${this.containerName(what)}-data`, Target: o.dir }]
          : [{ Type: 'bind' as const, Source: o.dir, Target: o.dir }];
      const c = await this.docker
        .createContainer({
          name: this.containerName(what),
          Image: imageTag(),
          Cmd: cmd,
          Env: [`REPLAB_CLUSTER_TOKEN=${this.token}`],
          Labels: { [CLUSTER_LABEL]: this.cluster, 'org.replab.role': o.kind, 'org.replab.name': what },
          HostConfig: { NetworkMode: 'host', Mounts: mounts },
        })
        .catch((e: Error) => {
          throw new EnvironmentError(
            `docker: cannot create ${this.containerName(what)}: ${e.message}${/No such image/.test(e.message) ? ' (run "replab image build" first)' : ''}`,
          );
        });
      await c.start();
    }
    const http = o.kind === 'proxy' ? `127.0.0.1:${flag(cmd, '--port')}` : flag(cmd, '--http')!;
    const repl = flag(cmd, '--repl');
    const probe = o.kind === 'proxy' ? '/version' : '/status';
    const ok = await waitFor(
      async () => {
        try {
          return (await fetch(`http://${http}${probe}`, { signal: AbortSignal.timeout(500) })).status < 500;
        } catch {
          return false;
        }
      },
      30_000,
      100,
    );
    const info = await this.container(what).inspect();
    if (!ok) {
      await this.copyLogs(what, o.logFile);
      throw new EnvironmentError(`container ${this.containerName(what)} did not serve ${http} within 30 s (state ${info.State.Status}; logs in ${o.logFile})`);
    }
    return { pid: info.State.Pid, http, repl };
  }

  async kill(what: string): Promise<void> {
    const c = this.container(what);
    const info = await c.inspect().catch(() => undefined);
    if (!info?.State.Running) return;
    if (info.State.Paused) await c.unpause();
    await c.kill({ signal: 'SIGKILL' }).catch(() => {});
    await waitFor(async () => !(await c.inspect()).State.Running, 10_000, 50);
  }

  async pause(what: string): Promise<void> {
    const info = await this.container(what)
      .inspect()
      .catch(() => undefined);
    if (!info?.State.Running) throw new UsageError(`node ${what} is not running`);
    await this.container(what).pause();
  }

  async resume(what: string): Promise<void> {
    const info = await this.container(what)
      .inspect()
      .catch(() => undefined);
    if (info?.State.Paused) await this.container(what).unpause();
  }

  async isRunning(what: string): Promise<boolean> {
    const info = await this.container(what)
      .inspect()
      .catch(() => undefined);
    return !!info?.State.Running;
  }

  async stop(what: string, _pid: number, o: { clean?: boolean; logFile?: string }): Promise<void> {
    const c = this.container(what);
    const info = await c.inspect().catch(() => undefined);
    if (!info) {
      if (o.clean)
        await this.docker
          .getVolume(`${this.containerName(what)}-data`)
          .remove()
          .catch(() => {});
      return;
    }
    if (info.State.Paused) await c.unpause().catch(() => {});
    await c.stop({ t: 2 }).catch(() => {});
    if (o.logFile) await this.copyLogs(what, o.logFile);
    if (info.Config.Labels?.['org.replab.role'] === 'node') await this.copyDataDir(c, info);
    await c.remove({ force: true }).catch(() => {});
    if (o.clean)
      await this.docker
        .getVolume(`${this.containerName(what)}-data`)
        .remove()
        .catch(() => {});
  }

  /**
   * Copies the node's data dir (WAL, checkpoint, meta, rewound.jsonl) out of its volume to the same
   * path on the host, so the run keeps the node's final log as evidence, as on the process backend.
   */
  private async copyDataDir(c: Docker.Container, info: Docker.ContainerInspectInfo): Promise<void> {
    const dataDir = info.Mounts.find((m) => m.Type === 'volume')?.Destination;
    if (!dataDir) return;
    const archive = await c.getArchive({ path: dataDir }).catch(() => undefined);
    if (!archive) return;
    await fsp.mkdir(path.dirname(dataDir), { recursive: true });
    await pipeline(archive, tarExtract({ cwd: path.dirname(dataDir) })).catch(() => {});
  }

  private async copyLogs(what: string, file: string): Promise<void> {
    const buf = (await this.container(what)
      .logs({ stdout: true, stderr: true, follow: false })
      .catch(() => undefined)) as Buffer | undefined;
    if (!buf) return;
    // Non-TTY container logs are multiplexed: 8-byte headers (stream, 0, 0, 0, size) before each chunk.
    const parts: Buffer[] = [];
    for (let o = 0; o + 8 <= buf.length; ) {
      const size = buf.readUInt32BE(o + 4);
      parts.push(buf.subarray(o + 8, o + 8 + size));
      o += 8 + size;
    }
    await fsp.writeFile(file, Buffer.concat(parts));
  }
}

/** Removes every container and volume labelled for `cluster` (a backstop after a crash). */
export async function removeClusterContainers(cluster: string): Promise<number> {
  const docker = dockerClient();
  const list = await docker.listContainers({ all: true, filters: { label: [`${CLUSTER_LABEL}=${cluster}`] } });
  for (const c of list)
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  return list.length;
}
