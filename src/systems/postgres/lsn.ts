/**
 * PostgreSQL log positions (`pg_lsn`) as replab's LSNs. PostgreSQL prints a position as two
 * hexadecimal halves of a 64-bit byte offset into the WAL, `hi/lo` (`0/3000060`); replab's
 * histories, session tokens and checkers use plain numbers, so a position becomes
 * hi × 2³² + lo. That is exact while it stays a safe integer (below 2⁵³, i.e. hi below 2²¹: the
 * first 8 PiB of WAL); anything beyond is refused with the value named rather than rounded, since
 * a rounded position could order two writes wrongly.
 *
 * This is the one parser: every SQL answer carrying a position goes through `parseLsn`, and
 * `formatLsn` turns a token back into the text PostgreSQL compares with (`$1::pg_lsn`).
 */

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const HALF = 2 ** 32;

/** `hi/lo` → hi × 2³² + lo; throws an Error naming the value when it is not an LSN or too large. */
export function parseLsn(text: string): number {
  const m = LSN_TEXT.exec(text);
  if (!m) throw new Error(`not a PostgreSQL LSN: ${JSON.stringify(String(text).slice(0, 40))} (expected hi/lo in hexadecimal, e.g. 0/3000060)`);
  const n = Number.parseInt(m[1]!, 16) * HALF + Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(n)) throw new Error(`PostgreSQL LSN ${text} is beyond ${Number.MAX_SAFE_INTEGER} and cannot be a replab LSN exactly`);
  return n;
}

/** A position as PostgreSQL writes it (upper-case hex, no leading zeros, like pg_lsn's output). */
export function formatLsn(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not an LSN: ${n}`);
  return `${Math.floor(n / HALF)
    .toString(16)
    .toUpperCase()}/${(n % HALF).toString(16).toUpperCase()}`;
}

/** A `pg_lsn` column as node-postgres hands it over (text, or null where the function has none). */
export function lsnColumn(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new Error(`not a PostgreSQL LSN: ${JSON.stringify(value)?.slice(0, 40)} (a ${typeof value})`);
  return parseLsn(value);
}
