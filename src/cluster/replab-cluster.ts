/**
 * replab's own KV cluster on this machine, on either backend: the launcher (launcher-process.ts:
 * detached `replab node` child processes on 127.0.0.1; launcher-docker.ts: one container each)
 * starts the nodes, each with its own data dir and log under `.replab/<cluster>/`. The processes
 * outlive the command that started them (`replab cluster up`); later commands attach through
 * `cluster.json` plus `state.json` (how to restart each node).
 *
 * kill = SIGKILL; pause/resume = SIGSTOP/SIGCONT (docker pause); restart = start again with the
 * same data dir and ports. Every cluster also runs its monitor (`replab monitor`, state in
 * `.replab/<cluster>/monitor/`), which renews the leader's lease and fails over, and its fault
 * proxy. Tests and the harness use this class directly; other systems live in src/systems.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ClusterClient } from '../client/client.js';
import { applyRegionLatency, clientLink, ensureLinks, monitorLink, regionLatencyMs, replLink } from '../faults/links.js';
import { type Toxiproxy, toxiproxyClient } from '../faults/toxiproxy.js';
import type { CommitSettings, ReplicationMode } from '../kv/config.js';
import { type NodeStatus, parseNodeStatus } from '../kv/node/status.js';
import { AUTH_HEADER, MONITOR_TARGET, signAdminRequest } from '../lib/auth.js';
import { onInterrupt } from '../lib/cleanup.js';
import { writeFileAtomic } from '../lib/durable-file.js';
import { EnvironmentError, errnoCode, toError, UsageError } from '../lib/errors.js';
import { REPLICATION_MODES } from '../lib/modes.js';
import { waitFor } from '../lib/wait.js';
import { fetchMonitorView, type MonitorView, SwitchoverAnswerSchema } from '../monitor/api-types.js';
import type { MonitorConfig } from '../monitor/config.js';
import { type ClusterBackend, type ClusterFile, ClusterFileSchema, type NodeEndpoint } from './backend.js';
import { type ClockSkew, clockFile, needsRestart, readSkew, skewedEnv, writeSkew } from './clock-control.js';
import type { Launcher } from './launcher.js';
import { DockerLauncher } from './launcher-docker.js';
import { ProcessLauncher } from './launcher-process.js';
import { type ClusterSpec, commitSettings, directFollowers, parseClusterSpec, startOrder, upstreamsOf } from './spec.js';
import { fillVolume, freeVolume, isMountPoint, mountVolume, unmountVolumesUnder } from './volumes.js';

const NodeStateSchema = z.object({
  id: z.string(),
  role: z.enum(['leader', 'follower']),
  /** Node id of the upstream (followers). */
  upstreamId: z.string().optional(),
  args: z.array(z.string()),
  logFile: z.string(),
  dataDir: z.string(),
});
type NodeState = z.infer<typeof NodeStateSchema>;

const CommitSettingsSchema = z.object({
  mode: z.enum(REPLICATION_MODES),
  k: z.number().int(),
  ackLevel: z.enum(['write', 'flush', 'apply']),
  syncStandbys: z.array(z.string()),
  syncTimeoutMs: z.number(),
  onSyncTimeout: z.enum(['block', 'degrade']),
  visibility: z.enum(['after-commit', 'early']),
});

/** `.replab/<name>/state.json` (mode 0600: it holds the token): how to restart each process. */
const ClusterStateSchema = z.object({
  name: z.string(),
  /** The parsed spec; parsed again with the spec parser on attach. */
  spec: z.unknown(),
  settings: CommitSettingsSchema,
  token: z.string(),
  nodes: z.array(NodeStateSchema),
  monitor: z.object({ args: z.array(z.string()), logFile: z.string(), stateDir: z.string() }).optional(),
  /** Proxy name (repl:n2->n1, monitor:n1, client:n1) → its listen address. */
  links: z.record(z.string(), z.string()).default({}),
  /** The proxy API in use; `pid` when this cluster started it (absent for TOXIPROXY_URL). */
  proxy: z
    .object({
      api: z.string(),
      pid: z.number().int().optional(),
      args: z.array(z.string()).optional(),
      logFile: z.string().optional(),
      stateDir: z.string().optional(),
    })
    .optional(),
});
type ClusterState = Omit<z.infer<typeof ClusterStateSchema>, 'spec' | 'settings'> & { spec: ClusterSpec; settings: CommitSettings };

