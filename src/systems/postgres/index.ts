/**
 * PostgreSQL streaming replication under Patroni, with etcd as its consensus store, as a system
 * under test: one etcd and one Patroni per node, each Patroni running its own PostgreSQL (as the
 * `postgres` OS user when the harness is root), everything on 127.0.0.1 and free ports, data in
 * `<state>/<cluster>/nodes/<id>/`.
 *
 * Links through the cluster's fault proxy:
 *   repl:*->n1       standbys' streaming replication into n1: n1's advertised PostgreSQL address
 *                    (Patroni publishes one connect address per member, so every standby dials the
 *                    same one: replication links are per upstream, not per pair)
 *   repl:*->n1.api   n1's Patroni REST API as the other members see it (they ask it for WAL
 *                    positions during an election), cut together with replication
 *   monitor:n1       n1's Patroni to etcd (its link to the consensus store)
 *   client:n1        clients to n1's PostgreSQL
 *
 * Faults: kill = SIGKILL of n1's Patroni and postmaster (a node crash); pause = SIGSTOP of Patroni,
 * the postmaster and every backend; restart = kill, then Patroni starts again and brings its
 * PostgreSQL back (rewinding it with pg_rewind, or reinitialising it, when it must follow a new
 * timeline). Loss is judged from the final reads: replab does not read PostgreSQL's WAL.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, promises as fsp, openSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import YAML from 'yaml';
import { z } from 'zod';
import { isRunning, killHard, pidsMentioning, signal, stopGracefully, tailFile } from '../../cluster/process-control.js';
import type { ClusterSpec } from '../../cluster/spec.js';
import { clientLink, monitorLink, patroniApiLink, replInto } from '../../faults/links.js';
import type { Toxiproxy } from '../../faults/toxiproxy.js';
import { freePort, reservePort } from '../../lib/addr.js';
import { onInterrupt } from '../../lib/cleanup.js';
import { writeFileAtomic } from '../../lib/durable-file.js';
import { ConfigError, EnvironmentError, UsageError } from '../../lib/errors.js';
import { waitFor } from '../../lib/wait.js';
import { DISCARD_EVENTS, type EventSink } from '../events.js';
import { FaultProxy } from '../fault-proxy.js';
import type { LagSample, SystemOptions, SystemUnderTest } from '../system.js';
import { patroniEvents } from './events.js';
import { patroniDcs, patroniRecoveryConf, unsupported } from './mapping.js';
import { findPostgresTools, type PostgresTools } from './packages.js';
import { WALINSPECT_SQL } from './read-routing.js';
import { SCHEMA_SQL, SqlDataClient, type SqlNode } from './sql-client.js';

interface PgNode {
  id: string;
  pgPort: number;
  restPort: number;
  dataDir: string;
  config: string;
  logFile: string;
  patroniPid: number;
}

const MemberSchema = z.object({
  name: z.string(),
  role: z.string(),
  state: z.string(),
  timeline: z.number().optional(),
  lag: z.union([z.number(), z.string()]).optional(),
});
type Member = z.infer<typeof MemberSchema>;
const ClusterAnswerSchema = z.object({ members: z.array(MemberSchema).optional() });
const EtcdHealthSchema = z.object({ health: z.string() });

const NO_EVIDENCE = "replab does not read PostgreSQL's WAL (loss is judged from the final reads)";

/** A JSON answer parsed with `schema`; undefined when there is none in time or it is something else. */
async function getJson<T>(url: string, schema: z.ZodType<T>, timeoutMs = 1000): Promise<{ status: number; body: T } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const r = schema.safeParse(await res.json());
    return r.success ? { status: res.status, body: r.data } : undefined;
  } catch {
    return undefined;
  }
}

