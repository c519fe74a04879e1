/**
 * PostgreSQL as a workload's DataClient, with node-postgres (`pg`): the register is a table
 * `replab_register (k text primary key, v text)` — write is an upsert, read a select, cas an
 * `update … where v = $expected` (or an insert when the key should be absent); the set is an
 * insert-only table `replab_set`. Every statement runs on its own (autocommit), so its COMMIT is
 * part of the statement.
 *
 * The primary is found through Patroni's REST API (`GET /primary` answers 200 on the leader
 * only), asked directly like replab's client asks its monitor; the SQL itself goes through the
 * node's `client:` proxy link. Reads go where their routing policy sends them, primary or hot
 * standby (src/systems/postgres/read-routing.ts says where and with which SQL), and every ok read
 * carries the position the serving node had applied (`lsn`).
 *
 * Writes, cas and adds carry their position too: the end of their commit record, which is exactly
 * what a standby must have replayed to hold the write, and orders writes as PostgreSQL committed
 * them. PostgreSQL 15 has no function that returns a transaction's commit position, so it is
 * found in two steps: the statement returns its transaction id and pg_current_wal_insert_lsn()
 * (RETURNING, before the commit record exists), and after the commit the same connection reads
 * the WAL from there with pg_walinspect's pg_get_wal_records_info() for that transaction's COMMIT
 * record. Asking pg_current_wal_lsn() after the commit, the simple way, gives a position at or past
 * the commit (enough for a standby to hold the write) but not the write's own: a concurrent write
 * committed in between moves it, so two writes to one key, one overwriting the other, could come
 * back with one position, or in the wrong order, and the session checker saw read-your-writes
 * "violations" on the primary alone. That upper bound stays the fallback where pg_walinspect is
 * missing (reported as the commit position) or the record is not found. A position that cannot
 * be asked at all (the connection lost right after the commit) leaves the outcome ok without
 * `lsn`: the write did commit, only its position is unknown.
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
import { errnoCode, toError } from '../../lib/errors.js';
import type { DataClient, ReadRequest } from '../../workloads/data-client.js';
import { lsnColumn } from './lsn.js';
import {
  APPLIED_SQL,
  COMMIT_POSITION_SQL,
  caughtUp,
  type Gate,
  gatedReadSql,
  inTurn,
  leastLagged,
  POLL_MS,
  PRIMARY_READ_SQL,
  type PrimaryPosition,
  REGISTER_TABLE,
  STANDBY_READ_SQL,
  sessionWaitMs,
  stalenessBoundMs,
  standbyShareMs,
  WRITE_MARK,
  WRITTEN_POSITION_SQL,
} from './read-routing.js';

export interface SqlNode {
  id: string;
  /** host:port of the node's client: proxy link (PostgreSQL's port behind it). */
  sql: string;
  /** host:port of the node's Patroni REST API. */
  rest: string;
}

export { REGISTER_TABLE };
export const SET_TABLE = 'replab_set';

/** SQLSTATEs after which the statement certainly did not commit. */
const DEFINITE = new Set(['25006', '23505', '23502', '22001', '22021', '40001', '40P01', '42P01', '53300', '57P03', '28P01', '28000', '3D000']);