export interface UpOptions {
  /** Folder holding every cluster's state. @default ".replab" */
  stateRoot?: string;
  mode?: ReplicationMode;
  /** Overrides of commit settings (tests use short timeouts). */
  settings?: Partial<CommitSettings>;
  /** Milliseconds to wait for the cluster to be ready. @default 20000 */
  readyTimeoutMs?: number;
}

export class ReplabCluster implements ClusterBackend {
  /** Starts and breaks processes: child processes or containers, by the spec's backend. */
  private readonly launcher: Launcher;

  private constructor(
    private readonly dir: string,
    private state: ClusterState,
    private file: ClusterFile,
  ) {
    this.launcher = state.spec.backend === 'docker' ? new DockerLauncher(state.name, state.token) : new ProcessLauncher(state.token);
  }

  get name(): string {
    return this.state.name;
  }
  get spec(): ClusterSpec {
    return this.state.spec;
  }
  get settings(): CommitSettings {
    return this.state.settings;
  }
  get stateDir(): string {
    return this.dir;
  }
  /** The cluster token (admin calls and replication HELLO need it). */
  get token(): string {
    return this.state.token;
  }

  static clusterDir(stateRoot: string, name: string): string {
    return path.join(stateRoot, name);
  }

  /** Starts every node of `spec` and returns once each follower streams from its upstream. */
  static async up(spec: ClusterSpec, options: UpOptions = {}): Promise<ReplabCluster> {
    // This class runs replab's own nodes; other systems start through src/systems (replab run).
    if (spec.system !== 'replab')
      throw new UsageError(
        `cluster "${spec.name}" is system: ${spec.system}; the cluster and bench commands run replab's own KV only — run it in a suite with "replab run" instead`,
      );
    const dir = ReplabCluster.clusterDir(options.stateRoot ?? '.replab', spec.name);
    if (existsSync(path.join(dir, 'cluster.json'))) {
      const existing = await ReplabCluster.attach(spec.name, options.stateRoot);
      if (await existing.anyRunning())
        throw new UsageError(`cluster "${spec.name}" is already running (state in ${dir}); run "replab cluster down ${spec.name}" first`);
      await unmountVolumesUnder(dir);
      await fsp.rm(dir, { recursive: true, force: true });
    }
    // The cluster folder holds the token (state.json): its owner's alone.
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await fsp.chmod(dir, 0o700);
    await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
    const settings = { ...commitSettings(spec, options.mode), ...options.settings };
    const state: ClusterState = { name: spec.name, spec, settings, token: randomBytes(16).toString('hex'), nodes: [], links: {} };
    const cluster = new ReplabCluster(dir, state, { name: spec.name, nodes: [] });
    // Interrupted before `down`: stop the processes this command started (the monitor first), and
    // release the nodes' data volumes, which would otherwise stay mounted under a folder its
    // owner is about to delete.
    cluster.forgetInterrupt = onInterrupt(async () => {
      await cluster.down();
      await unmountVolumesUnder(dir);
    });
    try {
      await cluster.launchProxy();
      const ups = upstreamsOf(spec);
      for (const id of startOrder(spec)) {
        const upstreamId = ups.get(id);
        await cluster.launch({ id, role: upstreamId ? 'follower' : 'leader', upstreamId });
      }
      await cluster.linkEveryPair();
      await cluster.launchMonitor();
      await cluster.waitReady(options.readyTimeoutMs ?? 20_000);
    } catch (e: unknown) {
      await cluster.down().catch(() => {});
      // Nobody can attach to a cluster that never came up: its volumes go with it.
      await unmountVolumesUnder(dir).catch(() => {});
      throw e;
    }
    return cluster;
  }

