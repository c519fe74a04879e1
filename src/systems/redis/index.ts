/**
 * Redis with Sentinel as a system under test (Debian's redis-server and redis-sentinel): one
 * primary and N-1 replicas, each with its own AOF, and three Sentinels that fail over when two of
 * them see the primary down. Everything on 127.0.0.1 and free ports, data in
 * `<state>/<cluster>/nodes/<id>/`, Sentinels in `<state>/<cluster>/sentinels/<sN>/`.
 *
 * Links through the cluster's fault proxy:
 *   monitor:n1   every connection the cluster makes into n1: the Sentinels' monitoring and the
 *                replicas' replication stream. Redis gives a node one address (the one it
 *                announces with replica-announce-ip/port); Sentinel learns it from the primary,
 *                uses it itself and hands it to replicas as their new upstream after a failover,
 *                so monitoring and replication into a node cannot be cut apart. A partition with
 *                `cut: [monitor]` (or [repl, monitor]) therefore cuts a node off from both, and a
 *                `links: repl` fault has no Redis link to act on.
 *   client:n1    clients to n1 (the workload's commands and final reads)
 * Clients ask the Sentinels directly for the primary (like replab's client asks its monitor).
 *
 * Faults: kill = SIGKILL of the node's redis-server; pause = SIGSTOP; restart = kill, then start
 * on the same data dir and config (which Sentinel rewrites when it repoints the node). Loss is
 * judged from the final reads; each node's AOF is kept as evidence (aof.ts), and the failovers the
 * Sentinels logged go to the run's event sink as `promoted` events (events.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, promises as fsp, openSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { isRunning, killHard, pidsMentioning, stopGracefully, tailFile } from '../../cluster/process-control.js';
import type { ClusterSpec } from '../../cluster/spec.js';
import { clientLink, monitorLink } from '../../faults/links.js';
import type { Toxiproxy } from '../../faults/toxiproxy.js';
import { freePort } from '../../lib/addr.js';
import { onInterrupt } from '../../lib/cleanup.js';
import { writeFileAtomic } from '../../lib/durable-file.js';
import { ConfigError, EnvironmentError, UsageError } from '../../lib/errors.js';
import { waitFor } from '../../lib/wait.js';
import { DISCARD_EVENTS, type EventSink } from '../events.js';
import { type FaultProxy, faultProxy } from '../fault-proxy.js';
import { pauseProcess, resumeProcess } from '../processes.js';
import type { LagSample, SystemOptions, SystemUnderTest } from '../system.js';
import { aofSentence, keepAofEvidence } from './aof.js';
import { askSentinels, RedisDataClient, type RedisNodeAddr } from './client.js';
import { failoversFromLogs } from './events.js';
import { parseReplicationInfo } from './info.js';
import { MASTER_NAME, nodeConfig, type RedisSettings, redisSettings, SENTINELS, sentinelConfig, unsupported } from './mapping.js';
import { findRedisTools, type RedisTools } from './packages.js';

interface Proc {
  id: string;
  port: number;
  dir: string;
  config: string;
  logFile: string;
  pid: number;
}

/** What keepArtefacts answers for every node: Redis keeps no replab log. */
export const NO_LOG = "Redis keeps an AOF, not replab's log: loss is judged from the final reads (the AOF is kept in aof/<node>/)";

/** One command on a local port, straight to the process (no proxy); undefined on any failure. */
export async function askDirect(port: number, args: [string, ...(string | number)[]], timeoutMs = 1000): Promise<unknown> {
  const r = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  r.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
    });
    await Promise.race([r.connect(), late]);
    const [cmd, ...rest] = args;
    return await Promise.race([r.call(cmd, ...rest), late]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    r.disconnect();
  }
}

export class RedisSystem implements SystemUnderTest {
  readonly system = 'redis' as const;
  private proxy: FaultProxy | undefined;
  private linkMap: Record<string, string> = {};
  private readonly nodes: Proc[] = [];
  private readonly sentinels: Proc[] = [];
  private sentinelConns: Redis[] = [];
  private forgetInterrupt: (() => void) | undefined;
  readonly settings: RedisSettings;

  private constructor(
    readonly spec: ClusterSpec,
    readonly stateDir: string,
    private readonly tools: RedisTools,
    private readonly events: EventSink,
  ) {
    this.settings = redisSettings(spec);
  }

