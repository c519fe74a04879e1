/**
 * PostgreSQL as a workload's DataClient, with node-postgres (`pg`): the register is a table
 * `replab_register (k text primary key, v text)` — write is an upsert, read a select, cas an
 * `update … where v = $expected` (or an insert when the key should be absent); the set is an
 * insert-only table `replab_set`. Every statement runs on its own (autocommit), so its COMMIT is
 * part of the statement.
 *
 * The primary is found through Patroni's REST API (`GET /primary` answers 200 on the leader
 * only), asked directly like replab's client asks its monitor; the SQL itself goes through the
 * node's `client:` proxy link.
 *
 * Outcomes (`sqlOutcome`):
 *   fail  nothing was sent (connection refused, no primary known), or the server rejected the
 *         statement before committing it: read-only transaction (25006), a constraint, a bad value;
 *   info  anything that can happen after the COMMIT was sent: a timeout, the connection lost,
 *         the backend terminated or the statement cancelled (the cancel of a commit waiting for a
 *         synchronous standby leaves it committed locally, as PostgreSQL warns).
 */
import pg from 'pg';
import type { Outcome } from '../../client/kv-http.js';
import type { DataClient, ReadRequest } from '../../workloads/data-client.js';

export interface SqlNode {
  id: string;
  /** host:port of the node's client: proxy link (PostgreSQL's port behind it). */
  sql: string;
  /** host:port of the node's Patroni REST API. */
  rest: string;
}

export const REGISTER_TABLE = 'replab_register';
export const SET_TABLE = 'replab_set';

/** SQLSTATEs after which the statement certainly did not commit. */
const DEFINITE = new Set(['25006', '23505', '23502', '22001', '22021', '40001', '40P01', '42P01', '53300', '57P03', '28P01', '28000', '3D000']);

/** Maps an error to an outcome; `sent`: whether the statement may have reached the server. */
export function sqlOutcome(e: unknown, sent: boolean, node?: string): Outcome {
  const err = e as { code?: string; message?: string };
  const code = err.code;
  const message = err.message ?? String(e);
  if (!sent) return { type: 'fail', error: code === 'ECONNREFUSED' ? 'connection refused' : `could not connect (${code ?? message})`, node };
  if (code === '25006') return { type: 'fail', error: 'read-only transaction (not the primary)', node };
  if (code && DEFINITE.has(code)) return { type: 'fail', error: `${code}: ${message}`, node };
  if (code && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('57') && !code.startsWith('08') && !code.startsWith('XX')) {
    // Any other SQL error for a single autocommit statement: it was rejected, not committed.
    return { type: 'fail', error: `${code}: ${message}`, node };
  }
  return { type: 'info', error: code ? `${code}: ${message}` : message.includes('timeout') ? 'timeout' : `connection lost (${message})`, node };
}

interface Conn {
  client: pg.Client;
  ready: Promise<void>;
  broken: boolean;
}