  /** Attaches to a cluster started earlier (possibly by another process). */
  static async attach(name: string, stateRoot = '.replab'): Promise<ReplabCluster> {
    const dir = ReplabCluster.clusterDir(stateRoot, name);
    let fileText: string;
    let stateText: string;
    try {
      fileText = await fsp.readFile(path.join(dir, 'cluster.json'), 'utf8');
      stateText = await fsp.readFile(path.join(dir, 'state.json'), 'utf8');
    } catch {
      throw new UsageError(`no cluster named "${name}" in ${stateRoot} (start it with "replab cluster up SPEC")`);
    }
    const file = parseStateFile(ClusterFileSchema, fileText, path.join(dir, 'cluster.json'));
    const raw = parseStateFile(ClusterStateSchema, stateText, path.join(dir, 'state.json'));
    const state: ClusterState = { ...raw, spec: parseClusterSpec(raw.spec, path.join(dir, 'state.json'), name) };
    return new ReplabCluster(dir, state, file);
  }

  nodeIds(): string[] {
    return this.file.nodes.map((n) => n.id);
  }

  endpoints(): NodeEndpoint[] {
    return this.file.nodes.map((n) => ({ ...n }));
  }

  endpoint(id: string): NodeEndpoint {
    const n = this.file.nodes.find((x) => x.id === id);
    if (!n) throw new UsageError(`cluster "${this.name}" has no node "${id}" (nodes: ${this.file.nodes.map((x) => x.id).join(', ')})`);
    return n;
  }

  /** Every process this cluster runs, by what it is (the process backend's pids; benchmarks read their CPU time). */
  processes(): Array<{ name: string; pid: number }> {
    const out = this.file.nodes.map((n) => ({ name: n.id, pid: n.pid }));
    if (this.file.proxy?.pid) out.push({ name: 'proxy', pid: this.file.proxy.pid });
    if (this.file.monitor) out.push({ name: 'monitor', pid: this.file.monitor.pid });
    return out;
  }

  leaderId(): string {
    return this.state.nodes.find((n) => n.role === 'leader')?.id ?? this.state.spec.leader;
  }

  logFile(id: string): string {
    return this.nodeState(id).logFile;
  }

  private nodeState(id: string): NodeState {
    const n = this.state.nodes.find((x) => x.id === id);
    if (!n) throw new UsageError(`cluster "${this.name}" has no node "${id}" (nodes: ${this.state.nodes.map((x) => x.id).join(', ')})`);
    return n;
  }

  private nodeArgs(
    id: string,
    role: 'leader' | 'follower',
    upstream: { repl: string; id: string } | undefined,
    dataDir: string,
    ports?: { http: string; repl: string },
  ): string[] {
    const s = this.state.settings;
    const spec = this.state.spec;
    const args = ['node', '--id', id, '--cluster', this.state.name, '--role', role, '--data-dir', dataDir];
    args.push('--http', ports?.http ?? '127.0.0.1:0', '--repl', ports?.repl ?? '127.0.0.1:0');
    if (upstream) args.push('--upstream', upstream.repl, '--upstream-id', upstream.id);
    args.push('--mode', s.mode, '--k', String(s.k), '--ack', s.ackLevel, '--sync-timeout-ms', String(s.syncTimeoutMs));
    args.push('--on-sync-timeout', s.onSyncTimeout, '--visibility', s.visibility, '--heartbeat-ms', String(spec.heartbeatMs));
    args.push('--checkpoint-bytes', String(spec.storage.checkpointBytes), '--segment-bytes', String(spec.storage.segmentBytes));
    args.push('--fencing', spec.fencing);
    if (spec.replication.applyDelayMs > 0) args.push('--apply-delay-ms', String(spec.replication.applyDelayMs));
    if (spec.storage.syncDelayMs > 0) args.push('--sync-delay-ms', String(spec.storage.syncDelayMs));
    if (spec.storage.simulatePowerLoss) args.push('--simulate-power-loss');
    if (role === 'leader' && s.mode === 'sync') args.push('--sync-standbys', (s.syncStandbys.length ? s.syncStandbys : directFollowers(spec, id)).join(','));
    return args;
  }

