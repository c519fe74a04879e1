/**
 * MariaDB as a workload's DataClient, with the `mariadb` npm client: the register is a table
 * `replab_register (k, v)` (write an upsert, cas an `update … where v = ?`, or an `insert ignore`
 * when the key should be absent), the set an insert-only `replab_set`; a read looks in both, so a
 * set element can be read back like a register key. Every statement runs on its own (autocommit).
 *
 * The primary is whichever node replab's monitor (failover.ts) last made writable, asked in-process
 * as an application would ask its service discovery; the SQL goes through the node's `client:`
 * proxy link as user `app`, who lacks READ ONLY ADMIN, so a fenced node refuses writes (1290).
 * Reads go to the primary (`leader-only`) or, under `round-robin`, to each replica in turn, then
 * the primary when the replica fails. A write's ok carries `lsn`: the sequence number of its GTID
 * (@@last_gtid on the same connection), which orders writes as the primary committed them.
 * Outcomes map as outcome.ts says.
 *
 * A statement that times out leaves its connection open (abandoned until the client closes), not
 * closed: MariaDB commits a transaction whose session goes away while it waits for its semi-sync
 * acknowledgement, so closing it would make an unacknowledged write visible on the primary even
 * under AFTER_SYNC (the suite saw exactly that: clients read inserts that the failover then lost).
 * An application that drops such connections gets that anomaly; replab's client does not add it.
 */
import mariadb, { type Connection } from 'mariadb';
import type { Outcome } from '../../client/kv-http.js';
import type { DataClient, ReadRequest } from '../../workloads/data-client.js';
import { parseGtidList, seqIn } from './gtid.js';
import { mariadbOutcome } from './outcome.js';

export const DATABASE = 'replab';
export const REGISTER_TABLE = 'replab_register';
export const SET_TABLE = 'replab_set';
export const APP_USER = { user: 'app', password: 'replab-app' };

export interface MariadbClientNode {
  id: string;
  /** host:port of the node's client: proxy link. */
  sql: string;
}

interface Conn {
  conn: Promise<Connection>;
  broken: boolean;
}

type Executed = { ok: true; rows: unknown } | { ok: false; outcome: Outcome };

export class MariadbDataClient implements DataClient {
  private readonly conns = new Map<string, Conn>();
  /** Connections left open after a timeout (see the file's comment), closed with the client. */
  private readonly abandoned: Conn[] = [];
  private cursor = 0;
  private hint: string | undefined;

  constructor(
    private readonly nodes: MariadbClientNode[],
    /** The node the monitor made primary, undefined while there is none. */
    private readonly primaryOf: () => string | undefined,
  ) {}

  nodeIds(): string[] {
    return this.nodes.map((n) => n.id);
  }

  private get primary(): string | undefined {
    return this.primaryOf() ?? this.hint;
  }

  noteLeaderHint(leader: string): void {
    if (this.nodes.some((n) => n.id === leader)) this.hint = leader;
  }

  async refresh(): Promise<void> {
    this.hint = undefined;
  }

  close(): void {
    for (const c of [...this.conns.values(), ...this.abandoned]) void c.conn.then((x) => x.destroy()).catch(() => {});
    this.conns.clear();
    this.abandoned.length = 0;
  }

  private connection(nodeId: string): Conn {
    const have = this.conns.get(nodeId);
    if (have && !have.broken) return have;
    const [host, port] = this.nodes.find((n) => n.id === nodeId)!.sql.split(':');
    const c: Conn = {
      conn: mariadb.createConnection({ host, port: Number(port), ...APP_USER, database: DATABASE, connectTimeout: 2000, bigIntAsNumber: true }),
      broken: false,
    };
    c.conn.then(
      (x) => x.on('error', () => (c.broken = true)),
      () => (c.broken = true),
    );
    this.conns.set(nodeId, c);
    return c;
  }

