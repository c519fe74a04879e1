/**
 * MariaDB (10.11, Debian's mariadb-server) with GTID replication and semi-sync as a system under
 * test: one `mariadbd` per node (as the `mysql` OS user when the harness is root), each on a free
 * loopback port with its own data dir initialised by `mariadb-install-db`, under
 * `<state>/<cluster>/nodes/<id>/`. Failover is replab's own monitor (failover.ts), in Orchestrator's
 * role; the settings come from the spec as mapping.ts says.
 *
 * Links through the cluster's fault proxy:
 *   repl:n2->n1   replica n2 replicating from n1 (CHANGE MASTER TO points n2 at this link, so a
 *                 repointing after a failover also goes through a proxy)
 *   monitor:n1    replab's monitor to n1 (probes, promotion, fencing, dumps for a re-clone)
 *   client:n1     clients to n1
 *
 * Faults: kill = SIGKILL of n1's mariadbd (a crash: InnoDB and the binlog recover on restart);
 * pause = SIGSTOP; restart = kill, then start it again, read-only and not replicating until the
 * monitor rejoins it. After a run the binlogs say where each write went (evidence.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, existsSync, promises as fsp, openSync } from 'node:fs';
import path from 'node:path';
import mariadb from 'mariadb';
import { isRunning, killHard, pidsMentioning, signal, stopGracefully, tailFile } from '../../cluster/process-control.js';
import type { ClusterSpec } from '../../cluster/spec.js';
import { clientLink, monitorLink, replLink } from '../../faults/links.js';
import type { Toxiproxy } from '../../faults/toxiproxy.js';
import { onInterrupt } from '../../lib/cleanup.js';
import { writeFileAtomic } from '../../lib/durable-file.js';
import { ConfigError, EnvironmentError, toError, UsageError } from '../../lib/errors.js';
import { waitFor } from '../../lib/wait.js';
import { DISCARD_EVENTS, type EventSink } from '../events.js';
import { type FaultProxy, faultProxy } from '../fault-proxy.js';
import { pauseProcess, resumeProcess } from '../processes.js';
import type { LagSample, SystemOptions, SystemUnderTest } from '../system.js';
import { type BinlogTxn, binlogFiles, readBinlogs } from './binlog.js';
import { writeEvidence } from './evidence.js';
import { MariadbMonitor } from './failover.js';
import { compareGtidPos, type Gtid, gtidText, seqIn } from './gtid.js';
import { semiSyncSettings, serverOptions, unsupported } from './mapping.js';
import { findMariadbTools, type MariadbTools } from './packages.js';
import { APP_USER, DATABASE, MariadbDataClient, SCHEMA_SQL } from './sql-client.js';

interface MNode {
  id: string;
  serverId: number;
  port: number;
  dir: string;
  dataDir: string;
  socket: string;
  pidFile: string;
  errorLog: string;
  pid: number;
}

export class MariadbSystem implements SystemUnderTest {
  readonly system = 'mariadb' as const;
  private proxy: FaultProxy | undefined;
  private linkMap: Record<string, string> = {};
  private readonly nodes: MNode[] = [];
  private forgetInterrupt: (() => void) | undefined;
  private monitor: MariadbMonitor | undefined;
  /** Binlogs set aside before a node was re-cloned: node → folders, oldest first. */
  private readonly setAside = new Map<string, string[]>();

  private constructor(
    readonly spec: ClusterSpec,
    readonly stateDir: string,
    private readonly tools: MariadbTools,
    private readonly events: EventSink,
  ) {}

  static async up(spec: ClusterSpec, options: Partial<SystemOptions>): Promise<MariadbSystem> {
    const problems = unsupported(spec);
    if (problems.length) throw new ConfigError(`cluster ${spec.name} (system: mariadb): ${problems.join('; ')}`);
    const tools = findMariadbTools();
    const dir = path.resolve(options.stateRoot ?? '.replab', spec.name);
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
    await fsp.mkdir(path.join(dir, 'monitor'), { recursive: true });
    await fsp.chmod(dir, 0o711);
    await makeTraversable(dir);
    // mariadbd writes its error log there itself, as its own user.
    if (tools.runAs) await fsp.chown(path.join(dir, 'logs'), tools.runAs.uid, tools.runAs.gid);
    const sys = new MariadbSystem(spec, dir, tools, options.events ?? DISCARD_EVENTS);
    sys.forgetInterrupt = onInterrupt(() => sys.down());
    try {
      await sys.start(options.readyTimeoutMs ?? 120_000);
    } catch (e: unknown) {
      await sys.down().catch(() => {});
      throw e;
    }
    return sys;
  }

  private async start(readyTimeoutMs: number): Promise<void> {
    // Every link to a node's one port: replication from each other node, the monitor, clients.
    const links = await faultProxy({
      dir: path.join(this.stateDir, 'proxy'),
      logFile: path.join(this.stateDir, 'logs', 'proxy.log'),
      nodes: this.spec.nodes.map((n) => n.id),
      kinds: ['repl', 'monitor', 'client'],
    });
    this.proxy = links.proxy;
    this.linkMap = links.proxy.links();
    for (const [i, n] of this.spec.nodes.entries()) {
      const dir = path.join(this.stateDir, 'nodes', n.id);
      this.nodes.push({
        id: n.id,
        serverId: i + 1,
        port: links.ports[n.id]!,
        dir,
        dataDir: path.join(dir, 'data'),
        socket: path.join(dir, 'mariadbd.sock'),
        pidFile: path.join(dir, 'mariadbd.pid'),
        errorLog: path.join(this.stateDir, 'logs', `${n.id}.log`),
        pid: 0,
      });
    }
    // One mariadb-install-db, copied to every node: the same system tables, a third of the CPU.
    const template = path.join(this.stateDir, 'template');
    await this.installDb(template);
    for (const n of this.nodes) await this.initNode(n, template);
    await Promise.all(this.nodes.map((n) => this.spawnNode(n)));
    await this.save();
    await Promise.all(this.nodes.map((n) => this.waitUp(n, readyTimeoutMs)));
    // Users on every node without binlogging them (they are not the cluster's data).
    for (const n of this.nodes)
      await this.local(n, [
        'SET sql_log_bin = 0',
        `CREATE USER IF NOT EXISTS '${APP_USER.user}'@'127.0.0.1' IDENTIFIED BY '${APP_USER.password}'`,
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ${DATABASE}.* TO '${APP_USER.user}'@'127.0.0.1'`,
      ]);
    const first = this.nodes.find((n) => n.id === this.spec.leader) ?? this.nodes[0]!;
    const monitor = new MariadbMonitor({
      nodeIds: () => this.nodeIds(),
      monitorAddr: (id) => this.linkMap[monitorLink(id)]!,
      replPort: (from, to) => Number(this.linkMap[replLink(from, to)]!.split(':')[1]),
      binlog: (id) => this.binlog(id),
      reclone: (id, primary) => this.reclone(id, primary),
      semiSync: semiSyncSettings(this.spec),
      heartbeatMs: this.spec.failover.heartbeatMs,
      failoverTimeoutMs: this.spec.failover.failoverTimeoutMs,
      events: this.events,
    });
    // Replicas attach before any data is written: a semi-sync primary would wait for them.
    for (const n of this.nodes) if (n !== first) await monitor.sql(n.id, [monitor.changeMaster(n.id, first.id), 'START SLAVE'], 10_000);
    const semi = semiSyncSettings(this.spec);
    await monitor.sql(first.id, [`SET GLOBAL rpl_semi_sync_master_enabled = ${semi.rpl_semi_sync_master_enabled}`, 'SET GLOBAL read_only = 0'], 10_000);
    if (semi.rpl_semi_sync_master_enabled === 'ON') {
      const acking = await waitFor(
        async () => {
          const rows = (await monitor.sql(first.id, ["SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'"], 2000).catch(() => [])) as Array<{ Value: string }>;
          return Number(rows[0]?.Value ?? 0) >= 1;
        },
        30_000,
        100,
      );
      if (!acking) throw new EnvironmentError(`MariaDB cluster ${this.spec.name}: no semi-sync replica connected to ${first.id} within 30 s`);
    }
    await monitor.sql(first.id, SCHEMA_SQL, 30_000);
    this.monitor = monitor;
    await monitor.start(first.id);
    await this.waitConverged(30_000);
  }

  private async chownToMysql(p: string): Promise<void> {
    if (this.tools.runAs) await fsp.chown(p, this.tools.runAs.uid, this.tools.runAs.gid);
  }

  private async initNode(n: MNode, template: string): Promise<void> {
    await fsp.mkdir(path.join(n.dir, 'tmp'), { recursive: true });
    await fsp.cp(template, n.dataDir, { recursive: true, preserveTimestamps: true });
    for (const p of [n.dir, path.join(n.dir, 'tmp'), n.dataDir]) await this.chownToMysql(p);
    for (const p of await fsp.readdir(n.dataDir, { recursive: true })) await this.chownToMysql(path.join(n.dataDir, p));
  }

  private async installDb(dataDir: string): Promise<void> {
    await fsp.mkdir(dataDir, { recursive: true });
    const tmp = path.join(this.stateDir, 'tmp');
    await fsp.mkdir(tmp, { recursive: true });
    await this.chownToMysql(dataDir);
    await this.chownToMysql(tmp);
    const args = [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--tmpdir=${tmp}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
    ];
    if (this.tools.runAs) args.push('--user=mysql');
    const log = path.join(this.stateDir, 'logs', 'install-db.log');
    const fd = openSync(log, 'a');
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(this.tools.installDb, args, { stdio: ['ignore', fd, fd] });
      child.on('exit', resolve);
      child.on('error', () => resolve(-1));
    });
    closeSync(fd);
    if (code !== 0) throw new EnvironmentError(`mariadb-install-db exited ${code}`, { logPath: log, recentOutput: await tailFile(log) });
  }

  private async spawnNode(n: MNode): Promise<void> {
    const args = ['--no-defaults', ...serverOptions(this.spec, n)];
    if (this.tools.runAs) args.push('--user=mysql');
    const child = spawn(this.tools.mariadbd, args, { detached: true, stdio: 'ignore', cwd: n.dir });
    child.unref();
    n.pid = child.pid ?? 0;
  }

  private async waitUp(n: MNode, timeoutMs: number): Promise<void> {
    const up = await waitFor(
      async () =>
        this.local(n, ['SELECT 1']).then(
          () => true,
          () => false,
        ),
      timeoutMs,
      100,
    );
    if (!up)
      throw new EnvironmentError(`mariadbd ${n.id} did not accept connections within ${timeoutMs / 1000} s`, {
        logPath: n.errorLog,
        recentOutput: await tailFile(n.errorLog),
      });
  }

  /** Statements on node `n` over its local socket as root (set-up and re-cloning, not a fault-injected link). */
  private async local(n: MNode, statements: string[]): Promise<unknown> {
    const conn = await mariadb.createConnection({ socketPath: n.socket, user: 'root', password: '', connectTimeout: 2000 });
    try {
      let rows: unknown;
      for (const s of statements) rows = await conn.query(s);
      return rows;
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }

  private async save(): Promise<void> {
    const file = {
      name: this.spec.name,
      system: 'mariadb',
      nodes: this.nodes.map((n) => ({ id: n.id, http: '', repl: this.linkMap[clientLink(n.id)] ?? '', pid: n.pid, dataDir: n.dataDir })),
      proxy: this.proxy && { api: this.proxy.api, pid: this.proxy.pid },
      pids: [],
    };
    await writeFileAtomic(path.join(this.stateDir, 'cluster.json'), JSON.stringify(file, null, 2), { mode: 0o600 });
  }

  private node(id: string): MNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new UsageError(`cluster "${this.spec.name}" has no node "${id}" (nodes: ${this.nodes.map((x) => x.id).join(', ')})`);
    return n;
  }

  private binlog(id: string): Promise<BinlogTxn[]> {
    return readBinlogs(this.tools.binlog, this.node(id).dataDir);
  }

  /**
   * Re-clones `id` from `primary`: its binlogs are set aside (evidence), a consistent dump of the
   * data with its GTID position is taken from the primary (mariadb-dump --single-transaction
   * --gtid), and `id` drops its data and binlog (RESET MASTER: its errant GTIDs would stop strict
   * replication), loads the dump unlogged, sets gtid_slave_pos to the dump's and replicates.
   */
  private async reclone(id: string, primary: string): Promise<void> {
    const n = this.node(id);
    const aside = path.join(this.stateDir, 'evidence', `${id}-${(this.setAside.get(id)?.length ?? 0) + 1}`);
    await fsp.mkdir(aside, { recursive: true });
    for (const f of await binlogFiles(n.dataDir)) await fsp.copyFile(f, path.join(aside, path.basename(f)));
    await fsp.writeFile(path.join(aside, 'binlog.index'), (await binlogFiles(n.dataDir)).map((f) => `./${path.basename(f)}\n`).join(''));
    this.setAside.set(id, [...(this.setAside.get(id) ?? []), aside]);
    const dumpFile = path.join(this.stateDir, 'evidence', `${id}-clone.sql`);
    const [host, port] = this.linkMap[monitorLink(primary)]!.split(':');
    await this.runTool(this.tools.dump, ['-h', host!, '-P', port!, '-uroot', '--single-transaction', '--gtid', '--master-data=2', '--databases', DATABASE], {
      out: dumpFile,
    });
    const pos = /gtid_slave_pos='([^']*)'/.exec(await fsp.readFile(dumpFile, 'utf8'))?.[1];
    if (pos === undefined) throw new Error(`the dump of ${primary} for re-cloning ${id} names no gtid_slave_pos`);
    await this.local(n, [
      'STOP SLAVE',
      'RESET SLAVE ALL',
      'SET GLOBAL read_only = 1',
      'SET GLOBAL rpl_semi_sync_master_enabled = OFF',
      'SET sql_log_bin = 0',
      `DROP DATABASE IF EXISTS ${DATABASE}`,
      'RESET MASTER',
    ]);
    await this.runTool(this.tools.client, [`--socket=${n.socket}`, '-uroot', '--init-command=SET sql_log_bin = 0'], { in: dumpFile });
    await this.local(n, [`SET GLOBAL gtid_slave_pos = '${pos}'`, this.monitor!.changeMaster(id, primary), 'START SLAVE']);
  }

  private async runTool(cmd: string, args: string[], io: { out?: string; in?: string }): Promise<void> {
    const outFd = io.out ? openSync(io.out, 'w') : 'ignore';
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(cmd, args, { stdio: [io.in ? 'pipe' : 'ignore', outFd, 'pipe'] });
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      if (io.in && child.stdin) createReadStream(io.in).pipe(child.stdin);
      child.on('exit', resolve);
      child.on('error', (e) => {
        stderr += toError(e).message;
        resolve(-1);
      });
    });
    if (typeof outFd === 'number') closeSync(outFd);
    if (code !== 0) throw new Error(`${path.basename(cmd)} exited ${code}: ${stderr.trim().split('\n').slice(-2).join(' ')}`);
  }

  /** The primary's own port, past the proxy (bench:peers drives every system directly). */
  directPort(id: string): number {
    return this.node(id).port;
  }

  /** Each node's mariadbd pid (bench:peers counts their CPU time). */
  pids(): Array<{ id: string; pid: number }> {
    return this.nodes.map((n) => ({ id: n.id, pid: n.pid }));
  }

  /** The fault proxy's pid. */
  proxyPid(): number | undefined {
    return this.proxy?.pid;
  }

  // ---- SystemUnderTest --------------------------------------------------------------------

  nodeIds(): string[] {
    return this.nodes.map((n) => n.id);
  }

  async currentLeaderId(): Promise<string> {
    const p = this.monitor?.primary;
    if (!p) throw new UsageError(`cluster "${this.spec.name}" has no primary right now`);
    return p;
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
    await killHard(n.pid);
  }

  async pause(id: string): Promise<void> {
    await pauseProcess(this.node(id).pid, `node ${id}`);
  }

  async resume(id: string): Promise<void> {
    resumeProcess(this.node(id).pid);
  }

  async restart(id: string): Promise<void> {
    const n = this.node(id);
    if (await isRunning(n.pid)) await this.kill(id);
    await this.spawnNode(n);
    await this.save();
  }

  async dataClient(): Promise<MariadbDataClient> {
    return new MariadbDataClient(
      this.nodes.map((n) => ({ id: n.id, sql: this.linkMap[clientLink(n.id)]! })),
      () => this.monitor?.primary,
    );
  }

  /** The monitor's last probes: transactions each replica is behind the primary's binlog. */
  async lag(): Promise<LagSample[] | undefined> {
    const primary = this.monitor?.primary;
    const probes = this.monitor?.latest ?? {};
    const p = primary ? probes[primary] : undefined;
    if (!primary || !p?.ok) return undefined;
    return this.nodes
      .filter((n) => n.id !== primary)
      .map((n) => {
        const r = probes[n.id];
        return {
          leader: primary,
          follower: n.id,
          lagRecords: r?.ok ? Math.max(0, seqIn(p.binlogPos ?? []) - seqIn(r.currentPos ?? [])) : -1,
          lagMs: -1,
          connected: r?.ok === true && r.slave?.Slave_IO_Running === 'Yes',
        };
      });
  }

  /** Every node answers, replicates from the primary, and has applied the primary's binlog position. */
  async waitConverged(timeoutMs: number): Promise<number> {
    const mon = this.monitor;
    let behind = 'no primary';
    const ok = await waitFor(
      async () => {
        const primary = mon?.primary;
        if (!mon || !primary) return false;
        const probes = await Promise.all(this.nodes.map((n) => mon.probe(n.id)));
        const p = probes[this.nodes.findIndex((n) => n.id === primary)]!;
        if (!p.ok || p.readOnly) {
          behind = `primary ${primary}: ${p.ok ? 'read-only' : p.error}`;
          return false;
        }
        const lagging = this.nodes.flatMap((n, i) => {
          const r = probes[i]!;
          if (n.id === primary) return [];
          if (!r.ok) return [`${n.id}: ${r.error}`];
          const io = r.slave?.Slave_IO_Running;
          if (r.readOnly && io === 'Yes' && compareGtidPos(r.currentPos ?? [], p.binlogPos ?? []) >= 0) return [];
          return [
            `${n.id}: read_only ${r.readOnly ? 1 : 0}, IO ${String(io ?? 'not a replica')}, at ${gtidListText(r.currentPos)} of ${gtidListText(p.binlogPos)}${r.slave?.Last_IO_Error ? `, ${String(r.slave.Last_IO_Error)}` : ''}${r.slave?.Last_SQL_Error ? `, ${String(r.slave.Last_SQL_Error)}` : ''}`,
          ];
        });
        behind = lagging.join('; ');
        return lagging.length === 0;
      },
      timeoutMs,
      250,
    );
    if (!ok) throw new EnvironmentError(`MariaDB cluster ${this.spec.name} did not converge within ${timeoutMs} ms (${behind})`);
    return 0;
  }

  async down(options: { clean?: boolean } = {}): Promise<void> {
    await this.monitor?.stop();
    await Promise.all(
      this.nodes.map(async (n) => {
        if (!n.pid) return;
        signal(n.pid, 'SIGCONT');
        await stopGracefully(n.pid, 10_000);
      }),
    );
    for (const pid of await pidsMentioning(this.stateDir)) await killHard(pid);
    await this.proxy?.stop();
    if (options.clean) await fsp.rm(this.stateDir, { recursive: true, force: true });
    this.forgetInterrupt?.();
  }

  /**
   * Logs, monitor events, the errant transactions each rejoining node had (rewound-<node>.jsonl,
   * as rewound records are kept for replab's KV) and the binlog evidence (evidence.ts).
   */
  async keepArtefacts(dir: string): Promise<Record<string, string | null>> {
    await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
    const logs = path.join(this.stateDir, 'logs');
    for (const f of await fsp.readdir(logs).catch(() => [] as string[])) await fsp.copyFile(path.join(logs, f), path.join(dir, 'logs', f)).catch(() => {});
    const errant = this.monitor?.errant ?? [];
    for (const id of new Set(errant.map((r) => r.node)))
      await fsp.writeFile(
        path.join(dir, `rewound-${id}.jsonl`),
        errant
          .filter((r) => r.node === id)
          .map((r) => `${JSON.stringify(r)}\n`)
          .join(''),
      );
    const binlogs: Record<string, BinlogTxn[]> = {};
    const why: Record<string, string | null> = {};
    for (const n of this.nodes) {
      try {
        const before = [];
        for (const d of this.setAside.get(n.id) ?? []) before.push(...(await readBinlogs(this.tools.binlog, d)));
        binlogs[n.id] = [...before, ...(await readBinlogs(this.tools.binlog, n.dataDir))];
        why[n.id] = 'MariaDB keeps a binlog, not a replab log; binlog-evidence.json says which binlogs hold each write';
      } catch (e: unknown) {
        why[n.id] = `its binlog could not be read: ${toError(e).message.split('\n')[0]}`;
      }
    }
    await writeEvidence(dir, binlogs, this.monitor?.primary);
    return why;
  }
}

/** mariadbd runs as another OS user, who must be able to reach its folders (search permission). */
async function makeTraversable(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const st = await fsp.stat(d).catch(() => undefined);
    if (st && (st.mode & 0o001) === 0 && existsSync(d)) await fsp.chmod(d, (st.mode & 0o7777) | 0o011);
  }
}

const gtidListText = (pos: Gtid[] | undefined) => (pos?.length ? pos.map(gtidText).join(',') : 'nothing');