  /** Starts a node process the first time, on port 0; its real ports are kept for restarts. */
  private async launch(n: { id: string; role: 'leader' | 'follower'; upstreamId: string | undefined }): Promise<void> {
    const dataDir = path.resolve(this.dir, 'nodes', n.id);
    const volumeMiB = this.state.spec.storage.volumeMiB;
    if (volumeMiB !== undefined) await mountVolume(dataDir, volumeMiB * 1024 * 1024);
    // A follower dials its upstream through the proxy for that directed link.
    const upstream = n.upstreamId ? { repl: await this.link(replLink(n.id, n.upstreamId), this.endpoint(n.upstreamId).repl), id: n.upstreamId } : undefined;
    const ns: NodeState = {
      id: n.id,
      role: n.role,
      upstreamId: n.upstreamId,
      args: this.nodeArgs(n.id, n.role, upstream, dataDir),
      logFile: path.resolve(this.dir, 'logs', `${n.id}.log`),
      dataDir,
    };
    this.state.nodes.push(ns);
    const ep = await this.spawnNode(ns);
    // Pin the ports it got, so a restart comes back at the same address.
    ns.args = this.nodeArgs(n.id, n.role, upstream, dataDir, { http: ep.http, repl: ep.repl });
    this.file.nodes.push(ep);
    await this.save();
  }

  // ---- the fault proxy and the links through it ---------------------------------------------

  /** Starts `replab proxy` for this cluster, or uses the Toxiproxy server at $TOXIPROXY_URL. */
  private async launchProxy(): Promise<void> {
    const external = process.env.TOXIPROXY_URL;
    if (external) {
      this.state.proxy = { api: external };
      this.file.proxy = { api: external, pid: 0 };
      return;
    }
    const stateDir = path.resolve(this.dir, 'proxy');
    const logFile = path.resolve(this.dir, 'logs', 'proxy.log');
    const ep = await this.launcher.start('proxy', ['proxy', '--port', '0', '--state-dir', stateDir], { dir: stateDir, logFile, kind: 'proxy' });
    const [, port] = ep.http.split(':');
    this.state.proxy = { api: ep.http, pid: ep.pid, args: ['proxy', '--port', port!, '--state-dir', stateDir], logFile, stateDir };
    this.file.proxy = { api: ep.http, pid: ep.pid };
    await this.save();
  }

  /** A toxiproxy-node-client for this cluster's proxy API (the only way the harness drives it). */
  toxiproxy(): Toxiproxy {
    if (!this.state.proxy) throw new UsageError(`cluster "${this.name}" has no proxy`);
    return toxiproxyClient(this.state.proxy.api);
  }

  /** Proxy name → listen address of every link. */
  links(): Record<string, string> {
    return { ...this.state.links };
  }

  /** The listen address of link `name`, creating its proxy to `upstream` first if needed. */
  private async link(name: string, upstream: string): Promise<string> {
    const existing = this.state.links[name];
    if (existing) return existing;
    Object.assign(this.state.links, await ensureLinks(this.toxiproxy(), { [name]: upstream }));
    await this.save();
    return this.state.links[name]!;
  }

  /**
   * Creates the links no node uses yet: replication for every ordered pair (a failover may point
   * anyone at anyone), the monitor's and the clients' link to every node, and the region latency
   * on links between regions.
   */
  private async linkEveryPair(): Promise<void> {
    const wanted: Record<string, string> = {};
    for (const a of this.file.nodes) {
      wanted[monitorLink(a.id)] = a.http;
      wanted[clientLink(a.id)] = a.http;
      for (const b of this.file.nodes) if (a.id !== b.id) wanted[replLink(a.id, b.id)] = b.repl;
    }
    const missing = Object.fromEntries(Object.entries(wanted).filter(([name]) => !this.state.links[name]));
    Object.assign(this.state.links, await ensureLinks(this.toxiproxy(), missing));
    const regionOf = new Map(this.state.spec.nodes.map((n) => [n.id, n.region]));
    for (const a of this.file.nodes) {
      for (const b of this.file.nodes) {
        if (a.id === b.id) continue;
        const ms = regionLatencyMs(this.state.spec.regions ?? {}, regionOf.get(a.id), regionOf.get(b.id));
        await applyRegionLatency(this.toxiproxy(), replLink(a.id, b.id), ms);
      }
    }
    await this.save();
  }