  static async up(spec: ClusterSpec, options: Partial<SystemOptions>): Promise<RedisSystem> {
    const problems = unsupported(spec);
    if (problems.length) throw new ConfigError(`cluster ${spec.name} (system: redis): ${problems.join('; ')}`);
    const tools = await findRedisTools();
    const dir = path.resolve(options.stateRoot ?? '.replab', spec.name);
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
    const sys = new RedisSystem(spec, dir, tools, options.events ?? DISCARD_EVENTS);
    // Interrupted before `down`: stop what this process started.
    sys.forgetInterrupt = onInterrupt(() => sys.down());
    try {
      await sys.start(options.readyTimeoutMs ?? 30_000);
    } catch (e: unknown) {
      await sys.down().catch(() => {});
      throw e;
    }
    return sys;
  }

  /** The address the cluster's other processes reach node `id` at (its monitor: link). */
  private announced(id: string): { host: string; port: number } {
    const a = this.linkMap[monitorLink(id)]!;
    return { host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) };
  }

  private addrs(): RedisNodeAddr[] {
    return this.nodes.map((n) => {
      const a = this.announced(n.id);
      return { id: n.id, client: this.linkMap[clientLink(n.id)]!, announced: `${a.host}:${a.port}` };
    });
  }

  private async start(readyTimeoutMs: number): Promise<void> {
    // Sentinel and replication share the node's one announced address (`monitor:`), clients have theirs.
    const links = await faultProxy({
      dir: path.join(this.stateDir, 'proxy'),
      logFile: path.join(this.stateDir, 'logs', 'proxy.log'),
      nodes: this.spec.nodes.map((n) => n.id),
      kinds: ['monitor', 'client'],
    });
    this.proxy = links.proxy;
    this.linkMap = links.proxy.links();
    for (const n of this.spec.nodes) {
      const dir = path.join(this.stateDir, 'nodes', n.id);
      this.nodes.push({
        id: n.id,
        port: links.ports[n.id]!,
        dir,
        config: path.join(dir, 'redis.conf'),
        logFile: path.join(this.stateDir, 'logs', `${n.id}.log`),
        pid: 0,
      });
    }
    const leader = this.spec.leader;
    for (const n of this.nodes) {
      await fsp.mkdir(n.dir, { recursive: true });
      const conf = nodeConfig(this.settings, {
        port: n.port,
        dir: n.dir,
        announce: this.announced(n.id),
        ...(n.id === leader ? {} : { replicaOf: this.announced(leader) }),
      });
      await fsp.writeFile(n.config, conf, { mode: 0o600 });
    }
    for (const n of [this.node(leader), ...this.nodes.filter((x) => x.id !== leader)]) this.spawn(n, this.tools.server);
    await this.save();
    const online = await waitFor(
      async () => {
        const info = await this.info(this.node(leader).port);
        return !!info && info.role === 'master' && info.replicas.filter((r) => r.state === 'online').length === this.nodes.length - 1;
      },
      readyTimeoutMs,
      100,
    );
    if (!online) {
      const bad = this.nodes[this.nodes.length - 1]!;
      throw new EnvironmentError(`Redis replicas did not come online within ${readyTimeoutMs / 1000} s`, {
        logPath: bad.logFile,
        recentOutput: await tailFile(bad.logFile),
      });
    }
    for (let i = 1; i <= SENTINELS; i++) {
      const dir = path.join(this.stateDir, 'sentinels', `s${i}`);
      await fsp.mkdir(dir, { recursive: true });
      const s: Proc = {
        id: `s${i}`,
        port: await freePort(),
        dir,
        config: path.join(dir, 'sentinel.conf'),
        logFile: path.join(this.stateDir, 'logs', `sentinel-s${i}.log`),
        pid: 0,
      };
      await fsp.writeFile(s.config, sentinelConfig(this.settings, { port: s.port, dir, master: this.announced(leader) }), { mode: 0o600 });
      this.sentinels.push(s);
      this.spawn(s, this.tools.sentinel);
    }
    await this.save();
    this.sentinelConns = this.sentinels.map((s) => {
      const r = new Redis({
        host: '127.0.0.1',
        port: s.port,
        enableOfflineQueue: true,
        maxRetriesPerRequest: 0,
        connectTimeout: 1000,
        retryStrategy: () => 200,
      });
      r.on('error', () => {});
      return r;
    });
    // Ready when every Sentinel knows every replica and the other Sentinels: only then can a
    // failover be agreed and a replica picked.
    const ready = await waitFor(
      async () => {
        for (const s of this.sentinels) {
          const replicas = (await askDirect(s.port, ['SENTINEL', 'replicas', MASTER_NAME])) as unknown[] | undefined;
          const others = (await askDirect(s.port, ['SENTINEL', 'sentinels', MASTER_NAME])) as unknown[] | undefined;
          if (replicas?.length !== this.nodes.length - 1 || others?.length !== SENTINELS - 1) return false;
        }
        return true;
      },
      readyTimeoutMs,
      200,
    );
    if (!ready) {
      const s = this.sentinels[0]!;
      throw new EnvironmentError(`the Sentinels did not find every replica and each other within ${readyTimeoutMs / 1000} s`, {
        logPath: s.logFile,
        recentOutput: await tailFile(s.logFile),
      });
    }
  }

  private spawn(p: Proc, program: string): void {
    const fd = openSync(p.logFile, 'a');
    const child = spawn(program, [p.config], { detached: true, stdio: ['ignore', fd, fd], cwd: p.dir });
    closeSync(fd);
    child.unref();
    p.pid = child.pid ?? 0;
  }

  /** cluster.json in the replab cluster's shape (nodes with pids), so stop-everything backstops find them. */
  private async save(): Promise<void> {
    const file = {
      name: this.spec.name,
      system: 'redis',
      nodes: this.nodes.map((n) => ({ id: n.id, http: `127.0.0.1:${n.port}`, repl: this.linkMap[monitorLink(n.id)] ?? '', pid: n.pid, dataDir: n.dir })),
      proxy: this.proxy && { api: this.proxy.api, pid: this.proxy.pid },
      pids: this.sentinels.map((s) => s.pid),
    };
    await writeFileAtomic(path.join(this.stateDir, 'cluster.json'), JSON.stringify(file, null, 2), { mode: 0o600 });
  }

  private async info(port: number) {
    const text = await askDirect(port, ['INFO', 'replication']);
    return typeof text === 'string' ? parseReplicationInfo(text) : undefined;
  }

  private node(id: string): Proc {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new UsageError(`cluster "${this.spec.name}" has no node "${id}" (nodes: ${this.nodes.map((x) => x.id).join(', ')})`);
    return n;
  }

  /** The node whose announced port is `port`, if any. */
  private byAnnouncedPort(port: number): string | undefined {
    return this.nodes.find((n) => this.announced(n.id).port === port)?.id;
  }

  // ---- SystemUnderTest --------------------------------------------------------------------

  nodeIds(): string[] {
    return this.nodes.map((n) => n.id);
  }

  async currentLeaderId(): Promise<string> {
    const id = await askSentinels(this.sentinelConns, this.addrs(), 1000);
    if (!id) throw new UsageError(`cluster "${this.spec.name}": no Sentinel names a primary right now`);
    return id;
  }

  links(): Record<string, string> {
    return { ...this.linkMap };
  }

  toxiproxy(): Toxiproxy {
    if (!this.proxy) throw new UsageError(`cluster "${this.spec.name}" has no proxy`);
    return this.proxy.toxiproxy();
  }

  simulatesPowerLoss(): boolean {
    return false;
  }

  async kill(id: string): Promise<void> {
    await killHard(this.node(id).pid);
  }

  async pause(id: string): Promise<void> {
    await pauseProcess(this.node(id).pid, `node ${id}`);
  }

  async resume(id: string): Promise<void> {
    resumeProcess(this.node(id).pid);
  }

  async restart(id: string): Promise<void> {
    const n = this.node(id);
    if (await isRunning(n.pid)) await killHard(n.pid);
    this.spawn(n, this.tools.server);
    await this.save();
    await waitFor(async () => (await askDirect(n.port, ['PING'], 500)) === 'PONG', 15_000, 50);
  }

  async dataClient(options: { refreshMs?: number } = {}): Promise<RedisDataClient> {
    const c = new RedisDataClient({
      nodes: this.addrs(),
      sentinels: this.sentinels.map((s) => `127.0.0.1:${s.port}`),
      waitReplicas: this.settings.waitReplicas,
      waitTimeoutMs: this.settings.waitTimeoutMs,
      refreshMs: options.refreshMs,
    });
    await c.refresh();
    return c;
  }

  /** Per replica, how many bytes of the replication stream it has not acknowledged (INFO replication's offsets). */
  async lag(): Promise<LagSample[] | undefined> {
    const leader = await this.currentLeaderId().catch(() => undefined);
    if (!leader) return undefined;
    const info = await this.info(this.node(leader).port);
    if (info?.role !== 'master') return undefined;
    return this.nodes
      .filter((n) => n.id !== leader)
      .map((n) => {
        const r = info.replicas.find((x) => this.byAnnouncedPort(x.port) === n.id);
        return {
          leader,
          follower: n.id,
          lagRecords: r ? Math.max(0, info.offset - r.offset) : -1,
          lagMs: -1,
          connected: r?.state === 'online',
        };
      });
  }

  /**
   * Every Sentinel names one primary, it has every other node as an online replica, and each
   * replica has acknowledged the primary's whole replication stream.
   */
  async waitConverged(timeoutMs: number): Promise<number> {
    const ok = await waitFor(
      async () => {
        const answers = await Promise.all(this.sentinelConns.map((s) => askSentinels([s], this.addrs(), 700)));
        const leader = answers[0];
        if (!leader || answers.some((a) => a !== leader)) return false;
        const info = await this.info(this.node(leader).port);
        if (info?.role !== 'master') return false;
        const replicas = info.replicas.filter((r) => r.state === 'online' && this.byAnnouncedPort(r.port) !== undefined);
        return replicas.length === this.nodes.length - 1 && replicas.every((r) => r.offset >= info.offset);
      },
      timeoutMs,
      250,
    );
    if (!ok) throw new EnvironmentError(`Redis cluster ${this.spec.name} did not converge within ${timeoutMs} ms`);
    return 0;
  }

  async down(options: { clean?: boolean } = {}): Promise<void> {
    // Sentinels first, so that no failover starts while the nodes stop.
    for (const c of this.sentinelConns) c.disconnect();
    this.sentinelConns = [];
    await Promise.all(this.sentinels.filter((s) => s.pid).map((s) => stopGracefully(s.pid, 3000)));
    // SIGTERM: Redis fsyncs its AOF and exits.
    await Promise.all(this.nodes.filter((n) => n.pid).map((n) => stopGracefully(n.pid, 10_000)));
    // Anything of this cluster still running (the process title names the config file).
    for (const pid of await pidsMentioning(this.stateDir)) await killHard(pid);
    await this.proxy?.stop();
    if (options.clean) await fsp.rm(this.stateDir, { recursive: true, force: true });
    this.forgetInterrupt?.();
  }

  async keepArtefacts(dir: string): Promise<Record<string, string | null>> {
    await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
    const logs = path.join(this.stateDir, 'logs');
    for (const f of await fsp.readdir(logs).catch(() => [] as string[])) await fsp.copyFile(path.join(logs, f), path.join(dir, 'logs', f)).catch(() => {});
    const evidence = await keepAofEvidence(
      dir,
      this.nodes.map((n) => ({ id: n.id, aofDir: path.join(n.dir, 'appendonlydir') })),
    );
    const sentinelLogs: Record<string, string> = {};
    for (const s of this.sentinels) sentinelLogs[s.id] = await fsp.readFile(s.logFile, 'utf8').catch(() => '');
    const byAddr = new Map(this.addrs().map((a) => [a.announced, a.id]));
    const failovers = failoversFromLogs(sentinelLogs, (addr) => byAddr.get(addr));
    for (const f of failovers) this.events.emit({ event: 'promoted', timeMs: f.atMs, node: f.to, from: f.from, sentinels: f.sentinels });
    // The report shows these per node: where the lost inserts went goes with them.
    return Object.fromEntries(
      this.nodes.map((n, i) => [n.id, `${NO_LOG.replace('<node>', n.id)}${evidence ? `; ${aofSentence(evidence, n.id, i === 0)}` : ''}`]),
    );
  }
}
