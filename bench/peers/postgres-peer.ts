/**
 * PostgreSQL from Debian's postgresql package: a primary and two streaming standbys (s1, s2) made
 * with pg_basebackup, each its own postmaster on 127.0.0.1, run as the `postgres` OS user when we
 * are root. `fsync` and `synchronous_commit = on` everywhere, so a commit waits for the primary's
 * WAL flush and, for the standbys named in synchronous_standby_names, their WAL flush:
 *   async      synchronous_standby_names = ''
 *   semi-sync  'ANY 1 (s1, s2)'
 *   sync       'ANY 2 (s1, s2)'
 * Changed with ALTER SYSTEM + pg_reload_conf(), so one cluster serves every mode. A write is a
 * single-row upsert in autocommit (a SET in SQL), prepared once per connection; the value column
 * is stored uncompressed because neither Redis nor replab compresses.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, promises as fsp, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stopGracefully } from '../../src/cluster/process-control.js';
import { freePort } from '../../src/lib/addr.js';
import { EnvironmentError } from '../../src/lib/errors.js';
import { waitFor } from '../../src/lib/wait.js';
import { postgresBinDir, postgresOsUser } from '../../src/systems/postgres/packages.js';
import { MissingPackage, type Peer, type PeerConnection, type PeerMode, type PeerProcessRole } from './peer.js';

const STANDBY_NAMES: Record<PeerMode, string> = { async: '', 'semi-sync': 'ANY 1 (s1, s2)', sync: 'ANY 2 (s1, s2)' };
const UPSERT = 'INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v';

export class PostgresPeer implements Peer {
  readonly name: string;
  private dir = '';
  private ports: number[] = [];
  private procs: ChildProcess[] = [];

  private constructor(
    private readonly bin: string,
    private readonly runAs: { uid: number; gid: number } | undefined,
  ) {
    const v = /(\d+(\.\d+)?)/.exec(execFileSync(path.join(bin, 'postgres'), ['--version']).toString())?.[1] ?? '?';
    this.name = `PostgreSQL ${v}`;
  }

  /** The installed PostgreSQL (the postgres system's own lookup), or MissingPackage. */
  static async create(): Promise<PostgresPeer> {
    const bin = await postgresBinDir();
    if (!bin) throw new MissingPackage('PostgreSQL (Debian package postgresql)');
    try {
      return new PostgresPeer(bin, postgresOsUser());
    } catch (e: unknown) {
      if (e instanceof EnvironmentError) throw new MissingPackage('the "postgres" OS user (created by Debian package postgresql)');
      throw e;
    }
  }

  promise(mode: PeerMode): string {
    return mode === 'async'
      ? 'primary WAL flush'
      : mode === 'semi-sync'
        ? 'primary WAL flush + 1 standby flushed (ANY 1)'
        : 'primary WAL flush + 2 standbys flushed (ANY 2)';
  }

  async use(mode: PeerMode): Promise<void> {
    if (!this.procs.length) await this.start();
    await this.sql(`ALTER SYSTEM SET synchronous_standby_names = '${STANDBY_NAMES[mode]}'`);
    await this.sql('SELECT pg_reload_conf()');
    // The setting is in force once the walsenders report the matching sync_state.
    const want = mode === 'async' ? ['async', 'async'] : mode === 'semi-sync' ? ['quorum', 'quorum'] : ['quorum', 'quorum'];
    const ok = await waitFor(
      async () => {
        const rows = await this.sql("SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming' ORDER BY application_name");
        const shown = (await this.sql('SHOW synchronous_standby_names'))[0]?.synchronous_standby_names;
        return shown === STANDBY_NAMES[mode] && rows.map((r) => r.sync_state).join() === want.join();
      },
      10_000,
      50,
    );
    if (!ok) throw new Error(`PostgreSQL did not switch to ${mode} (synchronous_standby_names '${STANDBY_NAMES[mode]}') in 10 s`);
    // Measure from a level start: both standbys have replayed everything written so far.
    const caughtUp = await waitFor(
      async () => (await this.sql('SELECT count(*)::int AS n FROM pg_stat_replication WHERE replay_lsn >= pg_current_wal_lsn()'))[0]?.n === 2,
      120_000,
      100,
    );
    if (!caughtUp) throw new Error(`PostgreSQL standbys did not catch up in 120 s (logs in ${this.dir})`);
  }

  async connect(): Promise<PeerConnection> {
    const c = new pg.Client({ host: '127.0.0.1', port: this.ports[0], user: 'postgres', database: 'postgres' });
    await c.connect();
    const write = async (key: string, value: string) => {
      await c.query({ name: 'put', text: UPSERT, values: [key, value] });
    };
    return { write, close: () => c.end() };
  }

  processes(): Array<{ name: PeerProcessRole; pid: number }> {
    return this.procs.map((p, i) => ({ name: i === 0 ? 'primary' : 'replicas', pid: p.pid ?? 0 }));
  }

  async stop(): Promise<void> {
    // Standbys first, so the primary's shutdown does not wait on walsenders.
    for (const p of [...this.procs].reverse()) if (p.pid) await stopGracefully(p.pid, 10_000);
    this.procs = [];
    if (this.dir) await fsp.rm(this.dir, { recursive: true, force: true });
    this.dir = '';
  }

  private run(cmd: string, args: string[]): void {
    execFileSync(path.join(this.bin, cmd), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.runAs ?? {}),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: this.dir },
    });
  }

  private postmaster(name: string): ChildProcess {
    const log = openSync(path.join(this.dir, `${name}.log`), 'a');
    const child = spawn(path.join(this.bin, 'postgres'), ['-D', path.join(this.dir, name)], {
      stdio: ['ignore', log, log],
      ...(this.runAs ?? {}),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
    });
    closeSync(log);
    this.procs.push(child);
    return child;
  }

  private async start(): Promise<void> {
    this.dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-peers-pg-'));
    if (this.runAs) await fsp.chown(this.dir, this.runAs.uid, this.runAs.gid);
    this.ports = [await freePort(), await freePort(), await freePort()];
    const settings = (port: number) =>
      `${[
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${this.dir}'`,
        'max_connections = 300',
        'wal_level = replica',
        'max_wal_senders = 10',
        'hot_standby = on',
        'fsync = on',
        'synchronous_commit = on',
        'shared_buffers = 128MB',
        'logging_collector = off',
      ].join('\n')}\n`;
    this.run('initdb', ['-D', path.join(this.dir, 'p0'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await fsp.appendFile(path.join(this.dir, 'p0', 'postgresql.conf'), settings(this.ports[0]!));
    this.postmaster('p0');
    await this.waitReady(this.ports[0]!);
    await this.sql('CREATE TABLE kv (k text PRIMARY KEY, v text NOT NULL)');
    await this.sql('ALTER TABLE kv ALTER COLUMN v SET STORAGE EXTERNAL');
    for (const [i, name] of ['s1', 's2'].entries()) {
      const port = this.ports[i + 1]!;
      this.run('pg_basebackup', [
        '-h',
        '127.0.0.1',
        '-p',
        String(this.ports[0]),
        '-U',
        'postgres',
        '-D',
        path.join(this.dir, name),
        '-X',
        'stream',
        '-R',
        '--checkpoint=fast',
        '--no-sync',
      ]);
      // Later lines win: the standby's own port and the name the primary knows it by.
      await fsp.appendFile(path.join(this.dir, name, 'postgresql.conf'), settings(port));
      await fsp.appendFile(
        path.join(this.dir, name, 'postgresql.auto.conf'),
        `primary_conninfo = 'host=127.0.0.1 port=${this.ports[0]} user=postgres application_name=${name}'\n`,
      );
      this.postmaster(name);
      await this.waitReady(port);
    }
    const streaming = await waitFor(
      async () => (await this.sql("SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'"))[0]?.n === 2,
      30_000,
      100,
    );
    if (!streaming) throw new Error(`PostgreSQL standbys did not start streaming in 30 s (logs in ${this.dir})`);
  }

  private async waitReady(port: number): Promise<void> {
    const ok = await waitFor(
      async () => {
        const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
        try {
          await c.connect();
          await c.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await c.end().catch(() => undefined);
        }
      },
      30_000,
      100,
    );
    if (!ok) throw new Error(`PostgreSQL on port ${port} did not accept connections in 30 s (logs in ${this.dir})`);
  }

  private async sql(text: string): Promise<Array<Record<string, unknown>>> {
    const c = new pg.Client({ host: '127.0.0.1', port: this.ports[0], user: 'postgres', database: 'postgres' });
    await c.connect();
    try {
      const rows: Array<Record<string, unknown>> = (await c.query(text)).rows;
      return rows;
    } finally {
      await c.end();
    }
  }
}
