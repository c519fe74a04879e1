/**
 * Where a PostgreSQL read goes under each routing policy (src/lib/read-consistency.ts names them),
 * and the SQL each place is asked: the pure half of SqlDataClient.read (src/systems/postgres/
 * sql-client.ts does the I/O). Every answer carries the position the serving node had applied,
 * read in the same round trip as the value:
 *
 *   primary   `SELECT (SELECT v …) AS v, pg_current_wal_lsn()` — the WAL written so far. Every
 *             commit visible there has had its commit record flushed (PostgreSQL flushes, and
 *             waits for synchronous standbys, before it shows a commit), so that position covers
 *             everything the read could see.
 *   standby   `SELECT (SELECT v …) AS v, pg_last_wal_replay_lsn()` — the WAL replayed so far.
 *             Recovery makes a commit visible to new snapshots before it advances the replay
 *             position past its record, so the position covers what the read saw.
 *
 * Both positions are read after the statement's snapshot was taken, so they may run slightly
 * ahead of what the value reflects (a commit replayed in between). That errs on the side a
 * session can live with: a token that runs ahead only makes later reads wait for more. A check
 * that must hold for the value itself (session: "has replayed my token"; bounded staleness) is
 * made by a first statement of the same round trip instead: `SELECT <gate>; SELECT <value>` sent
 * as one simple query. In READ COMMITTED each statement takes its own snapshot, so the second one
 * is taken after the first has seen the replay position, and replay only moves forward.
 *
 * The policies, with S the standbys (every node but the primary) in turn:
 *   leader-only             the primary; a node that answers `pg_is_in_recovery()` is not it
 *                           (a stale idea of who leads): refused, then asked again after a refresh
 *   round-robin             the next standby in turn; failing that, the primary
 *   least-lag               the standby furthest along: bytes between the primary's
 *                           pg_current_wal_lsn() and each standby's own pg_last_wal_replay_lsn(),
 *                           sampled at the client's refresh interval (a standby that does not
 *                           answer ranks last); failing that, the primary. Not the primary's
 *                           pg_stat_replication.replay_lsn: a standby reports its replay position
 *                           when it receives WAL or every wal_receiver_status_interval (10 s), and
 *                           after replaying a commit only under remote_apply, so a delayed or
 *                           idle standby's figure there can be seconds old. Not Patroni's member
 *                           lag either: Patroni measures it from what a standby received, not
 *                           what it replayed
 *   bounded-staleness:<ms>  each standby in turn that shows, before serving, that it is at most
 *                           <ms> behind (stalenessBoundMs below); else the primary
 *   session                 each standby in turn that has replayed the token (the gate); none has:
 *                           the one furthest along is asked again every POLL_MS for up to
 *                           sessionWaitMs; else the primary. Without a token yet: like round-robin
 * With no standby known, every policy reads on the primary. A standby that fails (refused
 * connection, cancelled by a recovery conflict, no answer within its share of the time) did not
 * serve the read, and a read changes nothing, so the read moves on to the next place while time
 * remains; each standby gets at most half of what is left, so the primary always keeps a share.
 */
import { DEFAULT_AFTER_WAIT_MS } from '../../lib/read-consistency.js';

export const REGISTER_TABLE = 'replab_register';

/** The position applied where the statement runs: replayed on a standby, written on a primary. */
const APPLIED_LSN = 'CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END';

/** A read on the primary; `in_recovery` true means the node is a standby after all. */
export const PRIMARY_READ_SQL = `SELECT (SELECT v FROM ${REGISTER_TABLE} WHERE k = $1) AS v, pg_is_in_recovery() AS in_recovery, CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn() END AS lsn`;

/** A read on a standby, whatever it has replayed (a standby promoted meanwhile answers with its own position). */
export const STANDBY_READ_SQL = `SELECT (SELECT v FROM ${REGISTER_TABLE} WHERE k = $1) AS v, ${APPLIED_LSN} AS lsn`;

/**
 * A gated read: the first statement reports what the node has replayed and how old the last
 * transaction it replayed is (commit time on the primary to now here); the second reads the value
 * with a snapshot taken after that. Sent as one simple query (no parameters there, so the key is
 * a quoted literal: `quotedKey` from the driver's escapeLiteral). A primary answers age 0.
 */
export function gatedReadSql(quotedKey: string): string {
  return (
    `SELECT ${APPLIED_LSN} AS gate_lsn, ` +
    'CASE WHEN pg_is_in_recovery() THEN (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 ELSE 0 END AS replay_age_ms; ' +
    `SELECT (SELECT v FROM ${REGISTER_TABLE} WHERE k = ${quotedKey}) AS v, ${APPLIED_LSN} AS lsn`
  );
}

/** What a node has applied (least-lag samples it on every node; the primary answers its written position). */
export const APPLIED_SQL = `SELECT ${APPLIED_LSN} AS lsn, pg_is_in_recovery() AS in_recovery`;

/**
 * What a write's statement returns, evaluated before its commit: its transaction id and the WAL
 * insert position after its row change, which lies before its commit record.
 */
export const WRITE_MARK = 'pg_current_xact_id()::xid::text AS xid, pg_current_wal_insert_lsn()::text AS pre';