  /** The address clients use for node `id` (its client: link). */
  clientAddress(id: string): string {
    return this.state.links[clientLink(id)] ?? this.endpoint(id).http;
  }

  /** The monitor's config, from the spec and the ports the nodes got. */
  private monitorConfig(): MonitorConfig {
    const spec = this.state.spec;
    const f = spec.failover;
    return {
      cluster: this.name,
      nodes: this.file.nodes.map((n) => ({ id: n.id, http: n.http, repl: n.repl })),
      leader: spec.leader,
      upstreams: Object.fromEntries(this.state.nodes.filter((n) => n.upstreamId).map((n) => [n.id, n.upstreamId!])),
      replLinks: Object.fromEntries(
        Object.entries(this.state.links)
          .filter(([name]) => name.startsWith('repl:'))
          .map(([name, addr]) => [name.slice(5), addr]),
      ),
      monitorLinks: Object.fromEntries(this.file.nodes.map((n) => [n.id, this.state.links[monitorLink(n.id)] ?? n.http])),
      mode: this.state.settings.mode,
      k: this.state.settings.k,
      syncStandbys: this.state.settings.syncStandbys,
      fencing: spec.fencing,
      heartbeatMs: f.heartbeatMs,
      failoverTimeoutMs: f.failoverTimeoutMs,
      leaseMs: f.leaseMs,
      maxClockDrift: f.maxClockDrift,
      maxLagOnFailover: f.maxLagOnFailover,
    };
  }

  private async launchMonitor(): Promise<void> {
    const stateDir = path.resolve(this.dir, 'monitor');
    await fsp.mkdir(stateDir, { recursive: true });
    const configFile = path.join(stateDir, 'config.json');
    await writeJsonAtomic(configFile, this.monitorConfig());
    const ms: NonNullable<ClusterState['monitor']> = {
      args: ['monitor', '--config', configFile, '--state-dir', stateDir, '--http', '127.0.0.1:0'],
      logFile: path.resolve(this.dir, 'logs', 'monitor.log'),
      stateDir,
    };
    this.state.monitor = ms;
    const ep = await this.launcher.start('monitor', ms.args, { dir: stateDir, logFile: ms.logFile, kind: 'monitor' });
    ms.args = ['monitor', '--config', configFile, '--state-dir', stateDir, '--http', ep.http];
    this.file.monitor = { http: ep.http, pid: ep.pid };
    await this.save();
  }

  get monitorHttp(): string {
    if (!this.file.monitor) throw new UsageError(`cluster "${this.name}" has no monitor`);
    return this.file.monitor.http;
  }

  /** The monitor's /status (undefined when it does not answer). */
  async monitorStatus(timeoutMs = 1000): Promise<MonitorView | undefined> {
    return fetchMonitorView(this.monitorHttp, timeoutMs);
  }

  /**
   * A client that routes by this cluster's monitor (src/client) and reaches every node through
   * its client: link, so a fault on that link is what the client sees.
   */
  client(options: { refreshMs?: number } = {}): ClusterClient {
    return new ClusterClient({
      refreshMs: options.refreshMs,
      nodes: this.endpoints().map((n) => ({ id: n.id, http: this.clientAddress(n.id) })),
      aliases: this.clientAliases(),
      monitor: this.file.monitor?.http,
      leaderId: this.leaderId(),
    });
  }

  /** Each node's own HTTP address → the address clients use (its `client:` link through the proxy). */
  clientAliases(): Record<string, string> {
    return Object.fromEntries(this.endpoints().map((n) => [n.http, this.clientAddress(n.id)]));
  }

