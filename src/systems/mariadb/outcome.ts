/**
 * How a MariaDB error maps to an operation's outcome, by the same rules as the PostgreSQL module:
 *
 *   fail  nothing was sent (no connection, no primary known), or the server rejected the statement
 *         before committing it: read-only (1290, not the primary), a duplicate key, a lock wait
 *         timeout or deadlock (the statement rolled back), a missing table, refused credentials,
 *         too many connections, a value too long;
 *   info  anything that can happen after the COMMIT was sent: a timeout, the connection lost, the
 *         server shutting down or the statement killed (a commit waiting for its semi-sync ack is
 *         already committed in the binlog, and with AFTER_COMMIT in the engine too).
 */
import type { Outcome } from '../../client/kv-http.js';

/** Server error numbers after which an autocommit statement certainly did not commit. */
const DEFINITE = new Map<number, string>([
  [1290, 'read-only (not the primary)'],
  [1062, 'duplicate key'],
  [1205, 'lock wait timeout (rolled back)'],
  [1213, 'deadlock (rolled back)'],
  [1146, 'no such table'],
  [1049, 'no such database'],
  [1044, 'access denied'],
  [1045, 'access denied'],
  [1142, 'command denied'],
  [1040, 'too many connections'],
  [1406, 'value too long'],
  [1792, 'read-only transaction'],
]);

/** Server errors that may come after the commit was written: the statement's fate is unknown. */
const AFTER_COMMIT = new Set([1053, 1317, 1927, 2006, 2013, 1158, 1159, 1160, 1161]);

interface DriverError {
  errno?: number;
  code?: string;
  message?: string;
  fatal?: boolean;
}

/** Maps an error to an outcome; `sent`: whether the statement may have reached the server. */
export function mariadbOutcome(e: unknown, sent: boolean, node?: string): Outcome {
  const err = (typeof e === 'object' && e !== null ? e : {}) as DriverError;
  const message = (err.message ?? String(e)).split('\n')[0]!;
  const errno = typeof err.errno === 'number' ? err.errno : undefined;
  if (!sent)
    return { type: 'fail', error: /ECONNREFUSED/.test(`${err.code} ${message}`) ? 'connection refused' : `could not connect (${err.code ?? message})`, node };
  if (errno !== undefined && DEFINITE.has(errno)) return { type: 'fail', error: `${errno}: ${DEFINITE.get(errno)}`, node };
  // Any other server error (below 2000) for a single autocommit statement, on a connection that
  // stays usable: the server refused the statement, it did not commit it.
  if (errno !== undefined && errno < 2000 && !AFTER_COMMIT.has(errno) && !err.fatal) return { type: 'fail', error: `${errno}: ${message}`, node };
  return { type: 'info', error: /timeout/i.test(`${err.code} ${message}`) ? 'timeout' : `connection lost (${err.code ?? message})`, node };
}
