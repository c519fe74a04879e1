/**
 * Redis from Debian's redis-server: a primary and two replicas on 127.0.0.1, each with its own AOF
 * and `appendfsync always` (every write fsynced before the reply, like replab's flush), RDB
 * snapshots off. Modes map to how long a client waits after SET:
 *   async      SET alone (primary's AOF fsynced)
 *   semi-sync  SET + WAIT 1 0 in one round trip (one replica has *received* the write)
 *   sync       SET + WAIT 2 0 (both replicas received it)
 * WAIT counts replicas that acknowledged the replication offset, which Redis replicas send on
 * receipt, not after their own fsync: a weaker promise than replab's or PostgreSQL's at `flush`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, promises as fsp, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { stopGracefully } from '../../src/cluster/process-control.js';
import { freePort } from '../../src/lib/addr.js';
import { waitFor } from '../../src/lib/wait.js';
import { MissingPackage, type Peer, type PeerConnection, type PeerMode, type PeerProcessRole } from './peer.js';

const SERVER = '/usr/bin/redis-server';

export class RedisPeer implements Peer {
  readonly name: string;
  private dir = '';
  private ports: number[] = [];
  private procs: ChildProcess[] = [];
  private mode: PeerMode = 'async';

  constructor() {
    if (!existsSync(SERVER)) throw new MissingPackage('redis-server (Debian package redis-server)');
    const v = /v=(\S+)/.exec(execFileSync(SERVER, ['--version']).toString())?.[1] ?? '?';
    this.name = `Redis ${v}`;
  }

  promise(mode: PeerMode): string {
    return mode === 'async'
      ? 'primary AOF fsync'
      : mode === 'semi-sync'
        ? 'primary AOF fsync + 1 replica received (WAIT 1)'
        : 'primary AOF fsync + 2 replicas received (WAIT 2)';
  }

  async use(mode: PeerMode): Promise<void> {
    this.mode = mode; // the mode is the client's WAIT, not a server setting
    if (!this.procs.length) await this.start();
    // Measure from a level start: replicas still applying the previous measurement's writes (after
    // 64 KiB values, for seconds) would make the next WAIT look slow.
    const caughtUp = await this.withAdmin((admin) =>
      waitFor(
        async () => {
          const info = await admin.info('replication').catch(() => '');
          const master = Number(/master_repl_offset:(\d+)/.exec(info)?.[1] ?? NaN);
          const offsets = [...info.matchAll(/slave\d+:[^\r\n]*offset=(\d+)/g)].map((m) => Number(m[1]));
          return offsets.length === 2 && offsets.every((o) => o >= master);
        },
        120_000,
        100,
      ),
    );
    if (!caughtUp) throw new Error(`Redis replicas did not catch up with the primary in 120 s (logs in ${this.dir})`);
  }

  private async start(): Promise<void> {
    this.dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'replab-peers-redis-'));
    this.ports = [await freePort(), await freePort(), await freePort()];
    for (let i = 0; i < 3; i++) {
      const dir = path.join(this.dir, `r${i}`);
      await fsp.mkdir(dir);
      const args = [
        '--port',
        String(this.ports[i]),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
        '--maxclients',
        '1000',
      ];
      if (i > 0) args.push('--replicaof', '127.0.0.1', String(this.ports[0]));
      const log = openSync(path.join(this.dir, `r${i}.log`), 'a');
      this.procs.push(spawn(SERVER, args, { stdio: ['ignore', log, log] }));
      closeSync(log);
    }
    const online = await this.withAdmin((admin) =>
      waitFor(
        async () => {
          try {
            if (admin.status !== 'ready' && admin.status !== 'connecting') await admin.connect();
            const info = await admin.info('replication');
            return (info.match(/state=online/g) ?? []).length === 2;
          } catch {
            return false;
          }
        },
        20_000,
        100,
      ),
    );
    if (!online) throw new Error(`Redis replicas did not come online in 20 s (logs in ${this.dir})`);
  }

  private async withAdmin<T>(f: (admin: Redis) => Promise<T>): Promise<T> {
    const admin = new Redis({ host: '127.0.0.1', port: this.ports[0], lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    admin.on('error', () => undefined); // refused until the primary listens: the callers retry
    try {
      await admin.connect().catch(() => undefined);
      return await f(admin);
    } finally {
      admin.disconnect();
    }
  }

  async connect(): Promise<PeerConnection> {
    const r = new Redis({ host: '127.0.0.1', port: this.ports[0], lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await r.connect();
    const replicas = this.mode === 'semi-sync' ? 1 : this.mode === 'sync' ? 2 : 0;
    const write =
      replicas === 0
        ? async (key: string, value: string) => {
            await r.set(key, value);
          }
        : async (key: string, value: string) => {
            const out = await r.pipeline().set(key, value).call('WAIT', String(replicas), '0').exec();
            const err = out?.find(([e]) => e)?.[0];
            if (err) throw err;
            if (Number(out?.[1]?.[1]) < replicas) throw new Error(`WAIT ${replicas} answered ${String(out?.[1]?.[1])}`);
          };
    return { write, close: () => r.disconnect() };
  }

  processes(): Array<{ name: PeerProcessRole; pid: number }> {
    return this.procs.map((p, i) => ({ name: i === 0 ? 'primary' : 'replicas', pid: p.pid ?? 0 }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => (p.pid ? stopGracefully(p.pid, 5000) : undefined)));
    this.procs = [];
    if (this.dir) await fsp.rm(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
}