/** Maps an error to an outcome; `sent`: whether the statement may have reached the server. */
export function sqlOutcome(e: unknown, sent: boolean, node?: string): Outcome {
  // pg's errors carry the SQLSTATE, and socket errors their errno name, in `code`.
  const code = errnoCode(e);
  const message = toError(e).message;
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

/** A statement's rows (one result per statement), or the outcome its failure maps to. */
type Executed = { ok: true; results: pg.QueryResult[] } | { ok: false; outcome: Outcome };

/** A gated read's answer: what the gate showed and the read itself, or why there is none. */
type GatedRead = { ok: true; gate: Gate; outcome: Outcome & { type: 'ok' }; answeredAtMs: number } | { ok: false; outcome: Outcome };

/** How many bytes of WAL each standby was behind the primary, as last sampled. */
interface LagSample {
  atMs: number;
  behind: Map<string, number>;
}

/**
 * How long a lag sample waits for each node. The question is a one-row function call, answered in
 * a millisecond or two; a node slower than this is treated as far behind rather than waited for
 * (a stopped standby would otherwise hold every sample, and the reads waiting on it).
 */
const SAMPLE_TIMEOUT_MS = 250;

export class SqlDataClient implements DataClient {
  private primary: string | undefined;
  private readonly conns = new Map<string, Conn>();
  private refreshing: Promise<void> | undefined;
  private sampling: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Where round-robin, bounded-staleness and session reads start among the standbys next. */
  private cursor: number | undefined;
  /**
   * Set by the first least-lag or bounded-staleness read: from then on each refresh also asks every
   * node what it has applied (APPLIED_SQL), which gives the primary's position and how far behind
   * each standby is. Least lag ranks by it; bounded staleness uses the primary's position to
   * recognise a standby that is current while the primary is idle (read-routing.ts:
   * stalenessBoundMs, rule b).
   */
  private trackPrimary = false;
  private lag: LagSample | undefined;
  /** The primary's position as last learned from any answer of it (bounded staleness, rule b). */
  private primarySeen: PrimaryPosition | undefined;
  private readonly lagMaxAgeMs: number;
  /** Whether the server has pg_walinspect (writes' exact commit positions); false after it said no. */
  private walinspect = true;

  constructor(
    private readonly nodes: SqlNode[],
    options: { refreshMs?: number } = {},
  ) {
    // A sample older than two refreshes is taken again by the read that needs it.
    this.lagMaxAgeMs = 2 * (options.refreshMs ?? 1000);
    if (options.refreshMs) {
      this.timer = setInterval(() => void this.refresh(), options.refreshMs);
      this.timer.unref();
    }
  }

  nodeIds(): string[] {
    return this.nodes.map((n) => n.id);
  }

  /** The primary as this client knows it (undefined before Patroni named one). */
  primaryId(): string | undefined {
    return this.primary;
  }

  noteLeaderHint(): void {
    void this.refresh();
  }

  /**
   * Asks each node's Patroni which one is the primary (and, once least-lag or bounded-staleness
   * reads are in use, the primary where it is and how far each standby is behind); concurrent
   * callers share one lookup.
   */
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
      if (found && found !== this.primary) {
        // Positions learned from another primary say nothing about this one's timeline.
        this.primarySeen = undefined;
        this.lag = undefined;
      }
      if (found) this.primary = found;
      if (found && this.trackPrimary) await this.sampleLag(SAMPLE_TIMEOUT_MS);
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

  /**
   * Runs `text` on `nodeId` within `timeoutMs` (connecting included): with `values` as one
   * parameterised statement, without as a simple query that may hold several statements (one
   * result each). Every failure maps to fail or info; a connection that may still be running the
   * statement, or that points at a demoted node, is dropped.
   */
  private async exec(nodeId: string, text: string, values: unknown[] | undefined, timeoutMs: number): Promise<Executed> {
    const c = this.conn(nodeId, timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    let sent = false;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`timeout after ${timeoutMs} ms`), { code: undefined })), Math.max(1, timeoutMs));
      });
      await Promise.race([c.ready, timeout]);
      sent = true;
      const r: pg.QueryResult | pg.QueryResult[] = await Promise.race([values === undefined ? c.client.query(text) : c.client.query(text, values), timeout]);
      return { ok: true, results: Array.isArray(r) ? r : [r] };
    } catch (e: unknown) {
      const out = sqlOutcome(e, sent, nodeId);
      if (!sent || out.type === 'info' || errnoCode(e) === '25006') {
        c.broken = true;
        void c.client.end().catch(() => {});
        void this.refresh();
      }
      return { ok: false, outcome: out };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs one autocommit statement on `nodeId`, mapping every failure to fail or info. */
  private async run(nodeId: string | undefined, text: string, values: unknown[], timeoutMs: number, ok: (r: pg.QueryResult) => Outcome): Promise<Outcome> {
    if (!nodeId) {
      await this.refresh();
      return { type: 'fail', error: 'no primary known (Patroni answers no /primary)' };
    }
    const r = await this.exec(nodeId, text, values, timeoutMs);
    return r.ok ? { ...ok(r.results[0]!), node: nodeId } : r.outcome;
  }

  /**
   * A write on the primary (`text` ends with RETURNING WRITE_MARK), then its commit position asked
   * on the same connection (see the file's comment). The position gets what is left of the time,
   * and at least 100 ms: the write has committed by then, and an ok without a position is worth
   * less to a session than a little wait.
   */
  private async committed(text: string, values: unknown[], timeoutMs: number, ok: (r: pg.QueryResult) => Outcome): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    const node = this.primary;
    let mark: { xid: string; pre: string } | undefined;
    const out = await this.run(node, text, values, timeoutMs, (r) => {
      mark = r.rows[0] as { xid: string; pre: string } | undefined;
      return ok(r);
    });
    if (out.type !== 'ok' || !node || !mark) return out;
    const askedAt = Date.now();
    const budget = Math.max(100, deadline - askedAt);
    let r = await this.exec(node, this.walinspect ? COMMIT_POSITION_SQL : WRITTEN_POSITION_SQL, this.walinspect ? [mark.pre, mark.xid] : [], budget);
    if (!r.ok && this.walinspect && r.outcome.type !== 'ok' && r.outcome.error.startsWith('42883:')) {
      // No pg_walinspect on this server: from now on the upper bound only.
      this.walinspect = false;
      r = await this.exec(node, WRITTEN_POSITION_SQL, [], budget);
    }
    if (!r.ok) return out;
    try {
      const row = r.results[0]!.rows[0] as { commit_lsn: string | null; written: string | null } | undefined;
      const written = lsnColumn(row?.written);
      const lsn = lsnColumn(row?.commit_lsn) ?? written;
      if (lsn === null) return out;
      if (written !== null) this.notePrimary(written, askedAt);
      return { ...out, lsn };
    } catch {
      // A position replab cannot hold exactly (lsn.ts): the write stands, without one.
      return out;
    }
  }

  private notePrimary(lsn: number, askedAtMs: number): void {
    if (!this.primarySeen || askedAtMs >= this.primarySeen.askedAtMs) this.primarySeen = { lsn, askedAtMs };
  }

  /** Every node but the primary (all of them while no primary is known), in a stable order. */
  private standbys(): string[] {
    return this.nodes.map((n) => n.id).filter((id) => id !== this.primary);
  }

  async read({ key, policy, token, rng, timeoutMs }: ReadRequest): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    const standbys = this.standbys();
    if (policy.kind === 'leader-only' || standbys.length === 0) return this.readPrimary(key, deadline);
    // Each client slot starts the rotation where its seed says (without drawing from its stream,
    // so the operations it generates are the same whatever the policy), then goes in turn.
    this.cursor ??= rng.seed % standbys.length;
    const turn = inTurn(standbys, this.cursor++);
    switch (policy.kind) {
      case 'round-robin':
        return this.readStandbyThenPrimary(turn[0]!, key, deadline);
      case 'least-lag':
        return this.readStandbyThenPrimary(await this.leastLaggedStandby(turn, deadline), key, deadline);
      case 'bounded-staleness':
        return this.readBounded(turn, key, policy.ms, deadline);
      case 'session':
        return token === null ? this.readStandbyThenPrimary(turn[0]!, key, deadline) : this.readSession(turn, key, token, deadline);
    }
  }

  /** Reads on the primary; a node that turns out to be a standby refuses, and the primary is looked up again once. */
  private async readPrimary(key: string, deadline: number, last?: Outcome, again = true): Promise<Outcome> {
    if (!this.primary) await this.refresh();
    const id = this.primary;
    if (!id) return last ?? { type: 'fail', error: 'no primary known (Patroni answers no /primary)' };
    const askedAt = Date.now();
    if (askedAt >= deadline && last) return last;
    const r = await this.exec(id, PRIMARY_READ_SQL, [key], deadline - askedAt);
    if (!r.ok) return r.outcome;
    const row = r.results[0]!.rows[0] as { v: string | null; in_recovery: boolean; lsn: string | null };
    if (row.in_recovery) {
      await this.refresh();
      const refused: Outcome = { type: 'fail', error: 'not the primary (in recovery)', node: id };
      return again && this.primary !== id && Date.now() < deadline ? this.readPrimary(key, deadline, refused, false) : refused;
    }
    return this.answer(id, row, (lsn) => this.notePrimary(lsn, askedAt));
  }

  /** An ok read from a row with `v` and `lsn`; a position replab cannot hold is a failed read naming it. */
  private answer(node: string, row: { v: string | null; lsn: string | null }, seen?: (lsn: number) => void): Outcome {
    try {
      const lsn = lsnColumn(row.lsn);
      if (lsn !== null) seen?.(lsn);
      return { type: 'ok', value: row.v ?? null, node, ...(lsn === null ? {} : { lsn }) };
    } catch (e: unknown) {
      return { type: 'fail', error: toError(e).message, node };
    }
  }

  /** round-robin, least-lag and session without a token: one standby as it is, failing that the primary. */
  private async readStandbyThenPrimary(id: string, key: string, deadline: number): Promise<Outcome> {
    const r = await this.exec(id, STANDBY_READ_SQL, [key], standbyShareMs(deadline - Date.now()));
    if (r.ok) {
      const out = this.answer(id, r.results[0]!.rows[0] as { v: string | null; lsn: string | null });
      if (out.type === 'ok') return out;
    }
    return this.readPrimary(key, deadline, r.ok ? undefined : r.outcome);
  }

  /** A read on `id` behind a gate statement (read-routing.ts: gatedReadSql). */
  private async gatedRead(id: string, key: string, timeoutMs: number): Promise<GatedRead> {
    const r = await this.exec(id, gatedReadSql(pg.escapeLiteral(key)), undefined, timeoutMs);
    if (!r.ok) return r;
    const answeredAtMs = Date.now();
    const g = r.results[0]?.rows[0] as { gate_lsn: string | null; replay_age_ms: number | null } | undefined;
    const row = r.results[1]?.rows[0] as { v: string | null; lsn: string | null } | undefined;
    if (!g || !row) return { ok: false, outcome: { type: 'fail', error: `a gated read on ${id} answered ${r.results.length} results, not 2`, node: id } };
    let gate: Gate;
    try {
      gate = { lsn: lsnColumn(g.gate_lsn), replayAgeMs: g.replay_age_ms };
    } catch (e: unknown) {
      return { ok: false, outcome: { type: 'fail', error: toError(e).message, node: id } };
    }
    const outcome = this.answer(id, row);
    return outcome.type === 'ok' ? { ok: true, gate, outcome, answeredAtMs } : { ok: false, outcome };
  }

  /** Each standby in turn that shows it is within `boundMs` (stalenessBoundMs), else the primary. */
  private async readBounded(turn: string[], key: string, boundMs: number, deadline: number): Promise<Outcome> {
    this.trackPrimary = true;
    let last: Outcome | undefined;
    for (const id of turn) {
      if (Date.now() >= deadline) break;
      const g = await this.gatedRead(id, key, standbyShareMs(deadline - Date.now()));
      if (!g.ok) {
        last = g.outcome;
        continue;
      }
      const behind = stalenessBoundMs(g.gate, this.primarySeen, g.answeredAtMs);
      if (behind !== undefined && behind <= boundMs) return g.outcome;
      last = {
        type: 'fail',
        error: `too_stale (${behind === undefined ? 'unknown' : `up to ${Math.round(behind)} ms`} behind, bound ${boundMs} ms)`,
        node: id,
      };
    }
    return this.readPrimary(key, deadline, last);
  }

  /**
   * Each standby in turn that has replayed `token`; none has: the one furthest along is asked again
   * every POLL_MS, for up to sessionWaitMs; else the primary. The wait is polled from here, one short
   * statement at a time, rather than looped in SQL on the standby: a statement held open there keeps
   * its snapshot, and replay waits (up to max_standby_streaming_delay) before removing rows such a
   * snapshot may still need, so a server-side wait would slow the very replay it waits for.
   */
  private async readSession(turn: string[], key: string, token: number, deadline: number): Promise<Outcome> {
    let last: Outcome | undefined;
    let furthest: { id: string; lsn: number } | undefined;
    for (const id of turn) {
      if (Date.now() >= deadline) break;
      const g = await this.gatedRead(id, key, standbyShareMs(deadline - Date.now()));
      if (!g.ok) {
        last = g.outcome;
        continue;
      }
      if (caughtUp(g.gate, token)) return g.outcome;
      if (g.gate.lsn !== null && (!furthest || g.gate.lsn > furthest.lsn)) furthest = { id, lsn: g.gate.lsn };
      last = { type: 'fail', error: `not_caught_up (replayed ${g.gate.lsn ?? 'nothing'}, token ${token})`, node: id };
    }
    if (furthest) {
      const waitUntil = Date.now() + sessionWaitMs(deadline - Date.now());
      while (Date.now() + POLL_MS < waitUntil) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        const g = await this.gatedRead(furthest.id, key, Math.max(1, waitUntil - Date.now()));
        if (!g.ok) break;
        if (caughtUp(g.gate, token)) return g.outcome;
      }
    }
    return this.readPrimary(key, deadline, last);
  }

  /** The standby with the least lag at the last sample, sampling first when it is missing or old. */
  private async leastLaggedStandby(turn: string[], deadline: number): Promise<string> {
    this.trackPrimary = true;
    if (!this.lag || Date.now() - this.lag.atMs > this.lagMaxAgeMs)
      await this.sampleLag(Math.max(1, Math.min(SAMPLE_TIMEOUT_MS, Math.floor((deadline - Date.now()) / 4))));
    return leastLagged(turn, this.lag?.behind ?? new Map()) ?? turn[0]!;
  }

  /**
   * Asks the primary for its position and every standby for what it has replayed (APPLIED_SQL), all
   * at once; a standby that does not answer within `timeoutMs` has no figure. Concurrent callers
   * share one sample.
   */
  private sampleLag(timeoutMs: number): Promise<void> {
    this.sampling ??= (async () => {
      const id = this.primary;
      if (!id) return;
      const askedAt = Date.now();
      const applied = async (node: string): Promise<number | null> => {
        const r = await this.exec(node, APPLIED_SQL, [], timeoutMs);
        if (!r.ok) return null;
        const row = r.results[0]!.rows[0] as { lsn: string | null; in_recovery: boolean };
        // The primary's answer must come from the primary, not a demoted node.
        if (node === id && row.in_recovery) return null;
        try {
          return lsnColumn(row.lsn);
        } catch {
          return null;
        }
      };
      const standbys = this.standbys();
      const [primaryLsn, ...replays] = await Promise.all([applied(id), ...standbys.map(applied)]);
      if (primaryLsn === null || primaryLsn === undefined) return;
      const behind = new Map<string, number>();
      standbys.forEach((node, i) => {
        const replayed = replays[i];
        if (typeof replayed === 'number') behind.set(node, Math.max(0, primaryLsn - replayed));
      });
      this.notePrimary(primaryLsn, askedAt);
      this.lag = { atMs: askedAt, behind };
    })().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  write(key: string, value: string, timeoutMs: number): Promise<Outcome> {
    return this.committed(
      `INSERT INTO ${REGISTER_TABLE} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v RETURNING ${WRITE_MARK}`,
      [key, value],
      timeoutMs,
      () => ({
        type: 'ok',
        value,
      }),
    );
  }

  cas(key: string, expected: string | null, value: string, timeoutMs: number): Promise<Outcome> {
    const changed = (r: pg.QueryResult): Outcome => (r.rowCount === 1 ? { type: 'ok', value } : { type: 'fail', error: 'cas_mismatch' });
    if (expected === null)
      return this.committed(
        `INSERT INTO ${REGISTER_TABLE} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING RETURNING ${WRITE_MARK}`,
        [key, value],
        timeoutMs,
        changed,
      );
    return this.committed(`UPDATE ${REGISTER_TABLE} SET v = $2 WHERE k = $1 AND v = $3 RETURNING ${WRITE_MARK}`, [key, value, expected], timeoutMs, changed);
  }

  add(key: string, timeoutMs: number): Promise<Outcome> {
    return this.committed(`INSERT INTO ${SET_TABLE} (k, v) VALUES ($1, '1') RETURNING ${WRITE_MARK}`, [key], timeoutMs, () => ({ type: 'ok', value: '1' }));
  }

  /**
   * Reads `key` on node `nodeId` as it is there (no policy, no fallback): what a test uses to look at
   * one standby right after a write.
   */
  async readOn(nodeId: string, key: string, timeoutMs: number): Promise<Outcome> {
    const r = await this.exec(nodeId, STANDBY_READ_SQL, [key], timeoutMs);
    return r.ok ? this.answer(nodeId, r.results[0]!.rows[0] as { v: string | null; lsn: string | null }) : r.outcome;
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
