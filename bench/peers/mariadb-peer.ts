/**
 * MariaDB as bench:peers runs it: clusters/mariadb.yaml through replab's mariadb system (a primary
 * and two GTID replicas, replication through the cluster's fault proxy, replab's monitor watching),
 * started fresh for each mode. Clients write straight to the primary's port, as they do for the
 * other peers. A write is a single-row upsert in autocommit into a table of its own (a LONGBLOB
 * value, so the scaling runs' 64 KiB values fit). `sync_binlog = 1` and
 * `innodb_flush_log_at_trx_commit = 1`: a commit waits for the primary's binlog and redo fsync, and
 * in semi-sync (AFTER_SYNC) for one replica to have the transaction in its relay log. MariaDB has no
 * sync mode.
 */
import os from 'node:os';
import path from 'node:path';
import mariadb from 'mariadb';
import { loadClusterSpec } from '../../src/cluster/spec.js';
import { EnvironmentError } from '../../src/lib/errors.js';
import { projectRoot } from '../../src/lib/paths.js';
import { MariadbSystem } from '../../src/systems/mariadb/index.js';
import { findMariadbTools } from '../../src/systems/mariadb/packages.js';
import { MissingPackage, type Peer, type PeerConnection, type PeerMode, type PeerProcessRole } from './peer.js';

const UPSERT = 'INSERT INTO replab.kv (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)';

export class MariadbPeer implements Peer {
  readonly name = 'MariaDB 10.11';
  private sys: MariadbSystem | undefined;
  private port = 0;

  /** The installed MariaDB (the mariadb system's own lookup), or MissingPackage. */
  static create(): MariadbPeer {
    try {
      findMariadbTools();
    } catch (e: unknown) {
      if (e instanceof EnvironmentError) throw new MissingPackage('MariaDB (Debian package mariadb-server)');
      throw e;
    }
    return new MariadbPeer();
  }

  supports(mode: PeerMode): boolean {
    return mode !== 'sync';
  }

  promise(mode: PeerMode): string {
    return mode === 'async' ? 'primary binlog + redo fsync' : 'primary binlog + redo fsync + 1 replica relay log (AFTER_SYNC)';
  }

  async use(mode: PeerMode): Promise<void> {
    await this.stop();
    const base = await loadClusterSpec(path.join(projectRoot(), 'clusters', 'mariadb.yaml'));
    const replication = {
      ...base.replication,
      mode,
      ...(mode === 'semi-sync' ? { k: 1, waitPoint: 'after-sync' as const, onSyncTimeout: 'block' as const } : {}),
    };
    this.sys = await MariadbSystem.up({ ...base, name: 'peers-bench-mariadb', replication }, { stateRoot: path.join(os.tmpdir(), 'replab-peers-mariadb') });
    this.port = this.sys.directPort(await this.sys.currentLeaderId());
    const c = await mariadb.createConnection({ host: '127.0.0.1', port: this.port, user: 'root', password: '' });
    try {
      await c.query('CREATE TABLE IF NOT EXISTS replab.kv (k VARCHAR(255) PRIMARY KEY, v LONGBLOB NOT NULL) ENGINE=InnoDB');
    } finally {
      await c.end();
    }
  }

  async connect(): Promise<PeerConnection> {
    const c = await mariadb.createConnection({ host: '127.0.0.1', port: this.port, user: 'root', password: '' });
    return {
      write: async (key, value) => {
        await c.execute(UPSERT, [key, value]);
      },
      close: () => c.end(),
    };
  }

  processes(): Array<{ name: PeerProcessRole; pid: number }> {
    const s = this.sys;
    if (!s) return [];
    const primary = s.pids().find((p) => p.pid && this.port === s.directPort(p.id))?.id;
    const proxy = s.proxyPid();
    return [
      ...s.pids().map((p) => ({ name: (p.id === primary ? 'primary' : 'replicas') as PeerProcessRole, pid: p.pid })),
      ...(proxy ? [{ name: 'harness' as const, pid: proxy }] : []),
    ];
  }

  async stop(): Promise<void> {
    const s = this.sys;
    this.sys = undefined;
    if (s) await s.down({ clean: true });
  }
}