  /** Runs one statement on `nodeId` within `timeoutMs`; a connection that failed is replaced next time. */
  private async exec(nodeId: string, sql: string, values: unknown[], timeoutMs: number): Promise<Executed> {
    const c = this.connection(nodeId);
    let timer: NodeJS.Timeout | undefined;
    let sent = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`timeout after ${timeoutMs} ms`), { code: 'ER_TIMEOUT' })), Math.max(1, timeoutMs));
    });
    try {
      const conn = await Promise.race([c.conn, timeout]);
      sent = true;
      return { ok: true, rows: await Promise.race([conn.query(sql, values), timeout]) };
    } catch (e: unknown) {
      const out = mariadbOutcome(e, sent, nodeId);
      if (!sent || out.type === 'info') {
        c.broken = true;
        if (sent && out.type === 'info' && out.error === 'timeout') this.abandoned.push(c);
        else void c.conn.then((x) => x.destroy()).catch(() => {});
      }
      return { ok: false, outcome: out };
    } finally {
      clearTimeout(timer);
    }
  }

  /** A statement on the primary, then its GTID on the same connection (what `lsn` is made of). */
  private async onPrimary(sql: string, values: unknown[], timeoutMs: number, ok: (affected: number) => Outcome): Promise<Outcome> {
    const node = this.primary;
    if (!node) return { type: 'fail', error: 'no primary known (the monitor has made none writable)' };
    const deadline = Date.now() + timeoutMs;
    const r = await this.exec(node, sql, values, timeoutMs);
    if (!r.ok) {
      if (r.outcome.type === 'fail' && r.outcome.error.startsWith('1290')) this.hint = undefined;
      return r.outcome;
    }
    const out = { ...ok(Number((r.rows as { affectedRows?: number }).affectedRows ?? 0)), node };
    if (out.type !== 'ok') return out;
    const g = await this.exec(node, 'SELECT @@last_gtid AS g', [], Math.max(100, deadline - Date.now()));
    if (!g.ok) return out;
    try {
      const seq = seqIn(parseGtidList((g.rows as Array<{ g: string | null }>)[0]?.g ?? ''));
      return seq > 0 ? { ...out, lsn: seq } : out;
    } catch {
      return out;
    }
  }

  private async readOn(nodeId: string, key: string, timeoutMs: number): Promise<Outcome> {
    const r = await this.exec(nodeId, `SELECT v FROM ${REGISTER_TABLE} WHERE k = ? UNION ALL SELECT v FROM ${SET_TABLE} WHERE k = ?`, [key, key], timeoutMs);
    if (!r.ok) return r.outcome;
    const rows = r.rows as Array<{ v: string }>;
    return { type: 'ok', value: rows[0]?.v ?? null, node: nodeId };
  }

  async read({ key, policy, timeoutMs }: ReadRequest): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    const primary = this.primary;
    if (policy.kind === 'round-robin') {
      const replicas = this.nodes.map((n) => n.id).filter((id) => id !== primary);
      if (replicas.length) {
        const out = await this.readOn(replicas[this.cursor++ % replicas.length]!, key, Math.floor(timeoutMs / 2));
        if (out.type === 'ok') return out;
      }
    } else if (policy.kind !== 'leader-only') {
      return { type: 'fail', error: `read policy ${policy.kind}: the mariadb system routes reads leader-only or round-robin` };
    }
    if (!primary) return { type: 'fail', error: 'no primary known (the monitor has made none writable)' };
    return this.readOn(primary, key, Math.max(1, deadline - Date.now()));
  }

  write(key: string, value: string, timeoutMs: number): Promise<Outcome> {
    return this.onPrimary(`INSERT INTO ${REGISTER_TABLE} (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)`, [key, value], timeoutMs, () => ({
      type: 'ok',
      value,
    }));
  }

  cas(key: string, expected: string | null, value: string, timeoutMs: number): Promise<Outcome> {
    const changed = (n: number): Outcome => (n === 1 ? { type: 'ok', value } : { type: 'fail', error: 'cas_mismatch' });
    if (expected === null) return this.onPrimary(`INSERT IGNORE INTO ${REGISTER_TABLE} (k, v) VALUES (?, ?)`, [key, value], timeoutMs, changed);
    return this.onPrimary(`UPDATE ${REGISTER_TABLE} SET v = ? WHERE k = ? AND v = ?`, [value, key, expected], timeoutMs, changed);
  }

  add(key: string, timeoutMs: number): Promise<Outcome> {
    return this.onPrimary(`INSERT INTO ${SET_TABLE} (k, v) VALUES (?, '1')`, [key], timeoutMs, () => ({ type: 'ok', value: '1' }));
  }

  async scan(nodeId: string, prefix: string, timeoutMs: number): Promise<Outcome> {
    const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const r = await this.exec(
      nodeId,
      `SELECT k, v FROM ${REGISTER_TABLE} WHERE k LIKE ? UNION ALL SELECT k, v FROM ${SET_TABLE} WHERE k LIKE ?`,
      [like, like],
      timeoutMs,
    );
    if (!r.ok) return r.outcome;
    return { type: 'ok', value: (r.rows as Array<{ k: string; v: string }>).map((row) => ({ key: row.k, value: row.v })), node: nodeId };
  }
}

/** The tables the workloads use, created on the first primary (and replicated from there). */
export const SCHEMA_SQL = [
  `CREATE DATABASE IF NOT EXISTS ${DATABASE}`,
  `CREATE TABLE IF NOT EXISTS ${DATABASE}.${REGISTER_TABLE} (k VARCHAR(255) PRIMARY KEY, v VARCHAR(255) NOT NULL) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS ${DATABASE}.${SET_TABLE} (k VARCHAR(255) PRIMARY KEY, v VARCHAR(255) NOT NULL) ENGINE=InnoDB`,
];