  /** The leader as the monitor sees it (the spec's leader when the monitor does not answer). */
  simulatesPowerLoss(): boolean {
    return this.state.spec.storage.simulatePowerLoss;
  }

  async currentLeaderId(): Promise<string> {
    const st = await this.monitorStatus();
    return st?.leader ?? this.leaderId();
  }

  async killMonitor(): Promise<void> {
    if (this.file.monitor) await this.launcher.kill('monitor', this.file.monitor.pid);
  }

  /** Restarts the monitor on the same port and state dir (its epoch survives). */
  async restartMonitor(): Promise<void> {
    const ms = this.state.monitor;
    if (!ms || !this.file.monitor) throw new UsageError(`cluster "${this.name}" has no monitor`);
    await this.launcher.kill('monitor', this.file.monitor.pid);
    const ep = await this.launcher.start('monitor', ms.args, { dir: ms.stateDir, logFile: ms.logFile, kind: 'monitor' });
    this.file.monitor = { http: ep.http, pid: ep.pid };
    await this.save();
  }

  /** Planned switchover through the monitor; resolves when `to` leads. */
  async switchover(to: string, timeoutMs = 60_000): Promise<{ from: string; to: string; epoch: number; durationMs: number; lastLsn: number }> {
    this.endpoint(to);
    const body0 = JSON.stringify({ to });
    const monitor = this.monitorHttp;
    let res: Response;
    let body: unknown;
    try {
      res = await fetch(`http://${monitor}/switchover`, {
        method: 'POST',
        headers: {
          [AUTH_HEADER]: signAdminRequest(this.state.token, {
            method: 'POST',
            path: '/switchover',
            body: body0,
            caller: 'cli',
            target: MONITOR_TARGET,
            cluster: this.state.name,
          }),
          'content-type': 'application/json',
        },
        body: body0,
        signal: AbortSignal.timeout(timeoutMs),
      });
      body = await res.json();
    } catch (e: unknown) {
      const err = toError(e);
      // fetch wraps the socket's error: its code (ECONNREFUSED) is in `cause`.
      const why = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (errnoCode(err.cause) ?? err.message);
      throw new EnvironmentError(
        `switchover to ${to}: the monitor at ${monitor} did not answer (${why}); is the cluster running? ("replab cluster status ${this.name}")`,
      );
    }
    if (!res.ok) {
      const why = typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : `HTTP ${res.status}`;
      // 409: the request cannot apply (bad target); anything else: the cluster could not do it now.
      if (res.status === 409) throw new UsageError(`switchover to ${to} failed: ${why}`);
      throw new EnvironmentError(`switchover to ${to} failed: ${why}`);
    }
    const r = SwitchoverAnswerSchema.safeParse(body);
    if (!r.success) throw new EnvironmentError(`switchover to ${to}: the monitor's answer is malformed (${r.error.issues[0]!.message})`);
    return r.data;
  }

  private async spawnNode(ns: NodeState): Promise<NodeEndpoint> {
    const env = this.state.spec.clockControl ? await skewedEnv(clockFile(this.dir, ns.id)) : undefined;
    const ep = await this.launcher.start(ns.id, ns.args, { dir: ns.dataDir, logFile: ns.logFile, kind: 'node', env });
    return { id: ns.id, http: ep.http, repl: ep.repl!, pid: ep.pid, dataDir: ns.dataDir };
  }

  private async save(): Promise<void> {
    await writeJsonAtomic(path.join(this.dir, 'cluster.json'), this.file);
    await writeJsonAtomic(path.join(this.dir, 'state.json'), this.state);
  }