/** The postmaster's pid (first line of postmaster.pid) and its children (the backends). */
async function postgresPids(dataDir: string): Promise<number[]> {
  const first = Number((await fsp.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
  if (!first) return [];
  const pids = [first];
  for (const e of await fsp.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await fsp.readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === first) pids.push(Number(e));
  }
  return pids;
}

export class PostgresSystem implements SystemUnderTest {
  readonly system = 'postgres' as const;
  private proxy: FaultProxy | undefined;
  private linkMap: Record<string, string> = {};
  private etcdPid = 0;
  private etcdPort = 0;
  private readonly nodes: PgNode[] = [];
  private forgetInterrupt: (() => void) | undefined;

  private constructor(
    readonly spec: ClusterSpec,
    readonly stateDir: string,
    private readonly tools: PostgresTools,
    private readonly events: EventSink,
  ) {}

  static async up(spec: ClusterSpec, options: Partial<SystemOptions>): Promise<PostgresSystem> {
    const problems = unsupported(spec);
    if (problems.length) throw new ConfigError(`cluster ${spec.name} (system: postgres): ${problems.join('; ')}`);
    const tools = await findPostgresTools();
    const dir = path.resolve(options.stateRoot ?? '.replab', spec.name);
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
    await fsp.chmod(dir, 0o711);
    await makeTraversable(dir);
    const sys = new PostgresSystem(spec, dir, tools, options.events ?? DISCARD_EVENTS);
    // Interrupted before `down`: stop what this process started.
    sys.forgetInterrupt = onInterrupt(() => sys.down());
    try {
      await sys.start(options.readyTimeoutMs ?? 120_000);
    } catch (e: unknown) {
      await sys.down().catch(() => {});
      throw e;
    }
    return sys;
  }

  private get runAs() {
    return this.tools.runAs;
  }

  private async start(readyTimeoutMs: number): Promise<void> {
    // Two ports per node and the monitor links to etcd: the proxy's links are named here.
    this.proxy = await FaultProxy.start({ dir: path.join(this.stateDir, 'proxy'), logFile: path.join(this.stateDir, 'logs', 'proxy.log') });
    await this.startEtcd();
    // The nodes' ports are held until the links exist: a proxy binding port 0 could otherwise be
    // given a node's port (freed but not yet taken by PostgreSQL) and end up its own upstream.
    const held: Array<{ port: number; release: () => Promise<void> }> = [];
    const hold = async () => {
      const r = await reservePort();
      held.push(r);
      return r.port;
    };
    for (const n of this.spec.nodes)
      this.nodes.push({
        id: n.id,
        pgPort: await hold(),
        restPort: await hold(),
        dataDir: path.join(this.stateDir, 'nodes', n.id, 'data'),
        config: path.join(this.stateDir, 'nodes', n.id, 'patroni.yml'),
        logFile: path.join(this.stateDir, 'logs', `${n.id}.log`),
        patroniPid: 0,
      });
    const wanted: Record<string, string> = {};
    for (const n of this.nodes) {
      wanted[replInto(n.id)] = `127.0.0.1:${n.pgPort}`;
      wanted[patroniApiLink(n.id)] = `127.0.0.1:${n.restPort}`;
      wanted[monitorLink(n.id)] = `127.0.0.1:${this.etcdPort}`;
      wanted[clientLink(n.id)] = `127.0.0.1:${n.pgPort}`;
    }
    try {
      this.linkMap = await this.proxy.addLinks(wanted);
    } finally {
      for (const r of held) await r.release();
    }
    const sock = path.join(this.stateDir, 'sock');
    await fsp.mkdir(sock, { recursive: true });
    await this.chownToPostgres(sock);
    for (const n of this.nodes) {
      await fsp.mkdir(path.dirname(n.dataDir), { recursive: true });
      await fsp.writeFile(n.config, YAML.stringify(this.patroniConfig(n, sock)), { mode: 0o600 });
      await this.chownToPostgres(path.dirname(n.dataDir));
      await this.chownToPostgres(n.config);
    }
    // The first node bootstraps (initdb) alone, so it wins the initialisation race every time.
    await this.spawnPatroni(this.nodes[0]!);
    await this.save();
    const first = await waitFor(async () => (await this.members())?.some((m) => m.role === 'leader' && m.state === 'running') === true, readyTimeoutMs, 250);
    if (!first)
      throw new EnvironmentError(`PostgreSQL node ${this.nodes[0]!.id} did not become the Patroni leader within ${readyTimeoutMs / 1000} s`, {
        logPath: this.nodes[0]!.logFile,
        recentOutput: await tailFile(this.nodes[0]!.logFile),
      });
    for (const n of this.nodes.slice(1)) await this.spawnPatroni(n);
    await this.save();
    const ready = await waitFor(
      async () => {
        const ms = await this.members();
        return (
          !!ms &&
          ms.length === this.nodes.length &&
          ms.filter((m) => m.role === 'leader').length === 1 &&
          ms.every((m) => (m.state === 'running' || m.state === 'streaming') && (m.role === 'leader' || typeof m.lag === 'number'))
        );
      },
      readyTimeoutMs,
      250,
    );
    if (!ready) {
      const bad = this.nodes[this.nodes.length - 1]!;
      throw new EnvironmentError(
        `PostgreSQL standbys did not start streaming within ${readyTimeoutMs / 1000} s (members: ${JSON.stringify(await this.members())})`,
        { logPath: bad.logFile, recentOutput: await tailFile(bad.logFile) },
      );
    }
    await this.withSql(await this.currentLeaderId(), async (c) => {
      await c.query(SCHEMA_SQL);
      // Writes' exact commit positions (sql-client.ts); without the extension (a PostgreSQL before
      // 15, or no contrib) the client falls back to an upper bound by itself.
      await c.query(WALINSPECT_SQL).catch(() => {});
    });
    // Synchronous modes wait for a sync standby: make sure the schema reached every node.
    await this.waitConverged(30_000);
  }

  private async startEtcd(): Promise<void> {
    this.etcdPort = await freePort();
    const peer = await freePort();
    const dataDir = path.join(this.stateDir, 'etcd');
    const logFile = path.join(this.stateDir, 'logs', 'etcd.log');
    const fd = openSync(logFile, 'a');
    const child = spawn(
      this.tools.etcd,
      [
        '--name',
        'etcd',
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        `http://127.0.0.1:${this.etcdPort}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${this.etcdPort}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-cluster',
        `etcd=http://127.0.0.1:${peer}`,
      ],
      { detached: true, stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    child.unref();
    this.etcdPid = child.pid ?? 0;
    const up = await waitFor(
      async () => (await getJson(`http://127.0.0.1:${this.etcdPort}/health`, EtcdHealthSchema, 500))?.body.health === 'true',
      20_000,
      100,
    );
    if (!up) throw new EnvironmentError('etcd did not become healthy within 20 s', { logPath: logFile, recentOutput: await tailFile(logFile) });
  }

  private patroniConfig(n: PgNode, sock: string): Record<string, unknown> {
    return {
      scope: this.spec.name,
      name: n.id,
      log: { level: 'INFO' },
      restapi: { listen: `127.0.0.1:${n.restPort}`, connect_address: this.linkMap[patroniApiLink(n.id)] },
      etcd3: { hosts: this.linkMap[monitorLink(n.id)] },
      bootstrap: {
        dcs: patroniDcs(this.spec),
        initdb: [{ encoding: 'UTF8' }, 'data-checksums'],
        pg_hba: ['local all all trust', 'host replication all 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 trust'],
      },
      postgresql: {
        listen: `127.0.0.1:${n.pgPort}`,
        connect_address: this.linkMap[replInto(n.id)],
        data_dir: n.dataDir,
        bin_dir: this.tools.binDir,
        pgpass: path.join(path.dirname(n.dataDir), 'pgpass'),
        authentication: {
          replication: { username: 'replicator', password: 'replab' },
          superuser: { username: 'postgres', password: 'replab' },
          rewind: { username: 'postgres', password: 'replab' },
        },
        parameters: { unix_socket_directories: sock },
        recovery_conf: patroniRecoveryConf(this.spec),
      },
      watchdog: { mode: 'off' },
      tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
    };
  }

  private async chownToPostgres(p: string): Promise<void> {
    if (this.runAs) await fsp.chown(p, this.runAs.uid, this.runAs.gid);
  }

  private async spawnPatroni(n: PgNode): Promise<void> {
    const fd = openSync(n.logFile, 'a');
    const child = spawn(this.tools.patroni, [n.config], {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: path.dirname(n.dataDir),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.dirname(n.dataDir), LANG: 'C.UTF-8' },
      ...(this.runAs ?? {}),
    });
    closeSync(fd);
    child.unref();
    n.patroniPid = child.pid ?? 0;
  }

  /** cluster.json in the replab cluster's shape (nodes with pids), so stop-everything backstops find them. */
  private async save(): Promise<void> {
    const file = {
      name: this.spec.name,
      system: 'postgres',
      nodes: this.nodes.map((n) => ({
        id: n.id,
        http: `127.0.0.1:${n.restPort}`,
        repl: this.linkMap[replInto(n.id)] ?? '',
        pid: n.patroniPid,
        dataDir: n.dataDir,
      })),
      proxy: this.proxy && { api: this.proxy.api, pid: this.proxy.pid },
      pids: [this.etcdPid],
    };
    await writeFileAtomic(path.join(this.stateDir, 'cluster.json'), JSON.stringify(file, null, 2), { mode: 0o600 });
  }

  /** Patroni's view of the cluster, from the first node whose REST API answers. */
  private async members(): Promise<Member[] | undefined> {
    for (const n of this.nodes) {
      if (!n.patroniPid) continue;
      const r = await getJson(`http://127.0.0.1:${n.restPort}/cluster`, ClusterAnswerSchema, 700);
      if (r?.body.members) return r.body.members;
    }
    return undefined;
  }

  private node(id: string): PgNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new UsageError(`cluster "${this.spec.name}" has no node "${id}" (nodes: ${this.nodes.map((x) => x.id).join(', ')})`);
    return n;
  }

  /** Runs `fn` with a connection to node `id` through its client link. */
  private async withSql<T>(id: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const addr = this.linkMap[clientLink(id)]!;
    const c = new pg.Client({ host: '127.0.0.1', port: Number(addr.split(':')[1]), user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
    c.on('error', () => {});
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => {});
    }
  }

  // ---- SystemUnderTest --------------------------------------------------------------------

  nodeIds(): string[] {
    return this.nodes.map((n) => n.id);
  }

  async currentLeaderId(): Promise<string> {
    const leader = (await this.members())?.find((m) => m.role === 'leader');
    if (!leader) throw new UsageError(`cluster "${this.spec.name}" has no Patroni leader right now`);
    return leader.name;
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
    const n = this.node(id);
    const pgPids = await postgresPids(n.dataDir);
    await killHard(n.patroniPid);
    for (const pid of pgPids) signal(pid, 'SIGKILL');
    await waitFor(async () => !(await Promise.all(pgPids.map((p) => isRunning(p)))).some(Boolean), 5000, 20);
  }

  async pause(id: string): Promise<void> {
    const n = this.node(id);
    if (!(await isRunning(n.patroniPid))) throw new UsageError(`node ${id} is not running`);
    signal(n.patroniPid, 'SIGSTOP');
    for (const pid of await postgresPids(n.dataDir)) signal(pid, 'SIGSTOP');
  }

  async resume(id: string): Promise<void> {
    const n = this.node(id);
    for (const pid of await postgresPids(n.dataDir)) signal(pid, 'SIGCONT');
    signal(n.patroniPid, 'SIGCONT');
  }

  async restart(id: string): Promise<void> {
    const n = this.node(id);
    if (await isRunning(n.patroniPid)) await this.kill(id);
    await this.spawnPatroni(n);
    await this.save();
  }

  async dataClient(options: { refreshMs?: number } = {}): Promise<SqlDataClient> {
    const nodes: SqlNode[] = this.nodes.map((n) => ({ id: n.id, sql: this.linkMap[clientLink(n.id)]!, rest: `127.0.0.1:${n.restPort}` }));
    const c = new SqlDataClient(nodes, options);
    await c.refresh();
    return c;
  }

  async lag(): Promise<LagSample[] | undefined> {
    const ms = await this.members();
    const leader = ms?.find((m) => m.role === 'leader');
    if (!ms || !leader) return undefined;
    return ms
      .filter((m) => m !== leader)
      .map((m) => ({
        leader: leader.name,
        follower: m.name,
        lagRecords: typeof m.lag === 'number' ? m.lag : -1,
        lagMs: -1,
        connected: m.state === 'running' || m.state === 'streaming',
      }));
  }

  /** One leader, every member running, and every standby has replayed the primary's WAL. */
  async waitConverged(timeoutMs: number): Promise<number> {
    const ok = await waitFor(
      async () => {
        const ms = await this.members();
        const leader = ms?.find((m) => m.role === 'leader');
        if (!ms || !leader || ms.length !== this.nodes.length || !ms.every((m) => m.state === 'running' || m.state === 'streaming')) return false;
        try {
          const target = await this.withSql(leader.name, async (c) => (await c.query('SELECT pg_current_wal_lsn() AS lsn')).rows[0].lsn as string);
          for (const m of ms) {
            if (m === leader) continue;
            const behind = await this.withSql(
              m.name,
              async (c) => (await c.query('SELECT pg_last_wal_replay_lsn() < $1::pg_lsn AS behind', [target])).rows[0].behind as boolean | null,
            );
            if (behind !== false) return false;
          }
          return true;
        } catch {
          return false;
        }
      },
      timeoutMs,
      250,
    );
    if (!ok) throw new EnvironmentError(`PostgreSQL cluster ${this.spec.name} did not converge within ${timeoutMs} ms`);
    return 0;
  }

  async down(options: { clean?: boolean } = {}): Promise<void> {
    // Patroni stops its PostgreSQL on SIGTERM (fast shutdown); anything left is killed.
    await Promise.all(
      this.nodes.map(async (n) => {
        if (n.patroniPid) {
          for (const pid of await postgresPids(n.dataDir)) signal(pid, 'SIGCONT');
          await stopGracefully(n.patroniPid, 10_000);
        }
      }),
    );
    for (const pid of await pidsMentioning(this.stateDir)) await killHard(pid);
    if (this.etcdPid) await stopGracefully(this.etcdPid, 3000);
    await this.proxy?.stop();
    if (options.clean) await fsp.rm(this.stateDir, { recursive: true, force: true });
    this.forgetInterrupt?.();
  }

  async keepArtefacts(dir: string): Promise<Record<string, string | null>> {
    await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
    const logs = path.join(this.stateDir, 'logs');
    for (const f of await fsp.readdir(logs).catch(() => [] as string[])) await fsp.copyFile(path.join(logs, f), path.join(dir, 'logs', f)).catch(() => {});
    // Patroni decides failovers in its own processes; their logs are the record, read once they stopped.
    const patroniLogs: Record<string, string> = {};
    for (const n of this.nodes) patroniLogs[n.id] = await fsp.readFile(n.logFile, 'utf8').catch(() => '');
    for (const e of patroniEvents(patroniLogs, this.nodes[0]!.id)) this.events.emit(e);
    return Object.fromEntries(this.nodes.map((n) => [n.id, NO_EVIDENCE]));
  }
}

/**
 * PostgreSQL runs as another OS user, who must be able to reach its folders: every ancestor of
 * `dir` gets search permission (not read) where it lacks it. Only folders replab made are changed
 * in practice (the state root and the cluster folder); system folders already allow it.
 */
async function makeTraversable(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const st = await fsp.stat(d).catch(() => undefined);
    if (st && (st.mode & 0o001) === 0 && existsSync(d)) await fsp.chmod(d, (st.mode & 0o7777) | 0o011);
  }
}
