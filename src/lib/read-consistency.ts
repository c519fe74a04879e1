/**
 * The read side's two small languages, parsed in one place for every reader (the node's HTTP API,
 * the router's flag and header, workload and suite specs):
 *
 * A read's consistency, per request (`GET /kv/{key}?consistency=…`):
 *   leader          only the leader answers (a follower refuses with 421 and the leader's address)
 *   any             whatever the serving node has applied
 *   bounded:<ms>    a follower answers only while it knows it is at most <ms> behind the leader
 *                   (the leader's heartbeats carry its commit LSN and clock); otherwise a definite
 *                   refusal (412 `too_stale`) that a client retries elsewhere
 *   after:<lsn>     the serving node first waits, up to `waitMs`, until it has applied <lsn>; past
 *                   that a definite refusal (412 `not_caught_up`)
 *
 * A routing policy, per client or router (`replab router --reads <policy>`, a workload's `reads`):
 *   leader-only               every read to the leader
 *   round-robin               reads spread over the followers in turn (`any`)
 *   least-lag                 to the follower that reports the least lag (`any`)
 *   bounded-staleness:<ms>    to a follower with `bounded:<ms>`; refused → the leader
 *   session                   read-your-writes and monotonic reads: the client keeps the highest
 *                             LSN it wrote or read (its token) and reads on a follower with
 *                             `after:<token>`; refused → the leader
 * Where a setting names a policy (the router's `--reads`, a workload's `reads:`), the older names
 * `leader` and `followers` stay accepted for leader-only and round-robin.
 *
 * A session token on the wire (the router's `x-replab-session` header) is that LSN as a decimal.
 */

/** Longest staleness bound or wait accepted (a day): anything longer is surely a unit mistake. */
export const MAX_BOUND_MS = 86_400_000;
/** How long `after:` waits by default, and at most. */
export const DEFAULT_AFTER_WAIT_MS = 1000;
export const MAX_AFTER_WAIT_MS = 30_000;

export type ReadConsistency = { kind: 'leader' } | { kind: 'any' } | { kind: 'bounded'; ms: number } | { kind: 'after'; lsn: number };

export type ReadPolicy =
  | { kind: 'leader-only' }
  | { kind: 'round-robin' }
  | { kind: 'least-lag' }
  | { kind: 'bounded-staleness'; ms: number }
  | { kind: 'session' };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function integer(text: string, what: string, max: number): Parsed<number> {
  if (!/^\d{1,16}$/.test(text)) return { ok: false, error: `${what} must be a non-negative integer, got "${text.slice(0, 40)}"` };
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > max) return { ok: false, error: `${what} must be at most ${max}, got ${text}` };
  return { ok: true, value: n };
}

/** Parses a read's `consistency` (undefined/empty: `any`). */
export function parseConsistency(text: string | null | undefined): Parsed<ReadConsistency> {
  if (text === null || text === undefined || text === '' || text === 'any') return { ok: true, value: { kind: 'any' } };
  if (text === 'leader') return { ok: true, value: { kind: 'leader' } };
  if (text.startsWith('bounded:')) {
    const n = integer(text.slice(8), 'consistency bounded:<ms>', MAX_BOUND_MS);
    return n.ok ? { ok: true, value: { kind: 'bounded', ms: n.value } } : n;
  }
  if (text.startsWith('after:')) {
    const n = integer(text.slice(6), 'consistency after:<lsn>', Number.MAX_SAFE_INTEGER);
    return n.ok ? { ok: true, value: { kind: 'after', lsn: n.value } } : n;
  }
  return { ok: false, error: `consistency must be leader, any, bounded:<ms> or after:<lsn>, got "${text.slice(0, 40)}"` };
}

export function formatConsistency(c: ReadConsistency): string {
  return c.kind === 'bounded' ? `bounded:${c.ms}` : c.kind === 'after' ? `after:${c.lsn}` : c.kind;
}

/** Parses `waitMs` for `after:` (undefined/empty: the default). */
export function parseAfterWait(text: string | null | undefined): Parsed<number> {
  if (text === null || text === undefined || text === '') return { ok: true, value: DEFAULT_AFTER_WAIT_MS };
  return integer(text, 'waitMs', MAX_AFTER_WAIT_MS);
}

export const POLICY_NAMES = ['leader-only', 'round-robin', 'least-lag', 'bounded-staleness:<ms>', 'session'] as const;

/** Parses a routing policy name. */
export function parseReadPolicy(text: string): Parsed<ReadPolicy> {
  if (text === 'leader-only' || text === 'round-robin' || text === 'least-lag' || text === 'session') return { ok: true, value: { kind: text } };
  if (text.startsWith('bounded-staleness:')) {
    const n = integer(text.slice(18), 'read policy bounded-staleness:<ms>', MAX_BOUND_MS);
    return n.ok ? { ok: true, value: { kind: 'bounded-staleness', ms: n.value } } : n;
  }
  return { ok: false, error: `read policy must be one of ${POLICY_NAMES.join(', ')}, got "${text.slice(0, 40)}"` };
}

export function formatReadPolicy(p: ReadPolicy): string {
  return p.kind === 'bounded-staleness' ? `bounded-staleness:${p.ms}` : p.kind;
}

/**
 * Parses a `reads` setting (the router's `--reads`, a workload spec's `reads:`): a policy name, or
 * `leader` / `followers`, the names these settings had before the policies, for leader-only and
 * round-robin.
 */
export function parseReadsSetting(text: string): Parsed<ReadPolicy> {
  if (text === 'leader') return { ok: true, value: { kind: 'leader-only' } };
  if (text === 'followers') return { ok: true, value: { kind: 'round-robin' } };
  if (text.startsWith('bounded-staleness:')) {
    const n = integer(text.slice(18), 'bounded-staleness:<ms>', MAX_BOUND_MS);
    return n.ok ? { ok: true, value: { kind: 'bounded-staleness', ms: n.value } } : n;
  }
  const p = parseReadPolicy(text);
  if (p.ok) return p;
  return { ok: false, error: `must be leader, followers or a read policy (${POLICY_NAMES.join(', ')}), got "${text.slice(0, 40)}"` };
}

/** Parses a session token as sent on the wire (a decimal LSN). */
export function parseSessionToken(text: string, what: string): Parsed<number> {
  return integer(text, what, Number.MAX_SAFE_INTEGER);
}