  /** Fetches /status of a node (undefined when it does not answer within `timeoutMs`). */
  async status(id: string, timeoutMs = 1000): Promise<NodeStatus | undefined> {
    try {
      const res = await fetch(`http://${this.endpoint(id).http}/status`, { signal: AbortSignal.timeout(timeoutMs) });
      const r = parseNodeStatus(await res.json());
      return r.ok ? r.status : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Waits until the leader holds a valid lease (when fenced by lease) and every other running node
   * streams from its upstream.
   */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    const ok = await waitFor(
      async () => {
        const leader = await this.currentLeaderId();
        for (const n of this.state.nodes) {
          const st = await this.status(n.id, 500);
          if (n.id === leader) {
            if (st?.role !== 'leader' || st.leaseValid !== true) return false;
            continue;
          }
          if (!st?.upstream?.streaming) return false;
        }
        return true;
      },
      timeoutMs,
      50,
    );
    if (!ok)
      throw new EnvironmentError(
        `cluster "${this.name}": not ready within ${timeoutMs} ms (leader without lease or followers not streaming; logs in ${path.join(this.dir, 'logs')})`,
      );
  }

  /** Waits until every running node holds exactly the leader's log (same last LSN and epoch) and applied it. */
  async waitConverged(timeoutMs = 20_000): Promise<number> {
    let target = 0;
    const ok = await waitFor(
      async () => {
        const leaderId = await this.currentLeaderId();
        const leader = await this.status(leaderId);
        if (leader?.role !== 'leader') return false;
        target = leader.lastLsn;
        for (const n of this.file.nodes) {
          if (n.id === leaderId || !(await this.launcher.isRunning(n.id, n.pid))) continue;
          const st = await this.status(n.id, 500);
          // A follower whose log still diverges (ahead, or ending in another epoch) has not converged.
          if (st?.role !== 'follower' || st.appliedLsn < target || st.lastLsn > target || st.lastEpoch !== leader.lastEpoch) return false;
        }
        return true;
      },
      timeoutMs,
      50,
    );
    if (!ok) throw new EnvironmentError(`cluster "${this.name}": nodes did not converge on lsn ${target} within ${timeoutMs} ms`);
    return target;
  }

  async kill(id: string): Promise<void> {
    await this.launcher.kill(id, this.endpoint(id).pid);
  }

  async pause(id: string): Promise<void> {
    await this.launcher.pause(id, this.endpoint(id).pid);
  }

  async resume(id: string): Promise<void> {
    await this.launcher.resume(id, this.endpoint(id).pid);
  }

  async isRunning(id: string): Promise<boolean> {
    return this.launcher.isRunning(id, this.endpoint(id).pid);
  }

  /**
   * Skews node `id`'s clock (the clock fault; NO_SKEW heals it): a new rate while it runs, a new
   * offset by restarting it (clock-control.ts says why). The cluster must have been started with
   * clockControl, so the node reads its control file. Resolves whether the node was restarted.
   */
  async setClock(id: string, skew: ClockSkew): Promise<{ restarted: boolean }> {
    this.endpoint(id);
    if (!this.state.spec.clockControl)
      throw new UsageError(`cluster "${this.name}" was not started with clockControl: true, so its nodes' clocks cannot be skewed`);
    const file = clockFile(this.dir, id);
    const restart = needsRestart(await readSkew(file), skew);
    await writeSkew(file, skew);
    if (restart) await this.restart(id);
    return { restarted: restart };
  }

  /** Stops the node if it runs (SIGKILL) and starts it again on the same data dir and ports. */
  async restart(id: string): Promise<void> {
    const ep = this.endpoint(id);
    await this.launcher.kill(id, ep.pid);
    const fresh = await this.spawnNode(this.nodeState(id));
    this.file.nodes = this.file.nodes.map((n) => (n.id === id ? fresh : n));
    await this.save();
  }

  /** Adds a new follower (of the leader unless `upstream` names another node) and waits until it streams. */
  async addFollower(options: { id?: string; upstream?: string } = {}): Promise<string> {
    const ids = new Set(this.state.nodes.map((n) => n.id));
    let id = options.id;
    if (!id) for (let i = ids.size + 1; !id; i++) if (!ids.has(`n${i}`)) id = `n${i}`;
    if (ids.has(id)) throw new UsageError(`node "${id}" already exists in cluster "${this.name}"`);
    const upstreamId = options.upstream ?? (await this.currentLeaderId());
    this.endpoint(upstreamId);
    await this.launch({ id, role: 'follower', upstreamId });
    this.state.spec = { ...this.state.spec, nodes: [...this.state.spec.nodes, { id, upstream: upstreamId }] };
    await this.linkEveryPair();
    // The monitor learns of the new node from its config; its epoch and leader survive the restart.
    if (this.state.monitor) {
      await writeJsonAtomic(path.join(this.state.monitor.stateDir, 'config.json'), this.monitorConfig());
      await this.restartMonitor();
    }
    await this.waitReady();
    return id;
  }

  /** With an external Toxiproxy, a cluster removes its own proxies when it goes down. */
  private async removeExternalLinks(): Promise<void> {
    const client = this.toxiproxy();
    for (const name of Object.keys(this.state.links)) await (await client.get(name).catch(() => undefined))?.remove().catch(() => {});
  }

  async anyRunning(): Promise<boolean> {
    if (this.file.proxy?.pid && (await this.launcher.isRunning('proxy', this.file.proxy.pid))) return true;
    for (const n of this.file.nodes) if (await this.launcher.isRunning(n.id, n.pid)) return true;
    return this.file.monitor ? this.launcher.isRunning('monitor', this.file.monitor.pid) : false;
  }

  /** Set while this process owns the cluster: unregisters its stop-on-Ctrl-C task. */
  private forgetInterrupt: (() => void) | undefined;

  /**
   * Leaves the cluster running when this process exits (`replab cluster up`): a later Ctrl-C of
   * this process no longer stops it.
   */
  detach(): void {
    this.forgetInterrupt?.();
  }

  /** Stops the monitor first (so it does not fail over a stopping cluster), then every node, then the proxy. */
  async down(options: { clean?: boolean } = {}): Promise<void> {
    this.forgetInterrupt?.();
    const logs = path.join(this.dir, 'logs');
    if (this.file.monitor) await this.launcher.stop('monitor', this.file.monitor.pid, { clean: options.clean, logFile: path.join(logs, 'monitor.log') });
    await Promise.all(this.file.nodes.map((n) => this.launcher.stop(n.id, n.pid, { clean: options.clean, logFile: path.join(logs, `${n.id}.log`) })));
    if (this.file.proxy?.pid) await this.launcher.stop('proxy', this.file.proxy.pid, { clean: options.clean, logFile: path.join(logs, 'proxy.log') });
    else if (this.state.proxy && !this.state.proxy.pid) await this.removeExternalLinks();
    if (options.clean) {
      await unmountVolumesUnder(this.dir);
      await fsp.rm(this.dir, { recursive: true, force: true });
    }
  }

  /** Fills node `id`'s data volume (storage.volumeMiB) until no block is free; returns the bytes taken. */
  async fillDisk(id: string): Promise<number> {
    return fillVolume(await this.volumeOf(id));
  }

  /** Frees what `fillDisk` took; returns the bytes freed. */
  async freeDisk(id: string): Promise<number> {
    return freeVolume(await this.volumeOf(id));
  }

  private async volumeOf(id: string): Promise<string> {
    const dir = this.nodeState(id).dataDir;
    if (this.state.spec.storage.volumeMiB === undefined || !(await isMountPoint(dir)))
      throw new UsageError(
        `node ${id}'s data dir is not on a volume of its own, so its disk cannot be filled alone (set storage.volumeMiB in the cluster spec)`,
      );
    return dir;
  }
}

/** Cluster state files hold the cluster token: readable by their owner only. */
async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2), { mode: 0o600 });
}

/**
 * A cluster's own state file, parsed: damage (a crash mid-write on a filesystem without atomic
 * rename, a hand edit) is an environment problem naming the file, not a crash with a stack.
 */
function parseStateFile<T>(schema: z.ZodType<T>, text: string, file: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EnvironmentError(`${file}: not valid JSON (damaged cluster state); stop the cluster's processes and start it again with "replab cluster up"`);
  }
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new EnvironmentError(
    `${file}: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message} (damaged cluster state); stop the cluster's processes and start it again with "replab cluster up"`,
  );
}