export class SqlDataClient implements DataClient {
  private primary: string | undefined;
  private readonly conns = new Map<string, Conn>();
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nodes: SqlNode[],
    options: { refreshMs?: number } = {},
  ) {
    if (options.refreshMs) {
      this.timer = setInterval(() => void this.refresh(), options.refreshMs);
      this.timer.unref();
    }
  }

  nodeIds(): string[] {
    return this.nodes.map((n) => n.id);
  }

  noteLeaderHint(): void {
    void this.refresh();
  }

  /** Asks each node's Patroni which one is the primary; concurrent callers share one lookup. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const answers = await Promise.all(
        this.nodes.map(async (n) => {
          try {
            const res = await fetch(`http://${n.rest}/primary`, { signal: AbortSignal.timeout(500) });
            await res.arrayBuffer();
            return res.status === 200 ? n.id : undefined;
          } catch {
            return undefined;
          }
        }),
      );
      const found = answers.find((a) => a !== undefined);
      if (found) this.primary = found;
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of this.conns.values()) void c.client.end().catch(() => {});
    this.conns.clear();
  }

  private conn(nodeId: string, timeoutMs: number): Conn {
    const existing = this.conns.get(nodeId);
    if (existing && !existing.broken) return existing;
    const node = this.nodes.find((n) => n.id === nodeId)!;
    const [host, port] = [node.sql.slice(0, node.sql.lastIndexOf(':')), Number(node.sql.slice(node.sql.lastIndexOf(':') + 1))];
    const client = new pg.Client({
      host,
      port,
      user: 'postgres',
      database: 'postgres',
      connectionTimeoutMillis: Math.max(200, Math.min(timeoutMs, 2000)),
      keepAlive: true,
    });
    const c: Conn = { client, ready: client.connect().then(() => undefined), broken: false };
    client.on('error', () => (c.broken = true));
    c.ready.catch(() => (c.broken = true));
    this.conns.set(nodeId, c);
    return c;
  }

  /** Runs one autocommit statement on `nodeId`, mapping every failure to fail or info. */
  private async run(nodeId: string | undefined, text: string, values: unknown[], timeoutMs: number, ok: (r: pg.QueryResult) => Outcome): Promise<Outcome> {
    if (!nodeId) {
      await this.refresh();
      return { type: 'fail', error: 'no primary known (Patroni answers no /primary)' };
    }
    const c = this.conn(nodeId, timeoutMs);
    try {
      await c.ready;
    } catch (e: unknown) {
      c.broken = true;
      void this.refresh();
      return sqlOutcome(e, false, nodeId);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`timeout after ${timeoutMs} ms`), { code: undefined })), timeoutMs);
      });
      const r = await Promise.race([c.client.query(text, values), timeout]);
      return { ...ok(r), node: nodeId };
    } catch (e: unknown) {
      const out = sqlOutcome(e, true, nodeId);
      if (out.type === 'info' || (e as { code?: string }).code === '25006') {
        // The connection may hold a statement still running, or point at a demoted node.
        c.broken = true;
        void c.client.end().catch(() => {});
        void this.refresh();
      }
      return out;
    } finally {
      clearTimeout(timer);
    }
  }

  read({ key, policy, rng, timeoutMs }: ReadRequest): Promise<Outcome> {
    const followers = this.nodes.map((n) => n.id).filter((id) => id !== this.primary);
    const node = policy.kind !== 'leader-only' && followers.length > 0 ? rng.pick(followers) : this.primary;
    return this.run(node, `SELECT v FROM ${REGISTER_TABLE} WHERE k = $1`, [key], timeoutMs, (r) => ({
      type: 'ok',
      value: (r.rows[0]?.v as string | undefined) ?? null,
    }));
  }

  write(key: string, value: string, timeoutMs: number): Promise<Outcome> {
    return this.run(
      this.primary,
      `INSERT INTO ${REGISTER_TABLE} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`,
      [key, value],
      timeoutMs,
      () => ({ type: 'ok', value }),
    );
  }

  cas(key: string, expected: string | null, value: string, timeoutMs: number): Promise<Outcome> {
    const changed = (r: pg.QueryResult): Outcome => (r.rowCount === 1 ? { type: 'ok', value } : { type: 'fail', error: 'cas_mismatch' });
    if (expected === null)
      return this.run(this.primary, `INSERT INTO ${REGISTER_TABLE} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING`, [key, value], timeoutMs, changed);
    return this.run(this.primary, `UPDATE ${REGISTER_TABLE} SET v = $2 WHERE k = $1 AND v = $3`, [key, value, expected], timeoutMs, changed);
  }

  add(key: string, timeoutMs: number): Promise<Outcome> {
    return this.run(this.primary, `INSERT INTO ${SET_TABLE} (k, v) VALUES ($1, '1')`, [key], timeoutMs, () => ({ type: 'ok', value: '1' }));
  }

  scan(nodeId: string, prefix: string, timeoutMs: number): Promise<Outcome> {
    const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.run(
      nodeId,
      `SELECT k, v FROM ${REGISTER_TABLE} WHERE k LIKE $1 UNION ALL SELECT k, v FROM ${SET_TABLE} WHERE k LIKE $1`,
      [like],
      timeoutMs,
      (r) => ({ type: 'ok', value: r.rows.map((row) => ({ key: row.k as string, value: row.v as string })) }),
    );
  }
}

/** The tables the workloads use, created on the primary when the cluster comes up. */
export const SCHEMA_SQL = `CREATE TABLE IF NOT EXISTS ${REGISTER_TABLE} (k text PRIMARY KEY, v text NOT NULL);
CREATE TABLE IF NOT EXISTS ${SET_TABLE} (k text PRIMARY KEY, v text NOT NULL);`;