/**
 * After the commit, on the same connection: the end of that transaction's commit record, found with
 * pg_walinspect between the position its statement returned and the flushed end of the WAL, and
 * pg_current_wal_lsn() (at or past it) for when it cannot be found. SqlDataClient's comment says why.
 */
export const COMMIT_POSITION_SQL =
  "SELECT (SELECT end_lsn FROM pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn()) WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT' AND xid = $2::xid LIMIT 1) AS commit_lsn, pg_current_wal_lsn() AS written";

/** The same without pg_walinspect: the upper bound only. */
export const WRITTEN_POSITION_SQL = 'SELECT NULL::pg_lsn AS commit_lsn, pg_current_wal_lsn() AS written';

/** Installs pg_walinspect (PostgreSQL 15's contrib) where the cluster comes up; a write falls back without it. */
export const WALINSPECT_SQL = 'CREATE EXTENSION IF NOT EXISTS pg_walinspect';

/** How often a session read asks a standby again while waiting for it to replay the token. */
export const POLL_MS = 10;

/** What a gate statement reported. */
export interface Gate {
  /** Replayed (or, on a primary, written) position; null when the node has none. */
  lsn: number | null;
  /** ms since the commit time of the last transaction it replayed; null before any (0 on a primary). */
  replayAgeMs: number | null;
}

/** The primary's position as this client last learned it, and when (client clock) it asked. */
export interface PrimaryPosition {
  lsn: number;
  askedAtMs: number;
}

/** The standbys starting at `cursor`, wrapping around. */
export function inTurn<T>(xs: readonly T[], cursor: number): T[] {
  if (xs.length === 0) return [];
  const first = ((cursor % xs.length) + xs.length) % xs.length;
  return [...xs.slice(first), ...xs.slice(0, first)];
}

/**
 * How far behind the primary a standby can be, in ms, from what its gate statement showed; undefined
 * when nothing shows it. Two facts each give a bound, and the smaller one counts:
 *
 * (a) Its last replayed transaction committed `replayAgeMs` ago. Any commit it lacks has a record
 *     after that one in the WAL, so it was written, and became visible on the primary, after that
 *     transaction's commit time: none of what it lacks has been visible for longer than
 *     `replayAgeMs`. This is `now() - pg_last_xact_replay_timestamp()`, the usual replay-lag
 *     query, and it is an upper bound, never an underestimate.
 * (b) It has replayed at least a position the primary reported to this client (`primary`): then it
 *     holds everything the primary showed when that was asked (visible commits are flushed, so
 *     they lie below pg_current_wal_lsn()), and it is at most `now - askedAtMs` behind.
 *
 * Why both: with the primary idle, (a) grows without any lag (nothing new committed), and the usual
 * fix, "lag is 0 when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()", is wrong here: a
 * standby cut off from the primary, or behind a slow link, has also replayed everything it
 * received. (b) covers the idle primary as long as this client has heard from it recently (each
 * write, primary read and lag sample tells it the primary's position); a standby that is cut off
 * while the primary takes writes fails both and is not used. Both compare the primary's clock
 * with the standby's (commit times) or the client's with itself: on one machine, as here, they
 * agree; across machines the bound is off by their clock skew.
 */
export function stalenessBoundMs(gate: Gate, primary: PrimaryPosition | undefined, nowMs: number): number | undefined {
  const bounds: number[] = [];
  if (gate.replayAgeMs !== null && Number.isFinite(gate.replayAgeMs)) bounds.push(Math.max(0, gate.replayAgeMs));
  if (primary && gate.lsn !== null && gate.lsn >= primary.lsn) bounds.push(Math.max(0, nowMs - primary.askedAtMs));
  return bounds.length > 0 ? Math.min(...bounds) : undefined;
}

/** Whether a gate shows the session's token replayed (no token yet: anything will do). */
export function caughtUp(gate: Gate, token: number | null): boolean {
  return token === null || (gate.lsn !== null && gate.lsn >= token);
}

/**
 * The standby furthest along, by bytes behind the primary at the last sample (`behind`); ties and
 * standbys without a figure keep the order of `turn`, those without one after every known one.
 */
export function leastLagged(turn: readonly string[], behind: ReadonlyMap<string, number>): string | undefined {
  let best: string | undefined;
  let bestLag = Number.POSITIVE_INFINITY;
  for (const id of turn) {
    const lag = behind.get(id) ?? Number.POSITIVE_INFINITY;
    if (best === undefined || lag < bestLag) [best, bestLag] = [id, lag];
  }
  return best;
}

/**
 * How long a session read may wait for a standby to replay its token, out of what is left of the
 * read's time: at most DEFAULT_AFTER_WAIT_MS (the KV's `after:` default), and at most half of
 * what is left, so the primary still has time to answer.
 */
export function sessionWaitMs(remainingMs: number): number {
  return Math.max(0, Math.min(DEFAULT_AFTER_WAIT_MS, Math.floor(remainingMs / 2)));
}

/** The share of what is left of a read's time one standby may take (half: the primary keeps the rest). */
export function standbyShareMs(remainingMs: number): number {
  return Math.max(1, Math.floor(remainingMs / 2));
}
